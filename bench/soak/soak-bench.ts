import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeDiscord } from '../../test/fakes/discord/fake-discord.js';
import { slashCommand as discordCommand } from '../../test/fakes/discord/interactions.js';
import { FAKE_CHANNEL_ID, FakeSlack } from '../../test/fakes/slack/fake-slack.js';
import { slashCommand as slackCommand } from '../../test/fakes/slack/slack-requests.js';
import { writeSdxlFixture } from '../../test/fixtures/sdxl-fixture.js';
import { fakePlatformsEnv, npmRunWorker, npmStart, type RunningBot } from '../../test/helpers/npm-start.js';
import { startOwnRedis } from '../../test/helpers/redis.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { classifyDiscord, classifySlack, type Verdict } from './soak-verdicts.js';

/*
 * `npm run bench:soak [-- --requests=300 --people=40]`: the bot as a team runs it on Redis — a chat front on both
 * (loopback) platforms, two render workers — under a few hundred requests while render workers are killed with
 * SIGKILL mid-render, the front is killed once and Redis restarts once. Then every request must have ended in exactly
 * one final message (its picture, or a clear refusal or failure) that nothing changed afterwards. Exit code 1 if one
 * did not.
 */

const argument = (name: string, fallback: number) => Number(process.argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const REQUESTS = argument('requests', 300);
const PEOPLE = argument('people', 40);
const LIMIT_MS = argument('limit-minutes', 12) * 60_000;
/** Between two requests: about 16 a second, faster than two workers draw, so the queue fills and the caps speak. */
const SEND_EVERY_MS = 60;
const WORKER_KILLS = 6;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, limitMs = 120_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`soak: gave up waiting for ${what}`);
    await sleep(50);
  }
}

interface Sent {
  readonly n: number;
  readonly platform: 'discord' | 'slack';
  readonly prompt: string;
  readonly seed: number;
  readonly sentAt: number;
  /** Discord: the interaction's token. Slack: the response_url's id, and the ack once it came. */
  readonly token?: string;
  readonly responseId?: string;
  ack?: string;
}

const started = Date.now();
const events: string[] = [];
const note = (what: string) => {
  const line = `${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`;
  events.push(line);
  process.stderr.write(`soak: ${line}\n`);
};

const redis = await startOwnRedis();
const discord = new FakeDiscord();
await discord.start();
const slack = new FakeSlack();
await slack.start();
const work = await tempDir('imagine-soak-');
await writeSdxlFixture(join(work, 'gpu', 'models', 'sdxl-turbo'), { variant: 'optimum-2023' });
const queue = { QUEUE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: 'soak', LOG_LEVEL: 'info' };
const frontEnv = {
  ...queue,
  ...fakePlatformsEnv(discord, slack),
  RENDER: 'false',
  MODELS_DIR: join(work, 'front', 'models'),
  DATA_DIR: join(work, 'front', 'data'),
  MODELS_AUTO_DOWNLOAD: 'false',
  QUEUE_PER_USER: '4',
  QUEUE_TOTAL: '60',
};
// A short lock, so that a killed worker's job goes to the other within seconds.
const workerEnv = { ...queue, MODELS_DIR: join(work, 'gpu', 'models'), UPSCALER: 'none', THREADS: '1', REDIS_LOCK_SECONDS: '2' };

const processes: RunningBot[] = [];
const ready = (bot: RunningBot, word: string) => until(() => bot.output().includes(word), `${word}: ${bot.output().slice(-2000)}`);
async function startWorker(): Promise<RunningBot> {
  const worker = npmRunWorker(workerEnv);
  processes.push(worker);
  await ready(worker, 'render worker ready');
  return worker;
}
async function startFront(): Promise<RunningBot> {
  const front = npmStart(frontEnv);
  processes.push(front);
  await ready(front, '"msg":"ready"');
  await slack.socketConnected();
  return front;
}
async function kill(bot: RunningBot): Promise<void> {
  const exited = once(bot.child, 'exit');
  bot.child.kill('SIGKILL');
  await exited;
}

const workers = [await startWorker(), await startWorker()];
let front = await startFront();

const sent: Sent[] = [];
/** Slack acks not in yet: a front is killed only when none is pending, as a Discord interaction still unanswered would be. */
const pendingAcks = new Set<Promise<unknown>>();

function send(n: number): void {
  const person = n % PEOPLE;
  const platform = person % 2 === 0 ? 'discord' : 'slack';
  const seed = 1000 + n;
  const prompt = `soak ${n} lighthouse at dusk`;
  const steps = 6 + (n % 5) * 4;
  if (platform === 'discord') {
    const interaction = discordCommand(discord.applicationId, { id: String(100_000_000_000_000_000n + BigInt(person)), name: `person${person}` }, 'imagine', { prompt, seed, steps });
    sent.push({ n, platform, prompt, seed, sentAt: Date.now(), token: interaction.token });
    discord.dispatchInteraction(interaction);
    return;
  }
  const command = slackCommand(slack, { id: `U${String(person).padStart(8, '0')}`, name: `person${person}` }, `${prompt} --seed ${seed} --steps ${steps}`);
  const record: Sent = { n, platform, prompt, seed, sentAt: Date.now(), responseId: command.responseId };
  sent.push(record);
  const acked = slack.sendEnvelope('slash_commands', command.fields).then((payload) => {
    record.ack = (payload as { text?: string } | undefined)?.text ?? '';
  });
  pendingAcks.add(acked);
  void acked.finally(() => pendingAcks.delete(acked));
}

const deferred = () => sent.filter((request) => request.platform === 'discord').every((request) => discord.requests.some((r) => r.path.includes(`/${request.token!}/callback`)));

