import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { COMMANDS } from '../../commands/index.js';
import { parsePromptBlocklist } from '../../commands/prompt-blocklist.js';
import { loadConfig } from '../../src/config.js';
import { SessionLoader } from '../../src/diffusion/onnx/session-loader.js';
import { JobStore } from '../../src/jobs/job-store.js';
import { LocalJobService } from '../../src/jobs/local-job-service.js';
import { ModelPipelines } from '../../src/jobs/model-pipelines.js';
import { renderJob, renderJobRunner, type JobRenderer } from '../../src/jobs/render-job-runner.js';
import { PIPELINE_RENDERER } from '../../src/jobs/renderer/pipeline-renderer-module.js';
import { RendererHost } from '../../src/jobs/renderer/renderer-host.js';
import { InstalledModelChoices } from '../../src/models/installed-model-choices.js';
import { DiscordBot } from '../../src/platforms/discord/discord-bot.js';
import { SlackBot } from '../../src/platforms/slack/slack-bot.js';
import { pipelineRendererSettings } from '../../src/render-setup.js';
import { stageOf, type ChatProcessMessage, type LagSample } from './responsiveness-messages.js';

/**
 * The chat process of the responsiveness bench: Discord and Slack adapters, the local queue, and a renderer that is
 * either this process itself (`in-process`, how the bot rendered before it had a renderer process) or a renderer
 * process (`renderer-process`, as `npm start` does now). Configured from the environment like the bot; it measures
 * its own event loop and tells its parent (over IPC) when it is ready, each stage of the render, and its figures.
 */

const mode = process.argv[2];
if (mode !== 'in-process' && mode !== 'renderer-process') throw new Error('usage: chat-process in-process|renderer-process');
const send = (message: ChatProcessMessage) => process.send?.(message);
const log = (level: string, message: string) => { if (level === 'error') process.stderr.write(`[chat ${level}] ${message}\n`); };

const config = loadConfig(process.env);
const models = new InstalledModelChoices(config.MODELS_DIR, config.MODEL);
await models.refresh();

let host: RendererHost | undefined;
let render: JobRenderer;
if (mode === 'in-process') {
  const loader = new SessionLoader({ device: config.DEVICE, threads: config.THREADS });
  const pipelines = new ModelPipelines(config.MODELS_DIR, config.UPSCALER, loader, { setting: config.MEMORY_MODE, gpuMemoryBytes: config.GPU_MEMORY_GB * 2 ** 30 }, config.MODEL);
  render = (job, options) => renderJob(pipelines, job, options);
} else {
  // As npm start builds it, but without loading the model ahead of the job: both modes load it inside the render,
  // so that the load is measured alike.
  host = new RendererHost({ module: PIPELINE_RENDERER, settings: pipelineRendererSettings(config, undefined), log: (level, message) => { log(level, message); }, preload: false });
  await host.start();
  render = host.render;
}

const store = new JobStore(join(config.DATA_DIR, 'jobs.sqlite'));
const jobs = new LocalJobService({ store, runner: renderJobRunner(render, join(config.DATA_DIR, 'outputs')), limits: { perUser: 3, total: 50, timeoutMs: 3600_000 } });
const services = { jobs, models, blocklist: parsePromptBlocklist(''), defaults: store };
const discord = new DiscordBot({ token: config.DISCORD_TOKEN ?? '', commands: COMMANDS, services, admins: new Set(), ...(config.DISCORD_API_URL === undefined ? {} : { apiUrl: config.DISCORD_API_URL }), log });
const slack = new SlackBot({ botToken: config.SLACK_BOT_TOKEN ?? '', connection: { kind: 'http', signingSecret: config.SLACK_SIGNING_SECRET ?? '', port: 0 }, commands: COMMANDS, services, admins: new Set(), ...(config.SLACK_API_URL === undefined ? {} : { apiUrl: config.SLACK_API_URL }), log });
jobs.start();
await discord.start();
await slack.start();

// The event loop's delay, as Node measures it (a histogram of how late a 10 ms timer fires), and our own samples of
// how late a 20 ms interval fired, each stamped with when it was due, so a delay can be put in the stage it fell in.
const RESOLUTION_MS = 10;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();
const lags: LagSample[] = [];
const LAG_INTERVAL_MS = 20;
let due = Date.now() + LAG_INTERVAL_MS;
setInterval(() => {
  const now = Date.now();
  lags.push({ dueAt: due, lateMs: Math.max(0, now - due) });
  due = now + LAG_INTERVAL_MS;
}, LAG_INTERVAL_MS).unref();

let lastStage: string | undefined;
jobs.subscribe((event) => {
  const at = Date.now();
  if (event.type === 'started') send({ type: 'stage', stage: 'starting', at });
  if (event.type === 'progress') {
    const stage = stageOf(event.progress);
    if (stage !== lastStage) send({ type: 'stage', stage, at });
    lastStage = stage;
  }
  if (event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled') {
    lastStage = undefined;
    send({ type: 'finished', state: event.type, at, ...(event.type === 'failed' ? { error: event.error.message } : {}) });
  }
});

process.on('message', (message: unknown) => {
  if (typeof message !== 'object' || message === null || !('type' in message)) return;
  if (message.type === 'report') {
    histogram.disable();
    // The histogram holds the intervals of its 10 ms timer (an idle process reads 10.2 ms): the delay is what exceeds them.
    const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    send({ type: 'report', loop: { p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max), meanMs: ms(histogram.mean) }, lags, peakRssMiB: process.resourceUsage().maxRSS / 1024 });
  }
  if (message.type === 'stop') {
    void (async () => {
      await jobs.shutdown(0);
      await host?.stop();
      await discord.stop();
      await slack.stop();
      store.close();
      process.exit(0);
    })();
  }
});
send({ type: 'ready', slackPort: slack.port ?? 0, at: Date.now() });
