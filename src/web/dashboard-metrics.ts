import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RenderProgress } from '../core/progress.js';
import type { Job, JobEvent } from '../jobs/job.js';
import { pictureShowing } from '../jobs/picture-safety.js';
import type { JobService } from '../jobs/job-service.js';
import { STAGE_NAMES } from '../jobs/job-usage.js';

/** Seconds: a fast GPU's prompt encoding up to a CPU's EDSR pass over sixteen tiles. */
const STAGE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];
/** Seconds in the queue: at once, up to an hour behind a long queue on a CPU. */
const WAIT_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * What became of each picture (a grid counts each of its own): shown, held back by the safety check, or lost with its
 * job (failed, cancelled, interrupted). A bounded set, like every label here: no person, no model name typed by one.
 */
export type PictureOutcome = 'shown' | 'held' | 'failed' | 'cancelled' | 'interrupted';

function picturesOf(job: Job): number {
  return job.request.upscaleOnly === true ? 1 : (job.request.count ?? 1);
}

/**
 * The bot's numbers in Prometheus' text format: queue depth, queue wait, render seconds by stage and in all
 * (histograms), jobs and pictures by outcome, failures, uploads into chat, and Node's default process metrics (event-loop delay, memory, CPU). Stage times are measured from the progress events, so they include
 * what a person waits for (model loading too), on any lane the job service reports.
 */
export class DashboardMetrics {
  readonly registry = new Registry();
  readonly #stageSeconds: Histogram<'stage'>;
  readonly #renderSeconds: Histogram;
  readonly #finished: Counter<'outcome'>;
  readonly #pictures: Counter<'outcome'>;
  readonly #queueWait: Histogram;
  readonly #failures: Counter<'kind'>;
  readonly #uploads: Counter<'platform' | 'outcome'>;
  readonly #deviceSeconds: Counter<'stage' | 'model'>;
  readonly #stages = new Map<string, { stage: RenderProgress['stage']; since: number }>();
  readonly #clock: () => number;
  readonly #unsubscribe: () => void;

  constructor(jobs: JobService, clock: () => number = () => performance.now()) {
    this.#clock = clock;
    const registers = [this.registry];
    // Node's own figures too, the event loop's delay first (nodejs_eventloop_lag_p99_seconds, since the last scrape):
    // the chat process must answer within the platforms' 3 s however busy the renderer is, and this shows it does.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'imagine_queue_jobs',
      help: 'Jobs waiting or running now',
      labelNames: ['state'],
      registers,
      collect() {
        const active = jobs.active();
        const running = active.filter((job) => job.state === 'running').length;
        this.set({ state: 'running' }, running);
        this.set({ state: 'waiting' }, active.length - running);
      },
    });
    this.#stageSeconds = new Histogram({ name: 'imagine_render_stage_seconds', help: 'Time spent in each render stage', labelNames: ['stage'], buckets: STAGE_BUCKETS, registers });
    this.#renderSeconds = new Histogram({ name: 'imagine_render_seconds', help: 'Render time of each finished picture, start to saved file', buckets: STAGE_BUCKETS, registers });
    this.#finished = new Counter({ name: 'imagine_jobs_finished_total', help: 'Jobs that ended, by outcome', labelNames: ['outcome'], registers });
    this.#pictures = new Counter({ name: 'imagine_pictures_total', help: 'Pictures of ended jobs (a grid counts each), by outcome: shown, held (safety check), failed, cancelled, interrupted', labelNames: ['outcome'], registers });
    this.#queueWait = new Histogram({ name: 'imagine_queue_wait_seconds', help: 'Time from the request to the start of its render (each attempt)', buckets: WAIT_BUCKETS, registers });
    this.#failures = new Counter({ name: 'imagine_render_failures_total', help: 'Failed renders: user (bad input, told to the user) or internal (a bug or a broken model)', labelNames: ['kind'], registers });
    this.#uploads = new Counter({ name: 'imagine_uploads_total', help: 'Pictures uploaded into chat, by platform and outcome', labelNames: ['platform', 'outcome'], registers });
    this.#deviceSeconds = new Counter({
      name: 'imagine_device_seconds_total',
      help: 'Render-device time used by ended jobs (cancelled and failed ones too), by stage and model (the installed models: a bounded set)',
      labelNames: ['stage', 'model'],
      registers,
    });
    this.#unsubscribe = jobs.subscribe((event) => { this.#onEvent(event); });
  }

  /** Counts an upload into chat (the adapters report each one). */
  upload(platform: string, outcome: 'ok' | 'failed'): void {
    this.#uploads.inc({ platform, outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  stop(): void {
    this.#unsubscribe();
  }

  #onEvent(event: JobEvent): void {
    const now = this.#clock();
    const current = this.#stages.get(event.job.id);
    switch (event.type) {
      case 'progress':
        if (current?.stage === event.progress.stage) return;
        if (current !== undefined) this.#stageSeconds.observe({ stage: current.stage }, (now - current.since) / 1000);
        this.#stages.set(event.job.id, { stage: event.progress.stage, since: now });
        return;
      case 'started':
        if (event.job.startedAt !== undefined) this.#queueWait.observe(Math.max(0, event.job.startedAt - event.job.createdAt) / 1000);
        return;
      case 'succeeded': {
        if (current !== undefined && current.stage !== 'done') this.#stageSeconds.observe({ stage: current.stage }, (now - current.since) / 1000);
        this.#renderSeconds.observe(event.result.durationMs / 1000);
        const showing = pictureShowing(event.job.request, event.result);
        const held = showing.kind === 'held' || showing.kind === 'unchecked' ? picturesOf(event.job) : showing.kind === 'masked' ? showing.pictures.length : 0;
        this.#pictures.inc({ outcome: 'held' }, held);
        this.#pictures.inc({ outcome: 'shown' }, picturesOf(event.job) - held);
        break;
      }
      case 'failed':
        this.#failures.inc({ kind: event.error.userFacing ? 'user' : 'internal' });
        this.#pictures.inc({ outcome: 'failed' }, picturesOf(event.job));
        break;
      case 'cancelled':
        this.#pictures.inc({ outcome: 'cancelled' }, picturesOf(event.job));
        break;
      case 'interrupted':
        // One that is tried again has not lost its pictures (yet).
        if (!event.willRetry) this.#pictures.inc({ outcome: 'interrupted' }, picturesOf(event.job));
        break;
      default:
        return;
    }
    this.#stages.delete(event.job.id);
    this.#finished.inc({ outcome: event.type });
    const { usage } = event.job;
    if (usage !== undefined && (event.type !== 'interrupted' || !event.willRetry)) {
      for (const stage of STAGE_NAMES) if (usage.stages[stage] > 0) this.#deviceSeconds.inc({ stage: stage.replace(/Ms$/, ''), model: event.job.request.model }, usage.stages[stage] / 1000);
    }
  }
}