const killAt = new Set(Array.from({ length: WORKER_KILLS }, (_, k) => Math.round(((k + 1) * REQUESTS) / (WORKER_KILLS + 2))));
const frontKillAt = Math.round(REQUESTS * 0.45);
const redisRestartAt = Math.round(REQUESTS * 0.7);
for (let n = 0; n < REQUESTS; n++) {
  if (killAt.has(n)) {
    const victim = workers.shift()!;
    await kill(victim);
    note(`worker killed (SIGKILL) after request ${n}`);
    workers.push(await startWorker());
  }
  if (n === frontKillAt) {
    await until(() => pendingAcks.size === 0 && deferred(), 'every command answered before the front is killed');
    await kill(front);
    note(`front killed (SIGKILL) after request ${n}`);
    front = await startFront();
    note('front back');
  }
  if (n === redisRestartAt) {
    await redis.restart();
    note(`Redis restarted after request ${n}`);
  }
  send(n);
  if (n % 50 === 49) note(`${n + 1} requests sent`);
  await sleep(SEND_EVERY_MS);
}
note(`all ${REQUESTS} requests sent`);

/** When each request was first seen final (to half a second: the platforms' fakes record no times of their own). */
const finalSeen = new Map<number, number>();
function look(): Verdict[] {
  const now = Date.now();
  const seen = verdicts();
  for (const verdict of seen) if (verdict.outcome !== 'pending' && !finalSeen.has(verdict.n)) finalSeen.set(verdict.n, now);
  return seen;
}
const watcher = setInterval(look, 500);

/** The callback, the edits of the reply and the follow-ups (`/webhooks/{app}/{token}`, no slash after the token). */
function forInteraction(path: string, token: string): boolean {
  return path.includes(`/${token}/`) || path.endsWith(`/${token}`);
}

function verdicts(): Verdict[] {
  return sent.map((request) =>
    request.platform === 'discord'
      ? classifyDiscord(request, discord.requests.filter((r) => forInteraction(r.path, request.token!)))
      : classifySlack(request, request.ack, slack.responses.get(request.responseId!) ?? [], slack.messagesIn(FAKE_CHANNEL_ID), [...slack.files.values()]),
  );
}

const deadline = started + LIMIT_MS;
while (Date.now() < deadline && look().some((verdict) => verdict.outcome === 'pending')) await sleep(500);
// A last look a little later: a message that changes after its final state would show now.
await sleep(3000);
clearInterval(watcher);
const final = look();
note('settled');

// What a broken promise looked like from the platform's side, and the front's last words, for whoever reads the run.
const broken = final.filter((verdict) => verdict.problems.length > 0);
if (broken.length > 0) {
  const lines: string[] = [];
  for (const verdict of broken.slice(0, 10)) {
    const request = sent[verdict.n];
    const seen = request.platform === 'discord' ? discord.requests.filter((r) => forInteraction(r.path, request.token!)).map((r) => `${r.method} ${r.path.replace(request.token!, 'TOKEN')} ${r.status} ${JSON.stringify(r.body ?? {}).slice(0, 160)}`) : [`ack ${JSON.stringify(request.ack)}`];
    lines.push(`request ${verdict.n} (${request.platform}, sent at ${((request.sentAt - started) / 1000).toFixed(1)} s):`, ...seen.map((line) => `  ${line}`));
  }
  const frontTrouble = front.output().split('\n').filter((line) => !line.includes('"level":30')).slice(-20);
  // In the working folder, which outlives the run (the temporary one does not).
  await writeFile('soak-broken.txt', `${lines.join('\n')}\n\n--- the front's warnings and errors ---\n${frontTrouble.join('\n')}\n`);
  note('details of the broken requests and the front’s warnings: soak-broken.txt');
}

for (const bot of [front, ...workers]) await bot.stop();
for (const bot of processes) if (bot.child.exitCode === null) bot.child.kill('SIGKILL');
await discord.stop();
await slack.stop();
await redis.stop();

const count = (predicate: (verdict: Verdict) => boolean) => final.filter(predicate).length;
const outcomes = new Map<string, number>();
for (const verdict of final) {
  const key = `${verdict.outcome}${verdict.reason === undefined ? '' : `: ${verdict.reason}`}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}
const times = final.flatMap((verdict) => { const at = finalSeen.get(verdict.n); return at === undefined ? [] : [at - verdict.sentAt]; }).sort((a, b) => a - b);
const quantile = (q: number) => (times.length === 0 ? 0 : times[Math.min(times.length - 1, Math.floor(q * times.length))] / 1000);
const problems = final.flatMap((verdict) => verdict.problems.map((problem) => `request ${verdict.n} (${verdict.platform}): ${problem}`));

console.log(`\nSoak: ${REQUESTS} requests from ${PEOPLE} people, Discord and Slack, QUEUE=redis with two workers; ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
for (const event of events) console.log(`- ${event}`);
console.log('\n| outcome | requests |\n|---|---:|');
for (const [outcome, n] of [...outcomes].sort((a, b) => b[1] - a[1])) console.log(`| ${outcome} | ${n} |`);
console.log(`\nrequest to final message: p50 ${quantile(0.5).toFixed(1)} s, p95 ${quantile(0.95).toFixed(1)} s, max ${quantile(1).toFixed(1)} s`);
console.log(`pictures: ${count((verdict) => verdict.outcome === 'picture')}; requests without exactly one final message, or changed after it: ${problems.length === 0 ? 'none' : String(problems.length)}`);
for (const problem of problems.slice(0, 40)) console.log(`  ${problem}`);
process.exitCode = problems.length === 0 ? 0 : 1;
