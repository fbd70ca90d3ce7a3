import { join } from 'node:path';
import { AuditTrail } from '../../src/jobs/audit-trail.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { LocalLaneDirectory } from '../../src/jobs/local-lane-directory.js';
import { DashboardMetrics } from '../../src/web/dashboard-metrics.js';
import { DashboardServer, type DashboardOptions } from '../../src/web/dashboard-server.js';
import { LiveQueue } from '../../src/web/live-queue.js';
import { SignInStore } from '../../src/web/sign-in-store.js';
import { ThumbnailCache } from '../../src/web/thumbnail-cache.js';
import { UsageLedger } from '../../src/jobs/usage-ledger.js';
import { StartingPictureStore } from '../../src/jobs/starting-pictures.js';
import type { Job } from '../../src/jobs/job.js';
import { ChatSurfaces, type ChatOrigin } from '../../src/web/chat-surfaces.js';
import { PictureActions } from '../../src/web/picture-actions.js';
import { commandServices } from './fake-chat.js';
import { ManualRunner } from './fake-runner.js';
import { tempDir } from './temp-dir.js';

export interface LogLine {
  readonly message: string;
  readonly context?: Record<string, unknown>;
}

/** The dashboard's server on the in-process queue with a hand-driven runner, over real HTTP on a free port. */
export interface DashboardHarness {
  readonly work: string;
  readonly store: JobStore;
  readonly signIns: SignInStore;
  readonly jobs: LocalJobService;
  readonly runner: ManualRunner;
  readonly server: DashboardServer;
  readonly live: LiveQueue;
  readonly metrics: DashboardMetrics;
  readonly base: string;
  /** What the server logged (its info lines: cancels, pauses, reveals). */
  readonly logs: LogLine[];
  readonly audit: AuditTrail;
  /** A stand-in chat platform (`discord`): what the dashboard asked of it. */
  readonly chat: FakeChatSurface;
  stop(): Promise<void>;
  restartServer(meanwhile: () => Promise<void>): Promise<void>;
}

/** A chat platform as the dashboard sees it: names its places, posts follow-ups in the source's channel, deletes. */
export class FakeChatSurface {
  readonly removed: string[] = [];

  followUpPlace(source: Job): unknown {
    const channel = (source.place as { channelId?: string } | null)?.channelId;
    return channel === undefined ? undefined : { kind: 'channel', channelId: channel };
  }

  removeJobMessage(job: Job): Promise<void> {
    this.removed.push(job.id);
    return Promise.resolve();
  }

  origin(job: Job): Promise<ChatOrigin | undefined> {
    const channel = (job.place as { channelId?: string } | null)?.channelId;
    if (channel === undefined) return Promise.resolve(undefined);
    return Promise.resolve({ community: 'Pixel Club', channel: 'art-room', link: `https://discord.com/channels/${job.owner.community ?? '@me'}/${channel}/1234` });
  }
}

export async function startDashboard(clock: () => number = Date.now): Promise<DashboardHarness> {
  const work = await tempDir();
  const store = new JobStore(join(work, 'jobs.sqlite'));
  const signIns = new SignInStore(join(work, 'web.sqlite'));
  const runner = new ManualRunner();
  const jobs = new LocalJobService({ store, runner: runner.runner, limits: { perUser: 10, total: 50, timeoutMs: 60_000 } });
  jobs.start();
  const live = new LiveQueue(jobs, jobs);
  const metrics = new DashboardMetrics(jobs, clock);
  const logs: LogLine[] = [];
  const audit = new AuditTrail(join(work, 'audit.sqlite'));
  const chat = new FakeChatSurface();
  const surfaces = new ChatSurfaces();
  surfaces.register('discord', chat);
  const services = { ...commandServices(jobs, { models: ['sdxl-turbo'], pictures: new StartingPictureStore(join(work, 'inputs')) }), audit };
  const serverOptions: DashboardOptions = {
    host: '127.0.0.1',
    port: 0,
    secure: false,
    jobs,
    store,
    signIns,
    thumbnails: new ThumbnailCache(join(work, 'thumbnails')),
    live,
    metrics,
    workers: new LocalLaneDirectory(jobs, 'cpu', () => ['sdxl-turbo']),
    lane: jobs,
    models: () => ['sdxl-turbo'],
    hostNames: ['127.0.0.1', 'bot.example.org'],
    log: (_level, message, context) => logs.push({ message, ...(context === undefined ? {} : { context }) }),
    audit,
    usage: new UsageLedger({ store, active: () => jobs.active(), clock }),
    actions: new PictureActions(services, surfaces),
    surfaces,
  };
  let server = new DashboardServer(serverOptions);
  const port = await server.start();
  const base = `http://127.0.0.1:${port}`;
  /** The bot away and back: the server stops, `meanwhile` happens, and a new one listens on the same port. */
  const restartServer = async (meanwhile: () => Promise<void>) => {
    await server.stop();
    await meanwhile();
    server = new DashboardServer({ ...serverOptions, port });
    await server.start();
  };
  // Stopped in the order the bot stops them.
  const stop = async () => {
    await server.stop().catch(() => undefined);
    live.stop();
    metrics.stop();
    await jobs.shutdown(1000);
    signIns.close();
    audit.close();
    store.close();
  };
  return { work, store, signIns, jobs, runner, get server() { return server; }, live, metrics, base, logs, audit, chat, stop, restartServer };
}
