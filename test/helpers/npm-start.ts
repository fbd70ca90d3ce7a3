import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeDiscord } from '../fakes/discord/fake-discord.js';
import { FakeSlack } from '../fakes/slack/fake-slack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunningBot {
  readonly child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr together. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the exit code when the process ends by itself; after `limitMs`, kills it and says what it printed. */
  exits(limitMs?: number): Promise<number | null>;
}

/** The loopback Discord and Slack, started. */
export async function startFakePlatforms(): Promise<{ discord: FakeDiscord; slack: FakeSlack }> {
  const discord = new FakeDiscord();
  await discord.start();
  const slack = new FakeSlack();
  await slack.start();
  return { discord, slack };
}

/** The variables that point npm start's real Discord and Slack clients at the loopback fakes. */
export function fakePlatformsEnv(discord: FakeDiscord, slack: FakeSlack): Record<string, string> {
  return {
    DISCORD_TOKEN: 'fake-token',
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_APP_TOKEN: slack.appToken,
    SLACK_API_URL: slack.apiUrl,
  };
}

/** `npm start` as a user runs it: src/main.ts in its own process, with only the given environment. */
export function npmStart(env: Record<string, string>, as: { readonly uid?: number; readonly gid?: number } = {}): RunningBot {
  return runScript('src/main.ts', env, as);
}

/** `npm run worker`: src/worker.ts in its own process, with only the given environment. */
export function npmRunWorker(env: Record<string, string>): RunningBot {
  return runScript('src/worker.ts', env, {});
}

function runScript(script: string, env: Record<string, string>, as: { readonly uid?: number; readonly gid?: number }): RunningBot {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...as });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
  return {
    child,
    output: () => output,
    async exits(limitMs = 60_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
      const code = await exited;
      clearTimeout(timer);
      if (child.signalCode === 'SIGKILL') throw new Error(`${script} did not exit within ${limitMs} ms:\n${output}`);
      return code;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
