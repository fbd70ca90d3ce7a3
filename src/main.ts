import { AuditTrail } from './jobs/audit-trail.js';
import { UsageLedger } from './jobs/usage-ledger.js';
import type { SafetySettings } from './platforms/safety-settings.js';
import { join, resolve } from 'node:path';
import { config as loadDotEnv } from 'dotenv';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { ModelChoices } from '../commands/command.js';
import { COMMANDS } from '../commands/index.js';
import { parsePromptBlocklist } from '../commands/prompt-blocklist.js';
import { adminKeys, dashboardUrl, downloadHosts, loadConfig, quotaPolicy, type Config } from './config.js';
import { errorMessage, exitCodeOf } from './core/errors.js';
import { stopOnFatalErrors } from './core/fatal-errors.js';
import { beginShutdown, SHUTDOWN_TAIL_MS } from './core/shutdown-deadline.js';
import { DataDirLock } from './jobs/data-dir-lock.js';
import type { JobService } from './jobs/job-service.js';
import { JobStore } from './jobs/job-store.js';
import { ensureRedisReachable } from './jobs/redis/redis-reachable.js';
import type { StoreTrouble } from './jobs/deferred-job-writes.js';
import { LocalJobService } from './jobs/local-job-service.js';
import { OutputRetention } from './jobs/output-retention.js';
import { RedisJobService } from './jobs/redis/redis-job-service.js';
import { RedisNames } from './jobs/redis/redis-names.js';
import { redisErrorForLog, reportingOutages } from './jobs/redis/redis-outages.js';
import { WorkerModelChoices } from './jobs/redis/worker-model-choices.js';
import type { LaneControl } from './jobs/lane-control.js';
import { LocalLaneDirectory } from './jobs/local-lane-directory.js';
import { describeRendererPhase } from './jobs/renderer/renderer-phase.js';
import { RedisWorkerDirectory } from './jobs/redis/redis-worker-directory.js';
import { renderJobRunner } from './jobs/render-job-runner.js';
import { StartingPictureStore } from './jobs/starting-pictures.js';
import { RATE_WINDOW_MS, type WorkerDirectory } from './jobs/worker-status.js';
import { ensureDefaultModels } from './models/ensure-models.js';
import { InstalledModelChoices } from './models/installed-model-choices.js';
import { configuredPlatforms } from './platforms/configured-platforms.js';
import { DiscordBot } from './platforms/discord/discord-bot.js';
import { PendingReplies } from './platforms/pending-replies.js';
import { SlackBot } from './platforms/slack/slack-bot.js';
import { createRendererHost, createRenderWorker, deviceName } from './render-setup.js';
import { DashboardMetrics } from './web/dashboard-metrics.js';
import { ChatDashboardLinks } from './web/dashboard-links.js';
import { CommunityAdminChecks, ViewerRights } from './web/viewer-rights.js';
import { DashboardServer } from './web/dashboard-server.js';
import { ChatSurfaces } from './web/chat-surfaces.js';
import { PictureActions } from './web/picture-actions.js';
import { LiveQueue } from './web/live-queue.js';
import { SignInStore } from './web/sign-in-store.js';
import { ThumbnailCache } from './web/thumbnail-cache.js';

/** A new bot waits this long beyond its grace for one that is shutting down on the same data folder (a rolling restart). */
const WAIT_FOR_PREVIOUS_EXTRA_MS = SHUTDOWN_TAIL_MS + 15_000;

/**
 * The composition root: configuration → job store → model pipelines → the one render lane → every configured chat
 * platform. The only place that wires concrete classes together.
 */
