import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeDiscord } from '../../test/fakes/discord/fake-discord.js';
import { slashCommand as discordCommand } from '../../test/fakes/discord/interactions.js';
import { FakeSlack } from '../../test/fakes/slack/fake-slack.js';
import { postSigned, slashCommand as slackCommand } from '../../test/fakes/slack/slack-requests.js';
import { writeSdxlFixture } from '../../test/fixtures/sdxl-fixture.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { ensureRealEdsr, ensureRealSdxlTurbo, realScaleCacheDir } from '../real-scale/real-models.js';
import type { ChatProcessMessage, LagSample, LoopDelay } from './responsiveness-messages.js';

/**
 * `npm run bench -- --only=responsiveness [--real-size]`: how the chat process answers while a picture is drawn.
 * The bench plays Discord and Slack (loopback fakes, in this process, whose event loop stays idle) and starts the
 * chat process; it asks for one picture (Discord /imagine), and while it is drawn sends a Discord interaction
 * (/queue) and a signed Slack command (/imagine queue) every 200 ms, timing each acknowledgement: the interaction
 * callback Discord receives, the HTTP response to Slack's POST. The chat process measures its own event loop. Each
 * case runs twice: rendering on the chat process's own thread (how the bot worked before its renderer process) and
 * through the renderer process. Tiny models: the SDXL-Turbo fixture; real size: SDXL-Turbo's real architectures
 * (12.8 GiB, generated once, see `--only=real-scale`). Both with EDSR ×4 of the real architecture.
 */

const SECRET = 'bench-signing-secret';
const SEND_EVERY_MS = 200;
/** Platforms' own limit for an acknowledgement. */
const PLATFORM_LIMIT_MS = 3000;

export type RenderMode = 'in-process' | 'renderer-process';

export interface AckSample {
  readonly platform: 'discord' | 'slack';
  readonly sentAt: number;
  /** Undefined when no acknowledgement came. */
  readonly ms: number | undefined;
}

export interface StageRow {
  readonly stage: string;
  readonly seconds: number;
  /** The longest the chat process's event loop was late within the stage. */
  readonly loopMaxMs: number;
  /** The slowest acknowledgement of a command sent during the stage. */
  readonly slowestAckMs: number;
  readonly acks: number;
}

export interface ResponsivenessRun {
  readonly models: string;
  readonly mode: RenderMode;
  readonly renderSeconds: number;
  readonly loop: LoopDelay;
  readonly acks: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly overOneSecond: number; readonly overPlatformLimit: number; readonly unanswered: number };
  readonly stages: readonly StageRow[];
  readonly chatPeakRssMiB: number;
  readonly outcome: string;
}

interface Scenario {
  readonly name: string;
  readonly env: Record<string, string>;
}

const CHAT_PROCESS = fileURLToPath(new URL('./chat-process.ts', import.meta.url));

export async function benchResponsiveness(realSize: boolean, log: (line: string) => void): Promise<ResponsivenessRun[]> {
  const scenarios = [await tinyScenario()];
  if (realSize) scenarios.push(await realSizeScenario(log));
  const runs: ResponsivenessRun[] = [];
  for (const scenario of scenarios) {
    for (const mode of ['in-process', 'renderer-process'] as const) {
      log(`${scenario.name}, ${mode}…`);
      runs.push(await measure(scenario, mode));
    }
  }
  return runs;
}

async function tinyScenario(): Promise<Scenario> {
  const modelsDir = join(await tempDir('imagine-bench-'), 'models');
  await writeSdxlFixture(join(modelsDir, 'sdxl-turbo'), { variant: 'optimum-2023' });
  await ensureRealEdsr(modelsDir);
  return { name: 'tiny models (SDXL-Turbo fixture), 4 steps, EDSR ×4', env: { MODELS_DIR: modelsDir, MODEL: 'sdxl-turbo', UPSCALER: 'edsr-x4' } };
}

async function realSizeScenario(log: (line: string) => void): Promise<Scenario> {
  const model = await ensureRealSdxlTurbo(log);
  const modelsDir = join(realScaleCacheDir(), 'upscalers-v1');
  await ensureRealEdsr(modelsDir);
  return { name: 'real size (SDXL-Turbo architectures), 512×512, 4 steps, EDSR ×4', env: { MODELS_DIR: modelsDir, MODEL: model.dir, UPSCALER: 'edsr-x4', MEMORY_MODE: 'resident' } };
}

