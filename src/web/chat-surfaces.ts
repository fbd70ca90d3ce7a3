import type { Job } from '../jobs/job.js';

/** Where a picture was asked for, as a person reads it: names where the platform gives them, and a link to the message. */
export interface ChatOrigin {
  /** The server's or workspace's name. */
  readonly community?: string;
  /** The channel's name. */
  readonly channel?: string;
  /** Opens the chat message that shows the picture. */
  readonly link?: string;
}

/** What a chat platform lends the dashboard: its places, its messages and their names. */
export interface ChatSurface {
  /**
   * Where a picture someone asks for on the dashboard from `source` (a reroll, a variation) is shown in chat: the
   * source's channel, as its buttons would; undefined where that cannot be done (a private source): then it is shown on
   * the dashboard only.
   */
  followUpPlace(source: Job): unknown;
  /** Removes the chat message that shows the job's picture (what its Delete button does). */
  removeJobMessage(job: Job): Promise<void>;
  /** The names of the place the job was asked in, and a link to its message; undefined where nothing is known. */
  origin(job: Job): Promise<ChatOrigin | undefined>;
}

/** The place of a job asked for on the dashboard and shown only there: no chat presenter takes it as its own. */
export const DASHBOARD_PLACE = { kind: 'dashboard' } as const;

export function isDashboardPlace(place: unknown): boolean {
  return typeof place === 'object' && place !== null && (place as { kind?: unknown }).kind === 'dashboard';
}

/** The chat platforms connected now, registered as each starts (the dashboard starts before them). */
export class ChatSurfaces {
  readonly #surfaces = new Map<string, ChatSurface>();

  register(platform: string, surface: ChatSurface): void {
    this.#surfaces.set(platform, surface);
  }

  get(platform: string): ChatSurface | undefined {
    return this.#surfaces.get(platform);
  }
}
