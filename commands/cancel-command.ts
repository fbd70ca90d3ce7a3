import { UserError } from '../src/core/errors.js';
import type { CommandDefinition } from './command.js';

export const cancelCommand: CommandDefinition = {
  name: 'cancel',
  description: 'Cancel your latest image in the queue, or the job you name',
  options: [{ kind: 'string', name: 'job', description: 'Job id (the first 8 characters are enough)', maxLength: 36 }],
  async run(input, context, services) {
    const active = services.jobs.active();
    const wanted = typeof input.job === 'string' ? input.job.trim().toLowerCase() : undefined;
    const mine = active.filter((job) => job.owner.platform === context.user.platform && job.owner.userId === context.user.id);
    const target = wanted === undefined ? mine.at(-1) : active.find((job) => job.id.startsWith(wanted));
    if (target === undefined) throw new UserError(wanted === undefined ? 'you have nothing in the queue' : `no waiting or running job starts with ${wanted}`);
    const actor = { owner: { platform: context.user.platform, userId: context.user.id, name: context.user.name }, isAdmin: context.user.isAdmin };
    await services.jobs.cancel(target.id, actor);
    await context.reply(`Cancelled “${target.request.prompt.slice(0, 80)}”.`, { private: true });
  },
};
