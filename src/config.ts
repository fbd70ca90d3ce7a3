import { z } from 'zod';
import { UserError } from './core/errors.js';
import { MEMORY_SETTINGS } from './diffusion/model/memory-mode.js';
import { DEVICES } from './diffusion/onnx/execution-device.js';
import { parseQuotaRoles, type QuotaPolicy } from './jobs/quota.js';
import type { DownloadHosts } from './models/download/remote-files.js';

const optionalText = z.string().trim().min(1).optional();
const booleanText = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Every environment variable the bot reads, with its default. `.env.example` documents each one. */
const configSchema = z.object({
  DISCORD_TOKEN: optionalText,
  DISCORD_APPLICATION_ID: optionalText,
  DISCORD_GUILD_ID: optionalText,
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText,
  /** 0 picks any free port (tests). */
  SLACK_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  MODELS_DIR: z.string().trim().min(1).default('models'),
  MODEL: z.string().trim().min(1).default('sdxl-turbo'),
  UPSCALER: z.string().trim().min(1).default('auto'),
  DEVICE: z.enum(DEVICES).default('cpu'),
  THREADS: z.coerce.number().int().min(0).max(1024).default(0),
  /** resident (all sessions stay loaded), sequential (one component at a time) or auto (from the memory at hand). */
  MEMORY_MODE: z.enum(MEMORY_SETTINGS).default('auto'),
  /** The GPU's memory, which onnxruntime-node cannot report: it decides the automatic memory mode on a GPU. */
  GPU_MEMORY_GB: z.coerce.number().positive().max(4096).default(16),
  DATA_DIR: z.string().trim().min(1).default('data'),
  MODELS_AUTO_DOWNLOAD: booleanText.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  DISCORD_API_URL: z.url().optional(),
  SLACK_API_URL: z.url().optional(),
  HF_ENDPOINT: z.url().default('https://huggingface.co'),
  HF_TOKEN: optionalText,
  /** Where the OpenCV upscalers' .pb files are fetched from (a mirror, or a loopback fake in tests). */
  GITHUB_RAW_URL: z.url().default('https://raw.githubusercontent.com'),
  /** `platform:userId` of the bot's admins, comma-separated (e.g. `discord:1234,slack:U0123`). */
  ADMINS: z.string().default(''),
  QUEUE_PER_USER: z.coerce.number().int().min(1).max(1000).default(3),
  QUEUE_TOTAL: z.coerce.number().int().min(1).max(100_000).default(50),
  JOB_TIMEOUT_MINUTES: z.coerce.number().positive().max(24 * 60).default(20),
  /** After SIGTERM, how long the running picture may finish before it is handed back (the whole stop takes 15 s more at most). */
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /** Words or /patterns/ that refuse a prompt, comma-separated. */
  PROMPT_BLOCKLIST: z.string().default(''),
  /** How many finished pictures to keep on disk. */
  OUTPUT_RETENTION: z.coerce.number().int().min(1).default(500),
  /** local: SQLite and one render lane in this process; redis: BullMQ on Redis, with render workers anywhere. */
  QUEUE: z.enum(['local', 'redis']).default('local'),
  REDIS_URL: z.string().trim().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  /** Every Redis key of this bot starts with it, so two bots can share a Redis. */
  REDIS_PREFIX: z.string().trim().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _, . and - only').default('imagine'),
  /** With QUEUE=redis: whether `npm start` also renders (false: a chat front only, workers render). */
  RENDER: booleanText.default(true),
  /** Which GPU of several a worker uses (CUDA). */
  DEVICE_ID: z.coerce.number().int().min(0).max(255).default(0),
  /** How long a worker may go silent (one step or tile) before its job is given to another worker. */
  REDIS_LOCK_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  /** The web dashboard's port; unset: no dashboard. 0 picks any free port (tests). */
  WEB_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The address the dashboard listens on: loopback unless a proxy or the team's network should reach it. */
  WEB_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** The dashboard's address as browsers reach it (behind a proxy: https://imagine.example.com), for sign-in links. */
  WEB_PUBLIC_URL: z.url().optional(),
  /** A picture the safety check flags, everywhere not named below (DMs too): held back, behind a spoiler, or `off`: nothing is checked. */
  SAFETY: z.enum(['block', 'spoiler', 'off']).default('block'),
  /** Flagged pictures in Discord channels marked age-restricted. */
  SAFETY_AGE_RESTRICTED: z.enum(['allow', 'spoiler', 'block']).default('allow'),
  /** Slack channel ids (comma-separated) where flagged pictures may be posted. */
  SAFETY_SLACK_ALLOWED: z.string().trim().regex(/^[A-Z0-9, ]*$/, 'Slack channel ids (C0123ABCD), comma-separated').default(''),
  /** How long a held-back picture's file is kept for admins to review on the dashboard. */
  SAFETY_KEEP_HOURS: z.coerce.number().min(0).max(24 * 365).default(24),
  /** How long the audit trail of admin actions is kept. */
  AUDIT_KEEP_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),
  /** Who may open the dashboard: admins only, or every member of the team too (read-only). */
  WEB_GALLERY: z.enum(['admins', 'members']).default('admins'),
  /** Pictures one person may have drawn in the last 24 hours (0: no limit). */
  QUOTA_PICTURES_PER_DAY: z.coerce.number().int().min(0).max(1_000_000).default(0),
  /** Device seconds one person may have used in the last 24 hours (0: no limit). */
  QUOTA_GPU_SECONDS_PER_DAY: z.coerce.number().int().min(0).max(86_400 * 1000).default(0),
  /** Discord roles with allowances of their own: `roleId:pictures:seconds,…` (0 = no limit). */
  QUOTA_ROLES: z.string().default('').refine(isQuotaRoles, 'must be roleId:pictures:seconds,… (Discord role ids and whole numbers; 0 = no limit)'),
  /** Over the allowance: refuse the request, or queue it behind everyone within theirs. */
  QUOTA_OVER: z.enum(['refuse', 'relax']).default('refuse'),
});

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Every variable the bot reads, for documentation checks. */
export const CONFIG_KEYS: readonly string[] = Object.keys(configSchema.shape);

