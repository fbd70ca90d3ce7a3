import { UserError } from '../src/core/errors.js';
import { MAX_SEED } from '../src/diffusion/render-settings.js';
import { mayManage } from '../src/jobs/job-authority.js';
import type { Job, JobRequest } from '../src/jobs/job.js';
import { actorOf, ownerOf } from './chat-user.js';
import type { CommandContext, CommandServices } from './command.js';
import { describeHold, describeWait } from './status-text.js';

/** The buttons under a finished picture; adapters route a click here by the action and job id in its custom id. */
export const JOB_ACTIONS = ['reroll', 'variations', 'parameters', 'delete', 'cancel'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export const VARIATION_COUNT = 4;

/** The id a button carries: the action and the job, so that a click finds its job even after a restart. */
export function jobButtonId(action: JobAction, jobId: string): string {
  return `job:${action}:${jobId}`;
}

export function parseJobButtonId(buttonId: string): { action: JobAction; jobId: string } | undefined {
  const match = /^job:([a-z]+):([0-9a-f-]{36})$/.exec(buttonId);
  if (match === null || !JOB_ACTIONS.includes(match[1] as JobAction)) return undefined;
  return { action: match[1] as JobAction, jobId: match[2] };
}

export async function runJobAction(action: JobAction, jobId: string, context: CommandContext, services: CommandServices): Promise<void> {
  const job = services.jobs.get(jobId);
  if (job === undefined) throw new UserError('that picture is no longer known to the bot');
  const actor = actorOf(context.user);
  switch (action) {
    case 'reroll':
      await enqueueLike(job, [randomSeed()], context, services);
      return;
    case 'variations': {
      const seed = job.result?.settings.seed ?? job.request.seed ?? randomSeed();
      await enqueueLike(job, Array.from({ length: VARIATION_COUNT }, (_, i) => (seed + i + 1) % (MAX_SEED + 1)), context, services);
      return;
    }
    case 'parameters':
      await context.reply(job.result?.parameters ?? `${job.request.prompt}\n(not rendered yet)`, { private: true });
      return;
    case 'cancel':
      await services.jobs.cancel(job.id, actor);
      await context.reply('Cancelled.', { private: true });
      return;
    case 'delete':
      if (!mayManage(job, actor)) throw new UserError('only the person who asked for this picture (or an admin) can delete it');
      await context.removeJobMessage(job);
      await services.jobs.deletePicture(job.id, actor);
      await context.reply('Deleted.', { private: true });
      return;
  }
}

function randomSeed(): number {
  return Math.floor(Math.random() * (MAX_SEED + 1));
}

/** New jobs with the same settings as `job` (as rendered, so defaults stay the same) and other seeds. */
async function enqueueLike(job: Job, seeds: readonly number[], context: CommandContext, services: CommandServices): Promise<void> {
  const base: JobRequest = {
    ...job.request,
    ...(job.result === undefined
      ? {}
      : { steps: job.result.settings.steps, guidance: job.result.settings.guidance, width: job.result.settings.width, height: job.result.settings.height, scheduler: job.result.settings.scheduler }),
    maxBytes: context.uploadLimitBytes,
    parentId: job.id,
  };
  const places = await services.jobs.enqueueMany(ownerOf(context.user), seeds.map((seed) => ({ ...base, seed })), context.place);
  const first = places[0];
  await context.reply(`Queued ${seeds.length === 1 ? 'a reroll' : `${seeds.length} variations`} of “${job.request.prompt.slice(0, 60)}” — ${describeWait(first.position, first.etaMs)}.${describeHold(services.jobs.paused)}`, { private: true });
}
