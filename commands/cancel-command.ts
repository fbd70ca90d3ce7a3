import { UserError } from '../src/core/errors.js';
import { mayManage } from '../src/jobs/job-authority.js';
import { actorOf, isOwnedBy } from './chat-user.js';
import { auditCancel, cancelAndSee, describeCancelOutcome } from './cancel-outcome.js';
import type { CommandDefinition } from './command.js';

/** The shortest job id prefix `/cancel` takes: shorter ones match too easily, the empty one everything. */
export const MIN_JOB_PREFIX = 4;

export const cancelCommand: CommandDefinition = {
  name: 'cancel',
  description: 'Cancel your latest image in the queue, or the job you name',
  options: [{ kind: 'string', name: 'job', description: 'Job id (the first 8 characters are enough)', maxLength: 36 }],
  async run(input, context, services) {
    const actor = actorOf(context.user);
    // Only jobs the caller may cancel are ever matched: a prefix never reaches anybody else's job.
    const cancellable = services.jobs.active().filter((job) => mayManage(job, actor));
    const wanted = typeof input.job === 'string' ? input.job.trim().toLowerCase() : '';
    let target;
    if (wanted === '') {
      target = cancellable.filter((job) => isOwnedBy(job, context.user)).at(-1);
      if (target === undefined) throw new UserError('you have nothing in the queue');
    } else {
      if (wanted.length < MIN_JOB_PREFIX) throw new UserError(`give at least the first ${MIN_JOB_PREFIX} characters of the job id (the queue shows 8)`);
      const matches = cancellable.filter((job) => job.id.startsWith(wanted));
      if (matches.length === 0) throw new UserError('none of the waiting or running jobs you may cancel has an id that starts like that');
      if (matches.length > 1) throw new UserError(`${matches.length} jobs you may cancel start like that; give more characters of the id`);
      target = matches[0];
    }
    const outcome = await cancelAndSee(services.jobs, target.id, actor);
    auditCancel(services.audit, target, actor, outcome);
    const what = target.request.private && !isOwnedBy(target, context.user) ? 'a private picture' : `“${target.request.prompt.slice(0, 80)}”`;
    await context.reply(describeCancelOutcome(outcome, what), { private: true });
  },
};
