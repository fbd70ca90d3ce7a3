import { UserError } from '../src/core/errors.js';
import { DEFAULT_STRENGTH, MAX_SEED } from '../src/diffusion/render-settings.js';
import { gridPicturePng } from '../src/jobs/grid-picture.js';
import { mayManage, mayView } from '../src/jobs/job-authority.js';
import type { Job, JobRequest } from '../src/jobs/job.js';
import { isFlaggedPicture } from '../src/jobs/picture-safety.js';
import { auditCancel, cancelAndSee, describeCancelOutcome } from './cancel-outcome.js';
import { isAdminAction, jobAuditRecord } from '../src/jobs/audit-trail.js';
import { enqueueKeeping } from './kept-picture.js';
import { actorOf, ownerOf } from './chat-user.js';
import type { CommandContext, CommandServices } from './command.js';
import { describeHold, describeWait } from './status-text.js';

/**
 * The buttons under a finished picture; adapters route a click here by the action and job id in its custom id.
 * `upscale` and `vary` are a grid's U1…U4 and V1…V4: they name one of its pictures too.
 */
export const JOB_ACTIONS = ['reroll', 'variations', 'parameters', 'delete', 'cancel', 'upscale', 'vary'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export const VARIATION_COUNT = 4;

/** How far V redraws a grid's picture: enough for new details, little enough to keep its composition. */
export const VARY_STRENGTH = DEFAULT_STRENGTH;

/** The id a button carries: the action, the job (and the picture of a grid), so that a click finds them after a restart. */
export function jobButtonId(action: JobAction, jobId: string, picture?: number): string {
  return picture === undefined ? `job:${action}:${jobId}` : `job:${action}:${jobId}:${picture}`;
}

export function parseJobButtonId(buttonId: string): { action: JobAction; jobId: string; picture?: number } | undefined {
  const match = /^job:([a-z]+):([0-9a-f-]{36})(?::([1-9]))?$/.exec(buttonId);
  if (match === null || !JOB_ACTIONS.includes(match[1] as JobAction)) return undefined;
  const picture = match.at(3);
  return { action: match[1] as JobAction, jobId: match[2], ...(picture === undefined ? {} : { picture: Number(picture) }) };
}

export async function runJobAction(action: JobAction, jobId: string, context: CommandContext, services: CommandServices, picture?: number): Promise<void> {
  const job = services.jobs.get(jobId);
  if (job === undefined) throw new UserError('that picture is no longer known to the bot');
  const actor = actorOf(context.user);
  // A button's id is only a job id: whoever clicks (or forges a click) must be someone who may see that picture,
  // whatever the platform showed them. Cancel and delete ask more (may they manage it) and say so themselves.
  if (action !== 'cancel' && action !== 'delete' && !mayView(job, actor)) throw new UserError('that picture is not one you may use (it is private, or from another server or workspace)');
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
    case 'cancel': {
      const outcome = await cancelAndSee(services.jobs, job.id, actor);
      auditCancel(services.audit, job, actor, outcome);
      await context.reply(describeCancelOutcome(outcome, 'the picture'), { private: true });
      return;
    }
    case 'delete':
      if (!mayManage(job, actor)) throw new UserError('only the person who asked for this picture (or an admin) can delete it');
      await context.removeJobMessage(job);
      await services.jobs.deletePicture(job.id, actor);
      if (isAdminAction(job, actor)) services.audit?.record(jobAuditRecord('delete', job, actor, context.via ?? (context.user.platform === 'slack' ? 'slack' : 'discord'), 'deleted'));
      await context.reply('Deleted.', { private: true });
      return;
    case 'upscale':
    case 'vary':
      await fromGridPicture(action, job, picture, context, services);
      return;
  }
}

/**
 * U: picture `number` of a grid upscaled to full size from its native render (no new diffusion). V: a new grid of
 * variations of it (image to image at VARY_STRENGTH, new seeds). Either is a new job of the person who clicked,
 * queued fairly like any other.
 */
async function fromGridPicture(action: 'upscale' | 'vary', job: Job, number: number | undefined, context: CommandContext, services: CommandServices): Promise<void> {
  if (number === undefined) throw new UserError('that button names no picture of the grid');
  if (services.pictures === undefined) throw new UserError('this bot does not keep pictures to start from');
  // A picture held back here is not handed out again through its buttons (the renderer would refuse it too).
  if (job.result !== undefined && isFlaggedPicture(job.result, number - 1) && context.safety === 'block') {
    throw new UserError(`the safety check held picture ${number} back, so it cannot be ${action === 'upscale' ? 'upscaled' : 'varied'} here`);
  }
  const owner = ownerOf(context.user);
  // Cutting the picture out of the grid costs a decode and a file: only for a request the caps would take now.
  await services.jobs.admissible(owner, 1);
  const picture = await services.pictures.keep(await gridPicturePng(job, number));
  const startPicture = picture.digest;
  const settings = job.result!.settings;
  const base = renderedRequest(job, context);
  if (action === 'upscale') {
    const request: JobRequest = { ...base, count: undefined, seed: (settings.seed + number - 1) % (MAX_SEED + 1), startPicture, upscaleOnly: true };
    const [queued] = await enqueueKeeping(picture, () => services.jobs.enqueueMany(owner, [request], context.place));
    await context.reply(`Queued the upscale of picture ${number} of “${job.request.prompt.slice(0, 60)}” — ${describeWait(queued)}.${describeHold(services.jobs.paused)}`, { private: true });
    return;
  }
  // A render of fewer steps than 1/strength would denoise nothing: then the picture is redrawn wholly at its noise.
  const strength = Math.max(VARY_STRENGTH, 1 / settings.steps);
  const request: JobRequest = { ...base, seed: randomSeed(), startPicture, strength, count: settings.count ?? VARIATION_COUNT };
  const [queued] = await enqueueKeeping(picture, () => services.jobs.enqueueMany(owner, [request], context.place));
  await context.reply(`Queued variations of picture ${number} of “${job.request.prompt.slice(0, 60)}” — ${describeWait(queued)}.${describeHold(services.jobs.paused)}`, { private: true });
}

function randomSeed(): number {
  return Math.floor(Math.random() * (MAX_SEED + 1));
}

/**
 * `job`'s request as it was rendered (the model's defaults written out), for a new job of the person clicking. An
 * upscaled grid picture's request renders anew: its starting picture was only the cell it enlarged.
 */
function renderedRequest(job: Job, context: CommandContext): JobRequest {
  const upscaled = job.request.upscaleOnly === true;
  return {
    ...job.request,
    ...(upscaled ? { upscaleOnly: undefined, startPicture: undefined, strength: undefined } : {}),
    ...(job.result === undefined
      ? {}
      : { steps: job.result.settings.steps, guidance: job.result.settings.guidance, width: job.result.settings.width, height: job.result.settings.height, scheduler: job.result.settings.scheduler }),
    maxBytes: context.uploadLimitBytes,
    safety: context.safety,
    parentId: job.id,
  };
}

/** New jobs with the same settings as `job` (as rendered, so defaults stay the same) and other seeds. */
async function enqueueLike(job: Job, seeds: readonly number[], context: CommandContext, services: CommandServices): Promise<void> {
  const base = renderedRequest(job, context);
  const places = await services.jobs.enqueueMany(ownerOf(context.user), seeds.map((seed) => ({ ...base, seed })), context.place);
  const first = places[0];
  await context.reply(`Queued ${seeds.length === 1 ? 'a reroll' : `${seeds.length} variations`} of “${job.request.prompt.slice(0, 60)}” — ${describeWait(first)}.${describeHold(services.jobs.paused)}`, { private: true });
}