async function main(): Promise<number> {
  loadDotEnv({ quiet: true });
  const config = loadConfig();
  const log = pino({ level: config.LOG_LEVEL });
  const graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000;
  const platforms = configuredPlatforms(config);

  // The data folder first: a second bot on it stops here, before it downloads, connects or renders anything.
  const lock = await DataDirLock.acquire(config.DATA_DIR, {
    waitForStoppingMs: graceMs + WAIT_FOR_PREVIOUS_EXTRA_MS,
    onWait: (holder) => { log.info({ pid: holder.pid, host: holder.host }, 'waiting for the bot that is shutting down on this data folder to finish its picture'); },
  });
  // Before anything waits on it: a Redis that never answers is one line and exit 1, not a silent wait.
  if (config.QUEUE === 'redis') await ensureRedisReachable(config.REDIS_URL);
  const store = new JobStore(join(config.DATA_DIR, 'jobs.sqlite'));
  let requestStop: (reason: string) => void = () => undefined;
  const stopRequested = new Promise<string>((resolveStop) => {
    requestStop = (reason) => {
      // From now on a bot started on the same data folder waits for this one instead of refusing to start.
      lock.markStopping();
      resolveStop(reason);
    };
  });
  stopOnFatalErrors({
    report: (error, origin) => { log.fatal({ err: error, origin }, 'an error escaped every handler; shutting down'); },
    stop: () => { requestStop('fatal error'); },
    forceExitAfterMs: graceMs + SHUTDOWN_TAIL_MS,
  });

  // A chat front that leaves rendering to workers (QUEUE=redis, RENDER=false) needs no model of its own.
  const rendersHere = config.QUEUE === 'local' || config.RENDER;
  if (rendersHere) {
    await ensureDefaultModels({
      modelsDir: config.MODELS_DIR,
      model: config.MODEL,
      upscaler: config.UPSCALER,
      device: config.DEVICE,
      hosts: downloadHosts(config),
      autoDownload: config.MODELS_AUTO_DOWNLOAD,
      safety: config.SAFETY,
      log: logTo(log.child({ stage: 'models' })),
    });
  }
  const models = new InstalledModelChoices(config.MODELS_DIR, config.MODEL);
  await models.refresh();
  models.watch(60_000);
  if (rendersHere && !models.installed().includes(models.defaultModel)) {
    log.warn({ model: config.MODEL, modelsDir: resolve(config.MODELS_DIR) }, 'the default model is not installed; /imagine will say so until it is');
  }

  const retention = new OutputRetention(store, config.OUTPUT_RETENTION, (error) => { log.warn({ err: error }, 'could not delete old pictures'); }, { keepMs: config.SAFETY_KEEP_HOURS * 3600_000 });
  const pictures = new StartingPictureStore(join(config.DATA_DIR, 'inputs'));
  const queue = config.QUEUE === 'redis' ? redisQueue(config, store, retention, pictures, models, log) : localQueue(config, store, retention, pictures, models, log);
  const { jobs } = queue;
  jobs.subscribe((event) => {
    if (event.type === 'started' || event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled') {
      log.info({ jobId: event.job.id, user: event.job.owner.name, platform: event.job.owner.platform, state: event.job.state }, `job ${event.type}`);
    }
  });

  await queue.prepare();
  const communityAdmins = new CommunityAdminChecks();
  const audit = new AuditTrail(join(config.DATA_DIR, 'audit.sqlite'), { onError: (error) => { log.error({ err: error }, 'could not write an admin action to the audit trail'); } });
  const pruneAudit = () => {
    try {
      audit.prune(config.AUDIT_KEEP_DAYS * 24 * 3600_000);
    } catch (error) {
      log.warn({ err: error }, 'could not delete old audit entries; trying again later');
    }
  };
  pruneAudit();
  const usage = new UsageLedger({ store, quota: quotaPolicy(config), admins: adminKeys(config), active: () => jobs.active() });
  const chatServices = { jobs, models: queue.models, blocklist: parsePromptBlocklist(config.PROMPT_BLOCKLIST), defaults: store, pictures, audit, usage };
  // The chat platforms lend the dashboard their places and names as each connects.
  const surfaces = new ChatSurfaces();
  const web = { communityAdmins, audit, usage, surfaces, actions: new PictureActions(chatServices, surfaces) };
  const dashboard = config.WEB_PORT === undefined ? undefined : await startDashboard(config, config.WEB_PORT, store, queue, web, log);
  const services = { ...chatServices, ...(dashboard === undefined ? {} : { dashboard: dashboard.links }) };

  const chats: { readonly name: string; stop(): Promise<void> }[] = [];
  const pendingReplies = new PendingReplies(join(config.DATA_DIR, 'pending-replies.sqlite'), (error) => { log.warn({ err: error }, 'could not note or clear an answer owed in chat'); });
  if (platforms.discord !== undefined) {
    const discord = await startDiscord(platforms.discord.token, config, services, pendingReplies, dashboard?.countUpload, log);
    communityAdmins.register('discord', (userId, guildId) => discord.isServerAdmin(userId, guildId));
    surfaces.register('discord', discord);
    chats.push({ name: 'Discord', stop: () => discord.stop() });
  }
  if (platforms.slack !== undefined) {
    const slack = await startSlack(platforms.slack, config, services, dashboard?.countUpload, log);
    surfaces.register('slack', slack);
    chats.push({ name: 'Slack', stop: () => slack.stop() });
  }
  // The queue starts after the platforms, so that jobs recovered from the last run are shown where they belong.
  await queue.start();
  log.info({ models: queue.models.installed(), device: config.DEVICE }, 'ready');
  const pictureSweep = sweepStartingPictures(pictures, jobs, log);
  // Held pictures and audit entries age out by the clock, not only when a job finishes.
  const heldSweep = setInterval(() => {
    void retention.prune();
    pruneAudit();
  }, HELD_SWEEP_MS);
  heldSweep.unref();

  // Until here a signal simply ends the process (nothing runs yet, and the lock dies with it); from here on it lets
  // the running picture finish.
  process.once('SIGINT', () => { requestStop('SIGINT'); });
  process.once('SIGTERM', () => { requestStop('SIGTERM'); });
  const reason = await stopRequested;
  log.info({ reason }, 'shutting down: finishing the running picture, keeping the queue');
  const deadline = beginShutdown(graceMs, ['finishing the running picture', 'stopping the dashboard', ...chats.map((chat) => `disconnecting from ${chat.name}`), 'closing the job store'], log);
  clearInterval(pictureSweep);
  clearInterval(heldSweep);
  await deadline.step('finishing the running picture', () => queue.stop(graceMs));
  // After the picture: open pages are told it (the dashboard's streams close only once it is saved).
  await deadline.step('stopping the dashboard', () => dashboard?.stop());
  for (const chat of chats) await deadline.step(`disconnecting from ${chat.name}`, () => chat.stop());
  await deadline.step('closing the job store', () => {
    pendingReplies.shut();
    models.stop();
    audit.close();
    store.close();
    lock.release();
  });
  const code = process.exitCode === 1 ? 1 : 0;
  deadline.finished(code);
  return code;
}

