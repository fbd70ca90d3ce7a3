import { UserError } from '../src/core/errors.js';
import { checkBreaks } from '../src/diffusion/conditioning/prompt-chunks.js';
import { parseEmphasis } from '../src/diffusion/conditioning/prompt-emphasis.js';
import { DEFAULT_STRENGTH, MAX_COUNT, MAX_GUIDANCE, MAX_PROMPT_LENGTH, MAX_SEED, MAX_STEPS } from '../src/diffusion/render-settings.js';
import { encodeImage } from '../src/imaging/encode-image.js';
import { fitPicture, MAX_PICTURE_BYTES, readStartingPicture } from '../src/imaging/starting-picture.js';
import { imageToImageSteps } from '../src/diffusion/schedulers/image-to-image-start.js';
import { parseSchedulerName, SCHEDULER_NAMES } from '../src/diffusion/schedulers/scheduler-registry.js';
import type { JobRequest } from '../src/jobs/job.js';
import { ASPECT_RATIOS, sizeForAspectRatio } from './aspect-ratio.js';
import { ownerOf } from './chat-user.js';
import { readPromptText } from '../src/core/prompt-text.js';
import { withUserDefaults } from './settings-command.js';
import type { CommandContext, CommandDefinition, CommandInput, CommandServices, OptionValue } from './command.js';
import { describeHold, describeWait } from './status-text.js';
import { enqueueKeeping, type KeptPicture } from './kept-picture.js';

/** One limit for chat and the command line; CLIP reads 75 tokens (a few hundred characters) of it anyway. */
export const MAX_PROMPT_CHARACTERS = MAX_PROMPT_LENGTH;

export const imagineCommand: CommandDefinition = {
  name: 'imagine',
  description: 'Turn a prompt into a picture',
  options: [
    { kind: 'string', name: 'prompt', description: 'What to draw', required: true, maxLength: MAX_PROMPT_CHARACTERS },
    { kind: 'string', name: 'negative', description: 'What to keep out of the picture', maxLength: MAX_PROMPT_CHARACTERS },
    { kind: 'choice', name: 'aspect', description: 'Aspect ratio (default 1:1)', choices: ASPECT_RATIOS },
    { kind: 'integer', name: 'seed', description: 'Seed, to repeat a picture', min: 0, max: MAX_SEED },
    { kind: 'integer', name: 'steps', description: 'Denoising steps (default: the model’s)', min: 1, max: MAX_STEPS },
    { kind: 'number', name: 'guidance', description: 'How strictly to follow the prompt (0-30; default: the model’s)', min: 0, max: MAX_GUIDANCE },
    { kind: 'string', name: 'model', description: 'Model (default: the bot’s)', maxLength: 100, autocomplete: true },
    { kind: 'choice', name: 'scheduler', description: 'Sampler (default: the model’s)', choices: SCHEDULER_NAMES },
    { kind: 'integer', name: 'count', description: `Pictures to choose from, 1-${MAX_COUNT}: a grid with buttons to upscale or vary each (default 1)`, min: 1, max: MAX_COUNT },
    { kind: 'boolean', name: 'private', description: 'Show the picture to you only' },
    { kind: 'picture', name: 'image', description: 'A picture to start from: PNG, JPEG or WebP, up to 10 MB' },
    { kind: 'number', name: 'strength', description: `With an image: how much of it to redraw, 0-1 (default ${DEFAULT_STRENGTH})`, min: 0, max: 1 },
  ],
  async run(input, context, services) {
    const filled = withUserDefaults(input, context, services);
    const owner = ownerOf(context.user);
    const built = buildRequest(filled.input, context, services);
    // A picture costs a download, a decode and a file: only for a request the caps would take now.
    if (filled.input.image !== undefined) await services.jobs.admissible(owner, 1);
    const { request, picture } = await withStartingPicture(built, filled.input.image, services);
    const queued = await enqueueKeeping(picture, () => services.jobs.enqueue(owner, request, context.place));
    const note = filled.note === undefined ? '' : ` Note: ${filled.note}.`;
    await context.reply(`Queued “${truncate(request.prompt, 80)}” — ${describeWait(queued)}. (job ${queued.job.id.slice(0, 8)})${note}${describeHold(services.jobs.paused)}`, { private: true });
  },
};

