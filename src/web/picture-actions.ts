import { runJobAction, type JobAction } from '../../commands/job-actions.js';
import type { ChatUser, CommandContext, CommandServices } from '../../commands/command.js';
import type { Job } from '../jobs/job.js';
import { DASHBOARD_PLACE, type ChatSurfaces } from './chat-surfaces.js';
import type { Viewer } from './web-viewer.js';

/** What a picture's page offers; `upscale` and `vary` are a grid's U and V and name one of its pictures. */
export const WEB_PICTURE_ACTIONS = ['reroll', 'variations', 'upscale', 'vary', 'delete'] as const;
export type WebPictureAction = (typeof WEB_PICTURE_ACTIONS)[number];

const WEB_SYNTAX = { command: (name: string) => `/${name}`, option: (name: string) => name };

/**
 * The buttons under a chat picture, pressed on the dashboard: the same actions (`runJobAction`), with the same rights
 * and caps, as the person who signed in. A new picture goes where the source's buttons would have put it — its chat
 * channel, when the person is of that platform and the source was not private — and otherwise is shown on the
 * dashboard only. What the action answers (privately, in chat) is returned as text.
 */
export class PictureActions {
  readonly #services: CommandServices;
  readonly #surfaces: ChatSurfaces;

  constructor(services: CommandServices, surfaces: ChatSurfaces) {
    this.#services = services;
    this.#surfaces = surfaces;
  }

  async run(action: WebPictureAction, source: Job, viewer: Viewer, picture?: number): Promise<string> {
    const answers: string[] = [];
    const context = this.#context(source, viewer, answers);
    await runJobAction(action satisfies JobAction, source.id, context, this.#services, picture);
    return answers.join('\n');
  }

  #context(source: Job, viewer: Viewer, answers: string[]): CommandContext {
    const { owner, admin } = viewer.actor;
    const surfaces = this.#surfaces;
    // In chat a button is pressed where the picture is: the new job belongs to that server. On the web that holds for
    // a person of the source's platform (anyone who may see it is of its server, or one of the bot's own admins).
    const ofSourcePlatform = owner.platform === source.owner.platform;
    const community = ofSourcePlatform ? (source.owner.community ?? owner.community) : owner.community;
    const user: ChatUser = { platform: owner.platform, id: owner.userId, name: owner.name, ...(community === undefined ? {} : { community }), admin };
    const chatPlace = ofSourcePlatform && !source.request.private ? surfaces.get(source.owner.platform)?.followUpPlace(source) : undefined;
    return {
      user,
      syntax: WEB_SYNTAX,
      place: chatPlace ?? DASHBOARD_PLACE,
      uploadLimitBytes: source.request.maxBytes,
      supportsPrivate: false,
      // A job from before the safety check had no rule: checked, and held back where flagged.
      safety: source.request.safety ?? 'block',
      via: 'dashboard',
      reply: (text) => {
        answers.push(text);
        return Promise.resolve();
      },
      removeJobMessage: async (job) => {
        await surfaces.get(job.owner.platform)?.removeJobMessage(job);
      },
    };
  }
}