/** The queue of this process, the models it offers, and how it starts and stops. */
interface QueueRuntime {
  readonly jobs: JobService;
  readonly models: ModelChoices;
  /** The render lanes, for the dashboard. */
  readonly workers: WorkerDirectory;
  /** Pausing the lane, where this queue allows it. */
  readonly lane?: LaneControl;
  /** Before the platforms connect: what commands need from the start (the models offered). */
  prepare(): Promise<void>;
  start(): Promise<void>;
  stop(graceMs: number): Promise<void>;
}

/** How often pictures the safety check held back are looked at for deletion (SAFETY_KEEP_HOURS). */
const HELD_SWEEP_MS = 10 * 60_000;

/** Starting pictures are kept a week after they were sent (and while a job still waits for one), swept every 6 hours. */
const STARTING_PICTURE_DAYS = 7;

function sweepStartingPictures(pictures: StartingPictureStore, jobs: JobService, log: pino.Logger): NodeJS.Timeout {
  const sweep = () => {
    const waiting = new Set(jobs.active().flatMap((job) => (job.request.startPicture === undefined ? [] : [job.request.startPicture])));
    pictures.prune(STARTING_PICTURE_DAYS * 24 * 3600_000, waiting).catch((error: unknown) => { log.warn({ err: error }, 'could not delete old starting pictures'); });
  };
  sweep();
  const timer = setInterval(sweep, 6 * 3600_000);
  timer.unref();
  return timer;
}

/** The job database refusing writes, and taking them again, as the log says it (both queue kinds). */
function logStoreTrouble(log: pino.Logger): (trouble: StoreTrouble) => void {
  return (trouble) => {
    if (trouble.recovered) log.info('the job database takes writes again; every job state is saved');
    else log.error({ err: trouble.error }, 'the job database refused a write; the queue goes on and keeps trying to save');
  };
}

/** QUEUE=local: the SQLite store and one render lane, whose renderer is a process of its own. */
function localQueue(config: Config, store: JobStore, retention: OutputRetention, pictures: StartingPictureStore, models: InstalledModelChoices, log: pino.Logger): QueueRuntime {
  const renderer = createRendererHost(config, models, log);
  const jobs = new LocalJobService({
    store,
    runner: renderJobRunner(renderer.render, join(config.DATA_DIR, 'outputs'), pictures),
    limits: jobLimits(config),
    admins: adminKeys(config),
    quota: quotaPolicy(config),
    where: { device: deviceName(config), worker: 'local' },
    onError: (error, job) => { log.error({ jobId: job.id, err: error }, 'render failed'); },
    onStoreTrouble: logStoreTrouble(log),
    retention,
  });
  const workers = new LocalLaneDirectory(jobs, deviceName(config), () => models.installed(), Date.now, () => describeRendererPhase(renderer.phase), store.picturesFinishedSince(Date.now() - RATE_WINDOW_MS));
  return {
    jobs,
    models,
    workers,
    lane: jobs,
    // The renderer starts loading the default model while the platforms connect.
    prepare: () => renderer.start(),
    start: () => {
      jobs.start();
      return Promise.resolve();
    },
    stop: async (graceMs) => {
      workers.stop();
      await jobs.shutdown(graceMs);
      if (jobs.unsavedCount > 0) log.error({ jobs: jobs.unsavedCount }, 'the job database would not take the last job states; those jobs may run again at the next start');
      await renderer.stop();
    },
  };
}

