import type { CommandContext, CommandServices, ChatUser, StartingPictures } from '../../commands/command.js';
import { parsePromptBlocklist } from '../../commands/prompt-blocklist.js';
import type { Job } from '../../src/jobs/job.js';
import type { JobService } from '../../src/jobs/job-service.js';
import type { SafetyRule } from '../../src/jobs/picture-safety.js';

export interface Reply {
  readonly text: string;
  readonly private: boolean;
}

/** A conversation as a command sees it, recording what the command says and removes. */
export class FakeChat implements CommandContext {
  readonly replies: Reply[] = [];
  readonly removed: Job[] = [];
  readonly user: ChatUser;
  readonly syntax = { command: (name: string) => `/${name}`, option: (name: string) => `${name}:` };
  readonly place: unknown;
  readonly uploadLimitBytes: number;
  readonly supportsPrivate: boolean;
  readonly safety: SafetyRule;

  constructor(user: Partial<ChatUser> & { id: string }, options: { supportsPrivate?: boolean; uploadLimitBytes?: number; place?: unknown; safety?: SafetyRule } = {}) {
    this.user = { platform: 'discord', name: `user-${user.id}`, community: 'server-1', admin: 'none', ...user };
    this.place = options.place ?? { channel: 'general' };
    this.uploadLimitBytes = options.uploadLimitBytes ?? 10 * 2 ** 20;
    this.supportsPrivate = options.supportsPrivate ?? true;
    this.safety = options.safety ?? 'block';
  }

  reply(text: string, options: { private?: boolean } = {}): Promise<void> {
    this.replies.push({ text, private: options.private === true });
    return Promise.resolve();
  }

  removeJobMessage(job: Job): Promise<void> {
    this.removed.push(job);
    return Promise.resolve();
  }

  get lastReply(): string | undefined {
    return this.replies.at(-1)?.text;
  }
}

export function commandServices(jobs: JobService, options: { models?: string[]; blocklist?: string; pictures?: StartingPictures } = {}): CommandServices {
  const models = options.models ?? ['sdxl-turbo', 'sd-1.5'];
  return {
    jobs,
    models: { installed: () => models, defaultModel: models[0] ?? 'sdxl-turbo', nativeSize: (model) => (model === 'sd-2.1' ? 768 : 512) },
    blocklist: parsePromptBlocklist(options.blocklist ?? ''),
    ...(options.pictures === undefined ? {} : { pictures: options.pictures }),
  };
}