/** Checks every option and turns them into a job request; the first problem is a UserError fit for chat. */
export function buildRequest(input: CommandInput, context: CommandContext, services: CommandServices): JobRequest {
  const prompt = readPromptText(text(input.prompt, 'prompt'), 'prompt');
  if (prompt === '') throw new UserError('the prompt is empty');
  if (prompt.length > MAX_PROMPT_CHARACTERS) throw new UserError(`the prompt is longer than ${MAX_PROMPT_CHARACTERS} characters`);
  const negative = input.negative === undefined ? undefined : readPromptText(text(input.negative, 'negative'), 'negative prompt');
  if (negative !== undefined && negative.length > MAX_PROMPT_CHARACTERS) throw new UserError(`the negative prompt is longer than ${MAX_PROMPT_CHARACTERS} characters`);
  for (const part of [prompt, negative ?? '']) {
    const blocked = services.blocklist.match(part);
    if (blocked !== undefined) throw new UserError(`that prompt is not allowed here (it matches “${blocked}”)`);
  }
  // What the text encoders would refuse, refused before queuing: weights out of bounds, too many BREAKs.
  for (const [part, what] of [[prompt, 'prompt'], [negative ?? '', 'negative prompt']] as const) {
    parseEmphasis(part);
    checkBreaks(part, what);
  }
  const installed = services.models.installed();
  const model = input.model === undefined ? services.models.defaultModel : text(input.model, 'model');
  if (!installed.includes(model)) {
    throw new UserError(installed.length === 0 ? (services.models.noneReason ?? 'no model is installed yet; ask the bot’s admin') : `unknown model '${model}': choose one of ${installed.join(', ')}`);
  }
  const seed = integer(input.seed, 'seed', 0, MAX_SEED);
  const steps = integer(input.steps, 'steps', 1, MAX_STEPS);
  const guidance = number(input.guidance, 'guidance', 0, MAX_GUIDANCE);
  const scheduler = input.scheduler === undefined ? undefined : parseSchedulerName(text(input.scheduler, 'scheduler'));
  const size = input.aspect === undefined ? undefined : sizeForAspectRatio(text(input.aspect, 'aspect'), services.models.nativeSize(model));
  const count = integer(input.count, 'count', 1, MAX_COUNT);
  const strength = number(input.strength, 'strength', 0, 1);
  if (strength !== undefined && input.image === undefined) throw new UserError('strength applies to a starting picture: give an image as well');
  // Checked now where the steps are known; the model's default steps are checked when the job runs.
  if (input.image !== undefined && steps !== undefined) imageToImageSteps(steps, strength ?? DEFAULT_STRENGTH);
  const wantsPrivate = input.private === true;
  if (wantsPrivate && !context.supportsPrivate) throw new UserError('private pictures are not possible here');
  return {
    prompt,
    ...(negative === undefined || negative === '' ? {} : { negativePrompt: negative }),
    ...(seed === undefined ? {} : { seed }),
    ...(steps === undefined ? {} : { steps }),
    ...(guidance === undefined ? {} : { guidance }),
    ...(size ?? {}),
    ...(scheduler === undefined ? {} : { scheduler }),
    ...(strength === undefined ? {} : { strength }),
    ...(count === undefined || count === 1 ? {} : { count }),
    model,
    private: wantsPrivate,
    maxBytes: context.uploadLimitBytes,
    safety: context.safety,
  };
}

/**
 * Image to image: fetches the picture from the platform, checks it (type by content, size, decodable), fits it to
 * the render size and keeps it as a PNG the job names by digest. All before queuing: a bad picture queues nothing.
 */
async function withStartingPicture(request: JobRequest, image: OptionValue | undefined, services: CommandServices): Promise<{ request: JobRequest; picture?: KeptPicture }> {
  if (image === undefined) return { request };
  if (typeof image !== 'object') throw new UserError('image must be a picture (an attachment, or a file shared here)');
  if (services.pictures === undefined) throw new UserError('this bot does not take starting pictures');
  const picture = await readStartingPicture(await image.fetch(MAX_PICTURE_BYTES));
  const native = services.models.nativeSize(request.model);
  const fitted = await fitPicture(picture, request.width ?? native, request.height ?? native);
  const kept = await services.pictures.keep(await encodeImage(fitted, 'png'));
  return { request: { ...request, startPicture: kept.digest }, picture: kept };
}


function text(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new UserError(`${name} must be text`);
  return value;
}

function integer(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new UserError(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

function number(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new UserError(`${name} must be a number from ${min} to ${max}`);
  return value;
}

function truncate(value: string, length: number): string {
  return value.length <= length ? value : `${value.slice(0, length - 1)}…`;
}