/** QUEUE=redis: BullMQ on Redis; this process is a chat front, and a render worker too unless RENDER=false. */
function redisQueue(config: Config, store: JobStore, retention: OutputRetention, pictures: StartingPictureStore, installed: InstalledModelChoices, log: pino.Logger): QueueRuntime {
  const names = new RedisNames(config.REDIS_PREFIX);
  const jobs = new RedisJobService({
    redisUrl: config.REDIS_URL,
    names,
    store,
    limits: jobLimits(config),
    outputsDir: join(config.DATA_DIR, 'outputs'),
    lockMs: config.REDIS_LOCK_SECONDS * 1000,
    admins: adminKeys(config),
    quota: quotaPolicy(config),
    retention,
    pictures,
    onError: (error, job) => { log.error({ jobId: job?.id, err: redisErrorForLog(error) }, 'queue error'); },
    onOutage: (error) => { log.warn({ err: error }, 'Redis cannot be reached; the bot keeps trying'); },
    onStoreTrouble: logStoreTrouble(log),
  });
  const renderer = config.RENDER && installed.installed().length > 0 ? createRenderWorker(config, installed, log) : undefined;
  const redis = reportingOutages(new Redis(config.REDIS_URL, { maxRetriesPerRequest: null }), (error) => { log.warn({ err: error }, 'Redis cannot be reached; the bot keeps trying'); });
  const models = new WorkerModelChoices(redis, names, installed.defaultModel, renderer === undefined ? undefined : installed);
  return {
    jobs,
    models,
    workers: new RedisWorkerDirectory(redis, names, config.REDIS_LOCK_SECONDS * 1000),
    lane: jobs,
    // The workers that already run have announced their models: offer them from the first command on. This
    // process's own renderer starts loading its default model meanwhile.
    prepare: async () => {
      await renderer?.renderer.start();
      await models.refresh();
    },
    start: async () => {
      await jobs.start();
      await renderer?.worker.start();
      await models.refresh();
      models.watch(10_000, (error) => { log.warn({ err: error }, 'could not read the models the workers serve'); });
      log.info({ redis: config.REDIS_PREFIX, renders: renderer === undefined ? [] : installed.installed() }, 'queue on Redis');
    },
    stop: async (graceMs) => {
      models.stop();
      await renderer?.worker.stop(graceMs);
      await renderer?.renderer.stop();
      await jobs.shutdown();
      if (jobs.unsavedCount > 0) log.error({ jobs: jobs.unsavedCount }, 'the job database would not take the last job states; the next start settles those jobs from Redis');
      await redis.quit();
    },
  };
}

function jobLimits(config: Config) {
  return { perUser: config.QUEUE_PER_USER, total: config.QUEUE_TOTAL, timeoutMs: config.JOB_TIMEOUT_MINUTES * 60_000 };
}

type Services = ConstructorParameters<typeof DiscordBot>[0]['services'];
/** Counts a picture upload into chat, for the dashboard's metrics. */
type UploadCounter = (platform: string, outcome: 'ok' | 'failed') => void;

/** How often thumbnails of deleted and pruned pictures are removed. */
const THUMBNAIL_SWEEP_MS = 3600_000;

/** WEB_PORT: the dashboard beside the chat adapters, reading the same queue and store. */
/** What the dashboard shares with the rest of the bot. */
interface DashboardShares {
  readonly communityAdmins: CommunityAdminChecks;
  readonly audit: AuditTrail;
  readonly usage: UsageLedger;
  readonly surfaces: ChatSurfaces;
  readonly actions: PictureActions;
}

