import type { RenderProgress } from '../src/core/progress.js';
import type { InterruptionCause, Job, JobResult } from '../src/jobs/job.js';
import type { QueuedPlace } from '../src/jobs/job-service.js';

/** Short, platform-neutral words for where a job is; adapters add their own formatting around them. */

export function describeWait(place: QueuedPlace & { readonly relaxed?: boolean; readonly job?: { readonly relaxed?: boolean } }): string {
  const { position, etaMs, awaitingWorker } = place;
  if (position <= 0) return 'starting now';
  const eta = awaitingWorker === true ? 'waiting for a render worker to start' : etaMs < 5_000 ? 'any moment now' : `about ${formatDuration(etaMs)}`;
  // A relaxed job's place can only fall back as people within their allowance ask.
  const relaxed = place.relaxed === true || place.job?.relaxed === true ? ' (relaxed: over the daily allowance, behind everyone within theirs)' : '';
  return `${position === 1 ? `next in line, ${eta}` : `position ${position} in the queue, ${eta}`}${relaxed}`;
}

/** What a person is told about a queue that an admin holds; empty when it runs. */
export function describeHold(paused: boolean): string {
  return paused ? ' The queue is paused by an admin: nothing new starts until they resume it.' : '';
}

export function describeProgress(progress: RenderProgress): string {
  switch (progress.stage) {
    case 'loading':
      return `loading the model (${progress.component})`;
    case 'encoding-prompt':
      return 'reading the prompt';
    case 'encoding-image':
      return 'reading the starting picture';
    case 'denoising':
      return `step ${progress.step}/${progress.total}`;
    case 'decoding':
      return 'decoding';
    case 'checking':
      return 'safety check';
    case 'upscaling':
      return `upscaling, tile ${progress.tile}/${progress.tiles}`;
    case 'saving':
      return 'saving';
    case 'done':
      return 'done';
  }
}

/** How far the current stage is, from 0 to 1 (steps while denoising, tiles while upscaling). */
export function stageFraction(progress: RenderProgress): number {
  if (progress.stage === 'denoising') return progress.step / progress.total;
  if (progress.stage === 'upscaling') return progress.tile / progress.tiles;
  return progress.stage === 'saving' || progress.stage === 'done' ? 1 : 0;
}

/** A progress bar of ten cells for the stage, e.g. "▰▰▰▱▱▱▱▱▱▱". */
export function progressBar(progress: RenderProgress): string {
  const filled = Math.round(stageFraction(progress) * 10);
  return '▰'.repeat(filled) + '▱'.repeat(10 - filled);
}

export function describeResult(job: Job, result: JobResult): string {
  const s = result.settings;
  const lines = [
    `**${s.prompt}**`,
    ...(s.negativePrompt === '' ? [] : [`not: ${s.negativePrompt}`]),
    `${s.count === undefined ? `seed ${s.seed}` : `a grid of ${s.count}, seeds ${s.seed}–${s.seed + s.count - 1}`} · ${s.steps} steps · ${s.scheduler} · guidance ${s.guidance} · ${job.request.model} · ${result.width}×${result.height} · ${formatDuration(result.durationMs)}`,
    ...(s.strength === undefined ? [] : [`from a picture, strength ${s.strength}`]),
  ];
  if (result.droppedTokens > 0) lines.push(`note: this model takes 75 prompt tokens; the last ${result.droppedTokens} were ignored`);
  return lines.join('\n');
}

/** Why a finished job shows no picture, or not all of its pictures, at its place. */
export function describeHeldBack(count: number, held: readonly number[] | 'all'): string {
  if (held === 'all') return count > 1 ? `The safety check held back all ${count} pictures, so none is shown here. Reroll for other seeds.` : 'The safety check held this picture back, so it is not shown here. Reroll for another seed.';
  const numbers = held.map((index) => index + 1);
  const named = numbers.length === 1 ? `picture ${numbers[0]}` : `pictures ${numbers.slice(0, -1).join(', ')} and ${numbers.at(-1)}`;
  return `The safety check held back ${named} (a grey tile here); its U and V buttons are refused.`;
}

/** A picture posted behind a spoiler. */
export const SPOILERED = 'The safety check flagged this picture, so it is behind a spoiler.';

/** A running picture that stopped without an outcome, and whether it is drawn again. */
export function describeInterruption(cause: InterruptionCause, willRetry: boolean): string {
  if (cause === 'crash') return willRetry ? 'the renderer stopped while drawing this picture; trying again' : 'the renderer stopped twice while drawing this picture; it was dropped';
  return willRetry ? 'the bot restarted; trying again' : 'the bot restarted twice during this picture; it was dropped';
}

export function describeFailure(job: Job): string {
  if (job.error?.userFacing === true) return `Could not make that image: ${job.error.message}`;
  return `Sorry, something went wrong while making that image (job ${job.id.slice(0, 8)}). The bot's logs say more.`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
}
