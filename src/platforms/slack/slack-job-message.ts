import type { types } from '@slack/bolt';
import { jobButtonId, type JobAction } from '../../../commands/job-actions.js';
import { describeFailure, describeHeldBack, describeInterruption, describeProgress, describeResult, describeWait, progressBar } from '../../../commands/status-text.js';
import { pictureShowing } from '../../jobs/picture-safety.js';
import type { Job, JobEvent } from '../../jobs/job.js';
import { escapeMrkdwn, toMrkdwn } from './slack-mrkdwn.js';

/** One version of a job's status message, for chat.postMessage and chat.update. */
export interface SlackMessage {
  /** The notification and screen-reader text. */
  readonly text: string;
  readonly blocks: types.KnownBlock[];
}

const PROMPT_SHOWN = 280;

function button(action: JobAction, jobId: string, label: string, style?: 'danger', picture?: number): types.Button {
  return { type: 'button', action_id: jobButtonId(action, jobId, picture), text: { type: 'plain_text', text: label, emoji: true }, value: jobId, ...(style === undefined ? {} : { style }) };
}

/** A grid's U1…UN and V1…VN, each row its own actions block. */
function gridButtons(jobId: string, count: number): types.Button[][] {
  const pictures = Array.from({ length: count }, (_, i) => i + 1);
  return [pictures.map((n) => button('upscale', jobId, `U${n}`, undefined, n)), pictures.map((n) => button('vary', jobId, `V${n}`, undefined, n))];
}

function promptLine(job: Job): string {
  const prompt = job.request.prompt;
  return `*${escapeMrkdwn(prompt.length <= PROMPT_SHOWN ? prompt : `${prompt.slice(0, PROMPT_SHOWN - 1)}…`)}*`;
}

function message(job: Job, status: string, buttons: types.Button[], buttonRowsAbove: types.Button[][] = [], previewFileId?: string): SlackMessage {
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `${promptLine(job)}\n${status}` } },
    // The picture as it forms: a file the bot uploaded (never shared in a channel), shown by its id.
    ...(previewFileId === undefined ? [] : [{ type: 'image' as const, slack_file: { id: previewFileId }, alt_text: 'the picture as it forms' }]),
    { type: 'context', elements: [{ type: 'mrkdwn', text: `job ${job.id.slice(0, 8)} · <@${job.owner.userId}>` }] },
  ];
  for (const row of [...buttonRowsAbove, buttons]) if (row.length > 0) blocks.push({ type: 'actions', elements: row });
  // The fallback text is mrkdwn too (notifications, screen readers, clients without blocks): escaped like the blocks.
  return { text: `${escapeMrkdwn(job.request.prompt.slice(0, 150))} — ${status.replace(/[*_~`]/g, '')}`, blocks };
}

/**
 * The status message for the newest event of a job; the picture itself is uploaded into its thread. While it is
 * drawn, `previewFileId` names the latest preview the bot uploaded.
 */
export function slackJobMessage(event: JobEvent, previewFileId?: string): SlackMessage {
  const { job } = event;
  const cancel = [button('cancel', job.id, '✖️ Cancel', 'danger')];
  switch (event.type) {
    case 'queued':
    case 'position':
      return message(job, `⏳ ${describeWait(event)}`, cancel);
    case 'started':
      return message(job, '🎨 starting', cancel);
    case 'interrupted':
      return message(job, `${event.willRetry ? '🔁' : '⚠️'} ${describeInterruption(event.cause, event.willRetry)}`, event.willRetry ? cancel : []);
    case 'progress':
      return message(job, `🎨 ${describeProgress(event.progress)}\n\`${progressBar(event.progress)}\``, cancel, [], previewFileId);
    case 'succeeded': {
      const details = describeResult(job, event.result).split('\n').slice(1).join('\n');
      const count = event.result.settings.count ?? 1;
      const showing = pictureShowing(job.request, event.result);
      // Slack has no spoiler: a picture that would go behind one is held back here.
      if (showing.kind === 'held' || showing.kind === 'unchecked' || showing.kind === 'spoiler') {
        return message(job, `🛡️ ${describeHeldBack(count, 'all')}\n${toMrkdwn(details)}`, [button('reroll', job.id, '🎲 Reroll'), button('parameters', job.id, 'ℹ️ Parameters'), button('delete', job.id, '🗑️ Delete')]);
      }
      if (count > 1) {
        const held = showing.kind === 'masked' ? `\n🛡️ ${describeHeldBack(count, showing.pictures)}` : '';
        return message(
          job,
          `✅ ${toMrkdwn(details)}\nThe grid is in the thread: U upscales a picture, V varies it.${held}`,
          [button('reroll', job.id, '🎲 Reroll'), button('parameters', job.id, 'ℹ️ Parameters'), button('delete', job.id, '🗑️ Delete')],
          gridButtons(job.id, count),
        );
      }
      return message(job, `✅ ${toMrkdwn(details)}\nThe picture is in the thread.`, [
        button('reroll', job.id, '🎲 Reroll'),
        button('variations', job.id, '🔀 Variations'),
        button('parameters', job.id, 'ℹ️ Parameters'),
        button('delete', job.id, '🗑️ Delete'),
      ]);
    }
    case 'failed':
      return message(job, `⚠️ ${toMrkdwn(describeFailure(job))}`, []);
    case 'cancelled':
      return message(job, `✖️ cancelled by ${escapeMrkdwn(event.by)}`, []);
  }
}
