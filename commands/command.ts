import type { AdminScope } from '../src/jobs/job-authority.js';
import type { Job, JobOwner } from '../src/jobs/job.js';
import type { UserDefaults } from '../src/jobs/user-defaults.js';
import type { JobService } from '../src/jobs/job-service.js';
import type { SafetyRule } from '../src/jobs/picture-safety.js';
import type { AuditRecorder, AuditSurface } from '../src/jobs/audit-trail.js';
import type { UsageLedger } from '../src/jobs/usage-ledger.js';
import type { ModelChoices } from '../src/models/model-choices.js';

export type { ModelChoices } from '../src/models/model-choices.js';

/** A typed option of a command; each adapter maps these to its platform (slash-command options, text flags). */
export type OptionSpec =
  | { readonly kind: 'string'; readonly name: string; readonly description: string; readonly required?: boolean; readonly maxLength: number; readonly autocomplete?: boolean }
  | { readonly kind: 'integer'; readonly name: string; readonly description: string; readonly min: number; readonly max: number }
  | { readonly kind: 'number'; readonly name: string; readonly description: string; readonly min: number; readonly max: number }
  | { readonly kind: 'boolean'; readonly name: string; readonly description: string }
  | { readonly kind: 'choice'; readonly name: string; readonly description: string; readonly choices: readonly string[] }
  /** A picture: a Discord attachment, a file shared in the Slack workspace (`--image <link>`). */
  | { readonly kind: 'picture'; readonly name: string; readonly description: string };

/**
 * A picture someone gave with a command. The adapter knows where it lives and fetches it only on demand, within
 * `maxBytes`, from its own platform (never from an address a stranger typed); every failure is a UserError.
 */
export interface PictureSource {
  readonly kind: 'picture';
  fetch(maxBytes: number): Promise<Uint8Array>;
}

export type OptionValue = string | number | boolean | PictureSource;
export type CommandInput = Readonly<Record<string, OptionValue | undefined>>;

export interface ChatUser {
  readonly platform: string;
  readonly id: string;
  readonly name: string;
  /** The Discord server or Slack workspace the command came from; absent in a direct message. */
  readonly community?: string;
  /** How far this person's authority over other people's jobs reaches (see `mayManage`). */
  readonly admin: AdminScope;
  /** Their Discord roles in the server the command came from (for quota limits); absent elsewhere. */
  readonly roles?: readonly string[];
}

/** How commands and their options are typed on a platform, for help texts ("/queue" or "/imagine queue"). */
export interface CommandSyntax {
  command(name: string): string;
  option(name: string): string;
}

/** What a command may do in the conversation it was called from; each adapter implements it. */
export interface CommandContext {
  readonly user: ChatUser;
  readonly syntax: CommandSyntax;
  /** Where this conversation is, as the adapter wants it stored with a job (channel, thread, interaction). */
  readonly place: unknown;
  /** The largest file this conversation accepts. */
  readonly uploadLimitBytes: number;
  /** Whether only the requester can be shown the result here. */
  readonly supportsPrivate: boolean;
  /** What this place does with a picture the safety check flags (the job carries it to the renderer). */
  readonly safety: SafetyRule;
  /** Where the person acted, for the audit trail; absent: their chat platform. */
  readonly via?: AuditSurface;
  /** Answers the command; `private` shows it to the caller only, where the platform can. */
  reply(text: string, options?: { readonly private?: boolean }): Promise<void>;
  /** Removes the chat message that shows a job's image. */
  removeJobMessage(job: Job): Promise<void>;
}

/** What commands reach besides the conversation: the queue and the installed models. */
export interface CommandServices {
  readonly jobs: JobService;
  readonly models: ModelChoices;
  readonly blocklist: PromptBlocklist;
  /** Each person's own defaults for /imagine (`/settings`); absent where none are kept. */
  readonly defaults?: UserDefaultsStore;
  /** The web dashboard's sign-in links; absent when the dashboard is off. */
  readonly dashboard?: DashboardLinks;
  /** Where starting pictures are kept for image-to-image jobs; absent where none are accepted. */
  readonly pictures?: StartingPictures;
  /** Where admin actions (cancel or delete of someone else's picture) are recorded; absent where none are kept. */
  readonly audit?: AuditRecorder;
  /** The bot's use of its render devices, and each person's allowance; absent where none is kept. */
  readonly usage?: UsageLedger;
}

export interface StartingPictures {
  /** Keeps a PNG for a job about to be queued: the digest the job names it by, and a way to take it back. */
  keep(png: Uint8Array): Promise<{ readonly digest: string; discard(): Promise<void> }>;
}

export interface UserDefaultsStore {
  userDefaults(owner: JobOwner): UserDefaults;
  setUserDefaults(owner: JobOwner, defaults: UserDefaults): void;
}

export interface DashboardLinks {
  /** A one-time sign-in link for this person; a UserError when they may not have one. */
  linkFor(user: ChatUser): string;
}

export interface PromptBlocklist {
  /** The first blocked word or pattern the text contains, if any. */
  match(text: string): string | undefined;
}

export interface CommandDefinition {
  readonly name: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  run(input: CommandInput, context: CommandContext, services: CommandServices): Promise<void>;
}