async function measure(scenario: Scenario, mode: RenderMode): Promise<ResponsivenessRun> {
  const discord = new FakeDiscord();
  await discord.start();
  const slack = new FakeSlack();
  await slack.start();
  const data = await tempDir('imagine-bench-');
  const chat = fork(CHAT_PROCESS, [mode], {
    execArgv: ['--import', 'tsx'],
    env: {
      PATH: process.env.PATH ?? '',
      ...scenario.env,
      DATA_DIR: join(data, 'data'),
      MODELS_AUTO_DOWNLOAD: 'false',
      LOG_LEVEL: 'warn',
      DISCORD_TOKEN: 'fake-token',
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
    },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: ChatProcessMessage[] = [];
  const arrived: (() => void)[] = [];
  chat.on('message', (message: ChatProcessMessage) => {
    messages.push(message);
    for (const wake of arrived.splice(0)) wake();
  });
  const next = async <T extends ChatProcessMessage['type']>(type: T): Promise<Extract<ChatProcessMessage, { type: T }>> => {
    for (;;) {
      const found = messages.find((message) => message.type === type);
      if (found !== undefined) return found as Extract<ChatProcessMessage, { type: T }>;
      if (chat.exitCode !== null) throw new Error(`the chat process exited (${chat.exitCode}) before '${type}'`);
      await new Promise<void>((wake) => arrived.push(wake));
    }
  };

  try {
    const { slackPort } = await next('ready');
    await discord.identified();
    const imagine = discordCommand(discord.applicationId, { id: '100000000000000001', name: 'Ana' }, 'imagine', { prompt: 'a red fox in fresh snow', seed: 7, steps: 4 });
    const startedAt = Date.now();
    discord.dispatchInteraction(imagine);

    const sentInteractions: { token: string; id: string; sentAt: number }[] = [];
    const slackAcks: Promise<AckSample>[] = [];
    let user = 0;
    const sender = setInterval(() => {
      user += 1;
      const queue = discordCommand(discord.applicationId, { id: String(200000000000000000n + BigInt(user)), name: `u${user}` }, 'queue', {});
      sentInteractions.push({ token: queue.token, id: queue.id, sentAt: Date.now() });
      discord.dispatchInteraction(queue);
      slackAcks.push(slackAck(slackPort, slack, user));
    }, SEND_EVERY_MS);
    const finished = await next('finished');
    clearInterval(sender);
    const settledSlack = await Promise.all(slackAcks);
    // Every interaction sent has had its chance to be acknowledged once the chat process has answered a last one.
    await waitForCallbacks(discord, sentInteractions.at(-1));
    chat.send({ type: 'report' });
    const report = await next('report');
    const acks: AckSample[] = [
      ...sentInteractions.map(({ token, id, sentAt }): AckSample => {
        const callback = discord.requests.find((request) => request.method === 'POST' && request.path === `/interactions/${id}/${token}/callback`);
        return { platform: 'discord', sentAt, ms: callback === undefined ? undefined : callback.at - sentAt };
      }),
      ...settledSlack,
    ];
    const stages = messages.filter((message) => message.type === 'stage');
    return {
      models: scenario.name,
      mode,
      renderSeconds: (finished.at - startedAt) / 1000,
      loop: report.loop,
      acks: summariseAcks(acks),
      stages: stageRows(stages, finished.at, report.lags, acks),
      chatPeakRssMiB: report.peakRssMiB,
      outcome: finished.state + (finished.error === undefined ? '' : `: ${finished.error}`),
    };
  } finally {
    if (chat.exitCode === null) {
      chat.send({ type: 'stop' });
      const timer = setTimeout(() => chat.kill('SIGKILL'), 30_000);
      await once(chat, 'exit');
      clearTimeout(timer);
    }
    await discord.stop();
    await slack.stop();
  }
}

async function slackAck(port: number, slack: FakeSlack, user: number): Promise<AckSample> {
  const sentAt = Date.now();
  const sent = slackCommand(slack, { id: `U${String(user).padStart(8, '0')}`, name: `u${user}` }, 'queue');
  try {
    const response = await postSigned(`http://127.0.0.1:${port}/slack/events`, sent.form, 'application/x-www-form-urlencoded', { secret: SECRET });
    return { platform: 'slack', sentAt, ms: response.status === 200 ? Date.now() - sentAt : undefined };
  } catch {
    return { platform: 'slack', sentAt, ms: undefined };
  }
}

async function waitForCallbacks(discord: FakeDiscord, last: { token: string; id: string } | undefined): Promise<void> {
  if (last === undefined) return;
  await discord.waitFor((request) => request.method === 'POST' && request.path === `/interactions/${last.id}/${last.token}/callback`, 600_000).catch(() => undefined);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summariseAcks(acks: readonly AckSample[]): ResponsivenessRun['acks'] {
  const answered = acks.flatMap((ack) => (ack.ms === undefined ? [] : [ack.ms])).sort((a, b) => a - b);
  return {
    count: acks.length,
    p50Ms: percentile(answered, 50),
    p99Ms: percentile(answered, 99),
    maxMs: answered.at(-1) ?? 0,
    overOneSecond: answered.filter((ms) => ms > 1000).length,
    overPlatformLimit: answered.filter((ms) => ms > PLATFORM_LIMIT_MS).length,
    unanswered: acks.length - answered.length,
  };
}

/** Each stage of the render with the worst event-loop delay and acknowledgement that fell in it. */
function stageRows(stages: readonly Extract<ChatProcessMessage, { type: 'stage' }>[], endAt: number, lags: readonly LagSample[], acks: readonly AckSample[]): StageRow[] {
  const rows = new Map<string, { seconds: number; loopMaxMs: number; slowestAckMs: number; acks: number }>();
  stages.forEach((stage, index) => {
    const from = stage.at;
    const to = stages[index + 1]?.at ?? endAt;
    const row = rows.get(stage.stage) ?? { seconds: 0, loopMaxMs: 0, slowestAckMs: 0, acks: 0 };
    row.seconds += (to - from) / 1000;
    for (const lag of lags) if (lag.dueAt >= from && lag.dueAt < to) row.loopMaxMs = Math.max(row.loopMaxMs, lag.lateMs);
    for (const ack of acks) {
      if (ack.sentAt < from || ack.sentAt >= to) continue;
      row.acks += 1;
      row.slowestAckMs = Math.max(row.slowestAckMs, ack.ms ?? Infinity);
    }
    rows.set(stage.stage, row);
  });
  return [...rows].map(([stage, row]) => ({ stage, ...row }));
}

/** The runs as Markdown tables, as the README shows them. */
export function responsivenessTables(runs: readonly ResponsivenessRun[]): string {
  const lines: string[] = [];
  for (const models of [...new Set(runs.map((run) => run.models))]) {
    const pair = runs.filter((run) => run.models === models);
    lines.push(`**${models}**`, '', `| | ${pair.map((run) => run.mode).join(' | ')} |`, `|---|${pair.map(() => '---').join('|')}|`);
    const row = (label: string, value: (run: ResponsivenessRun) => string) => lines.push(`| ${label} | ${pair.map(value).join(' | ')} |`);
    row('render, /imagine to picture', (run) => `${run.renderSeconds.toFixed(1)} s`);
    row('event-loop delay p50 / p99 / max', (run) => `${run.loop.p50Ms.toFixed(1)} / ${run.loop.p99Ms.toFixed(1)} / ${Math.round(run.loop.maxMs).toLocaleString('en')} ms`);
    row('acknowledgements (Discord + Slack)', (run) => String(run.acks.count));
    row('acknowledgement p50 / p99 / max', (run) => `${Math.round(run.acks.p50Ms)} / ${Math.round(run.acks.p99Ms).toLocaleString('en')} / ${Math.round(run.acks.maxMs).toLocaleString('en')} ms`);
    row('over 1 s / over 3 s (“did not respond”) / never', (run) => `${run.acks.overOneSecond} / ${run.acks.overPlatformLimit} / ${run.acks.unanswered}`);
    row('chat process peak RSS', (run) => `${Math.round(run.chatPeakRssMiB).toLocaleString('en')} MiB`);
    for (const stage of [...new Set(pair.flatMap((run) => run.stages.map((s) => s.stage)))]) {
      row(`${stage}: seconds · loop max · slowest ack`, (run) => {
        const found = run.stages.find((s) => s.stage === stage);
        if (found === undefined) return '–';
        const slowest = found.acks === 0 ? 'none sent' : Number.isFinite(found.slowestAckMs) ? `${Math.round(found.slowestAckMs).toLocaleString('en')} ms` : 'some never';
        return `${found.seconds.toFixed(1)} s · ${Math.round(found.loopMaxMs).toLocaleString('en')} ms · ${slowest}`;
      });
    }
    if (pair.some((run) => !run.outcome.startsWith('succeeded'))) row('outcome', (run) => run.outcome);
    lines.push('');
  }
  return lines.join('\n');
}