/**
 * Reads the configuration once from the environment (after `.env` has been loaded into it). Empty values count as
 * unset. A bad value is a UserError that names the variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? 'configuration');
    // zod reads a number out of the text first: "received NaN" would tell a person nothing about what they typed.
    const notANumber = issue.code === 'invalid_type' && issue.expected === 'number';
    throw new UserError(`${key} is invalid: ${notANumber ? `'${present[key] ?? ''}' is not a number` : issue.message}`);
  }
  return Object.freeze(parsed.data);
}

/** Where models are downloaded from: HF_ENDPOINT (with HF_TOKEN) and GITHUB_RAW_URL. */
export function downloadHosts(config: Pick<Config, 'HF_ENDPOINT' | 'HF_TOKEN' | 'GITHUB_RAW_URL'>): DownloadHosts {
  return { hubUrl: config.HF_ENDPOINT, githubRawUrl: config.GITHUB_RAW_URL, ...(config.HF_TOKEN === undefined ? {} : { hubToken: config.HF_TOKEN }) };
}

/** The daily allowances QUOTA_* describe. */
export function quotaPolicy(config: Config): QuotaPolicy {
  return { defaults: { pictures: config.QUOTA_PICTURES_PER_DAY, deviceSeconds: config.QUOTA_GPU_SECONDS_PER_DAY }, roles: parseQuotaRoles(config.QUOTA_ROLES), over: config.QUOTA_OVER };
}

function isQuotaRoles(text: string): boolean {
  try {
    parseQuotaRoles(text);
    return true;
  } catch {
    return false;
  }
}

export function adminKeys(config: Config): ReadonlySet<string> {
  return new Set(config.ADMINS.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''));
}

/** The dashboard's address for sign-in links: WEB_PUBLIC_URL, or the address it listens on. */
export function dashboardUrl(config: Config, port: number): string {
  if (config.WEB_PUBLIC_URL !== undefined) return config.WEB_PUBLIC_URL.replace(/\/+$/, '');
  const host = config.WEB_HOST === '0.0.0.0' || config.WEB_HOST === '::' ? 'localhost' : config.WEB_HOST.includes(':') ? `[${config.WEB_HOST}]` : config.WEB_HOST;
  return `http://${host}:${port}`;
}