async function startDashboard(config: Config, port: number, store: JobStore, queue: QueueRuntime, { communityAdmins, audit, usage, surfaces, actions }: DashboardShares, log: pino.Logger) {
  const webLog = log.child({ part: 'web' });
  const signIns = new SignInStore(join(config.DATA_DIR, 'web.sqlite'));
  const thumbnails = new ThumbnailCache(join(config.DATA_DIR, 'thumbnails'));
  const live = new LiveQueue(queue.jobs, queue.lane);
  const metrics = new DashboardMetrics(queue.jobs);
  const rights = new ViewerRights({
    globalAdmins: adminKeys(config),
    audience: config.WEB_GALLERY,
    communityAdmin: (owner) => communityAdmins.check(owner),
    onError: (error) => { webLog.warn({ err: error }, 'could not ask the chat platform whether a dashboard user is still a server admin; they are not, until it answers'); },
  });
  const server = new DashboardServer({
    host: config.WEB_HOST,
    port,
    secure: config.WEB_PUBLIC_URL?.startsWith('https:') ?? false,
    jobs: queue.jobs,
    store,
    signIns,
    thumbnails,
    live,
    metrics,
    workers: queue.workers,
    ...(queue.lane === undefined ? {} : { lane: queue.lane }),
    models: () => queue.models.installed(),
    rights,
    hostNames: [config.WEB_HOST, ...(config.WEB_PUBLIC_URL === undefined ? [] : [new URL(config.WEB_PUBLIC_URL).hostname])],
    log: logTo(webLog),
    audit,
    usage,
    actions,
    surfaces,
  });
  const sweep = () => { thumbnails.sweep(store.pictureIds()).catch((error: unknown) => { webLog.warn({ err: error }, 'could not remove old thumbnails'); }); };
  sweep();
  const sweeper = setInterval(sweep, THUMBNAIL_SWEEP_MS);
  const listening = await server.start();
  const url = dashboardUrl(config, listening);
  webLog.info({ url, host: config.WEB_HOST, port: listening }, 'dashboard listening; sign in with a link from /imagine web or npx imagine web link');
  return {
    links: new ChatDashboardLinks(signIns, url, config.WEB_GALLERY),
    countUpload: ((platform, outcome) => { metrics.upload(platform, outcome); }) satisfies UploadCounter,
    stop: async () => {
      clearInterval(sweeper);
      await server.stop();
      live.stop();
      metrics.stop();
      signIns.close();
    },
  };
}

function logTo(log: pino.Logger) {
  return (level: 'info' | 'warn' | 'error', message: string, context?: Record<string, unknown>) => {
    log[level](context ?? {}, message);
  };
}

async function startDiscord(token: string, config: Config, services: Services, pendingReplies: PendingReplies, countUpload: UploadCounter | undefined, log: pino.Logger): Promise<DiscordBot> {
  const bot = new DiscordBot({
    token,
    pendingReplies,
    commands: COMMANDS,
    services,
    ...(countUpload === undefined ? {} : { onUpload: (outcome: 'ok' | 'failed') => { countUpload('discord', outcome); } }),
    admins: adminKeys(config),
    safety: safetySettings(config),
    ...(config.DISCORD_API_URL === undefined ? {} : { apiUrl: config.DISCORD_API_URL }),
    log: logTo(log.child({ platform: 'discord' })),
  });
  await bot.start();
  log.info({ user: bot.client.user?.tag }, 'connected to Discord');
  return bot;
}

async function startSlack(slack: NonNullable<ReturnType<typeof configuredPlatforms>['slack']>, config: Config, services: Services, countUpload: UploadCounter | undefined, log: pino.Logger): Promise<SlackBot> {
  const bot = new SlackBot({
    botToken: slack.botToken,
    connection: slack.connection,
    commands: COMMANDS,
    services,
    ...(countUpload === undefined ? {} : { onUpload: (outcome: 'ok' | 'failed') => { countUpload('slack', outcome); } }),
    admins: adminKeys(config),
    safety: safetySettings(config),
    ...(config.SLACK_API_URL === undefined ? {} : { apiUrl: config.SLACK_API_URL }),
    log: logTo(log.child({ platform: 'slack' })),
  });
  await bot.start();
  return bot;
}

/** SAFETY, SAFETY_AGE_RESTRICTED and SAFETY_SLACK_ALLOWED, for the chat adapters. */
function safetySettings(config: Config): SafetySettings {
  const allowed = config.SAFETY_SLACK_ALLOWED.split(',').map((id) => id.trim()).filter((id) => id !== '');
  return { safety: config.SAFETY, ageRestricted: config.SAFETY_AGE_RESTRICTED, slackAllowed: new Set(allowed) };
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    process.exitCode = exitCodeOf(error);
  },
);
