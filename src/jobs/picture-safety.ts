import type { JobRequest, JobResult } from './job.js';

/**
 * What may happen at a job's place to a picture the safety check flags: shown like any other (`allow`), posted behind
 * a spoiler (`spoiler`), or held back (`block`); `off`: pictures are not checked at all (SAFETY=off).
 */
export const SAFETY_RULES = ['allow', 'spoiler', 'block', 'off'] as const;
export type SafetyRule = (typeof SAFETY_RULES)[number];

/** The checker's verdict on a job's pictures, as the job record keeps it. */
export interface SafetyVerdict {
  /** Which checker judged: `safety-checker` (the catalog's) or `<model>/safety_checker` (a model folder's own). */
  readonly checker: string;
  /** One per picture, a grid's in order: whether the checker flagged it. */
  readonly flagged: readonly boolean[];
}

/** A job queued before pictures were checked names no rule: it is checked, and held back where flagged. */
export function safetyRuleOf(request: JobRequest): SafetyRule {
  return request.safety ?? 'block';
}

/** How a finished job's picture may be shown at its place, from the verdict alone. */
export type PictureShowing =
  /** Nothing flagged, flagged pictures are allowed here, or nothing was checked (SAFETY=off). */
  | { readonly kind: 'whole' }
  | { readonly kind: 'spoiler' }
  /** A grid shown with these pictures (0-based) replaced by a neutral tile. */
  | { readonly kind: 'masked'; readonly pictures: readonly number[] }
  /** Not shown at all. */
  | { readonly kind: 'held' }
  /** The rule asks for a check and the result carries no verdict (a worker that did not check): not shown. */
  | { readonly kind: 'unchecked' };

export function pictureShowing(request: JobRequest, result: JobResult): PictureShowing {
  const rule = safetyRuleOf(request);
  if (rule === 'off') return { kind: 'whole' };
  const verdict = result.safety;
  if (verdict === undefined) return { kind: 'unchecked' };
  const flagged = verdict.flagged.flatMap((isFlagged, index) => (isFlagged ? [index] : []));
  if (flagged.length === 0 || rule === 'allow') return { kind: 'whole' };
  if (rule === 'spoiler') return { kind: 'spoiler' };
  if (verdict.flagged.length > 1 && flagged.length < verdict.flagged.length) return { kind: 'masked', pictures: flagged };
  return { kind: 'held' };
}

/** Whether picture `index` (0-based) of a job's result was flagged. */
export function isFlaggedPicture(result: JobResult, index: number): boolean {
  return result.safety?.flagged[index] === true;
}

/** Whether any picture of a job's result was flagged. */
export function hasFlaggedPicture(result: JobResult | undefined): boolean {
  return result?.safety?.flagged.includes(true) === true;
}

/**
 * Why a result may not be shown as its rule stands, if it may not: a rule that asks for a check and a result without
 * a verdict for each of its pictures (a worker of an older version, or one that was not told). The front trusts a
 * worker's booleans, never its silence.
 */
export function missingVerdict(request: JobRequest, result: Omit<JobResult, 'file'>): string | undefined {
  if (safetyRuleOf(request) === 'off') return undefined;
  const pictures = request.upscaleOnly === true ? 1 : Math.max(request.count ?? 1, result.settings.count ?? 1);
  if (result.safety?.flagged.length === pictures) return undefined;
  return 'the render worker sent this picture back without the safety check’s verdict (an older worker?), so it was not posted';
}
