import type { CommandDefinition, CommandServices } from '../../commands/command.js';
import type { SafetySettings } from './safety-settings.js';

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
  /** Where flagged pictures may go (DEFAULT_SAFETY_SETTINGS when absent: held back everywhere). */
  readonly safety?: SafetySettings;
}

export type UploadListener = (outcome: 'ok' | 'failed') => void;
