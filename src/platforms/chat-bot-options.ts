import type { CommandDefinition, CommandServices } from '../../commands/command.js';

export type PlatformLog = (level: 'info' | 'warn' | 'error', message: string, context?: Record<string, unknown>) => void;

/** What every chat adapter is built from: the neutral commands, the services behind them, and how to reach the platform. */
export interface ChatBotOptions {
  readonly commands: readonly CommandDefinition[];
  readonly services: CommandServices;
  /** `<platform>:<user id>` keys of the bot's admins. */
  readonly admins: ReadonlySet<string>;
  /** The platform's API base URL (tests point it at a loopback fake). */
  readonly apiUrl?: string;
  /** Least time between two edits of one status message. */
  readonly minEditIntervalMs?: number;
  readonly log?: PlatformLog;
  /** Told of every picture upload into chat and whether it worked (for the dashboard's metrics). */
  readonly onUpload?: UploadListener;
}

export type UploadListener = (outcome: 'ok' | 'failed') => void;
