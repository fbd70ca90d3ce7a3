import type { Actor } from '../src/jobs/job-authority.js';
import { isFinalEvent, type Job, type JobEvent, type JobState } from '../src/jobs/job.js';
import { isAdminAction, jobAuditRecord, type AuditRecorder } from '../src/jobs/audit-trail.js';
import type { JobService } from '../src/jobs/job-service.js';

/**
 * How long a cancel waits to say what became of a running picture. A waiting one is cancelled at once; a running one
 * stops at the renderer's next step or tile (a real UNet step on a CPU is 13 s) — or has already finished.
 */
export const CANCEL_WAIT_MS = 30_000;

/** What a cancel came to: cancelled; too late (the picture finished or failed first); or still stopping. */
export type CancelOutcome = { readonly kind: 'cancelled' } | { readonly kind: 'too-late'; readonly state: Exclude<JobState, 'cancelled' | 'queued' | 'running'> } | { readonly kind: 'stopping' };

/** Cancels a job and waits (up to `waitMs`) to tell what actually happened to it, instead of assuming. */
export async function cancelAndSee(jobs: JobService, jobId: string, by: Actor, waitMs = CANCEL_WAIT_MS): Promise<CancelOutcome> {
  let settle: (outcome: CancelOutcome) => void = () => undefined;
  const settled = new Promise<CancelOutcome>((resolve) => { settle = resolve; });
  // Listening before asking: the final event may come while the cancel itself is being sent.
  const unsubscribe = jobs.subscribe((event) => {
    if (event.job.id === jobId && isFinalEvent(event)) settle(outcomeOf(event));
  });
  const timer = setTimeout(() => { settle({ kind: 'stopping' }); }, waitMs);
  try {
    const answer = await jobs.cancel(jobId, by);
    const now = jobs.get(jobId) ?? answer;
    if (now.state !== 'running' && now.state !== 'queued') settle(now.state === 'cancelled' ? { kind: 'cancelled' } : { kind: 'too-late', state: now.state });
    return await settled;
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}

function outcomeOf(event: JobEvent): CancelOutcome {
  if (event.type === 'cancelled') return { kind: 'cancelled' };
  if (event.type === 'succeeded') return { kind: 'too-late', state: 'succeeded' };
  if (event.type === 'failed') return { kind: 'too-late', state: 'failed' };
  return { kind: 'too-late', state: 'interrupted' };
}

/** Records a cancel of somebody else's job in the audit trail, with what came of it. */
export function auditCancel(audit: AuditRecorder | undefined, job: Job, by: Actor, outcome: CancelOutcome): void {
  if (audit === undefined || !isAdminAction(job, by)) return;
  const platform = by.owner.platform === 'slack' ? 'slack' : 'discord';
  audit.record(jobAuditRecord('cancel', job, by, platform, outcome.kind === 'too-late' ? `too late: it had ${outcome.state}` : outcome.kind));
}

/** The answer to the person who cancelled, about the picture `what` (already safe to show them). */
export function describeCancelOutcome(outcome: CancelOutcome, what: string): string {
  switch (outcome.kind) {
    case 'cancelled':
      return `Cancelled ${what}.`;
    case 'stopping':
      return `Asked the renderer to stop ${what}; it stops after the step it is in.`;
    case 'too-late':
      return outcome.state === 'succeeded' ? `Too late: ${what} had already finished.` : `Too late: ${what} had already ended (${outcome.state}).`;
  }
}
