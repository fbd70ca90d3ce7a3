import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent, type APIEmbed } from 'discord.js';
import { describeFailure, describeHeldBack, describeInterruption, describeProgress, describeResult, describeWait, progressBar, SPOILERED } from '../../../commands/status-text.js';
import { jobButtonId, type JobAction } from '../../../commands/job-actions.js';
import { previewPng } from '../../imaging/preview-png.js';
import type { Job, JobEvent } from '../../jobs/job.js';
import { fileExtension } from '../../imaging/image-format.js';
import { shownPicture } from '../../jobs/shown-picture.js';
import { escapeDiscordText, NO_MENTIONS, toDiscordMarkdown } from './discord-markdown.js';

export interface DiscordFile {
  readonly name: string;
  readonly data: Buffer;
}

/** One version of a job's status message: its body, and the files it carries. */
export interface DiscordMessage {
  readonly body: {
    content: string;
    embeds: APIEmbed[];
    components: APIActionRowComponent<APIButtonComponent>[];
    attachments: { id: number; filename: string }[];
    allowed_mentions: typeof NO_MENTIONS;
  };
  readonly files: DiscordFile[];
}

const COLOUR = { waiting: 0x5865f2, working: 0xfee75c, done: 0x57f287, failed: 0xed4245, held: 0x99aab5 } as const;

function button(action: JobAction, jobId: string, label: string, emoji: string, style = ButtonStyle.Secondary): APIButtonComponent {
  return { type: ComponentType.Button, style, label, emoji: { name: emoji }, custom_id: jobButtonId(action, jobId) } as APIButtonComponent;
}

/** A grid's U1…UN (upscale) and V1…VN (vary) rows, as Midjourney lays them out; a held picture's are disabled. */
function gridRows(jobId: string, count: number, held: readonly number[]): APIActionRowComponent<APIButtonComponent>[] {
  const pictures = Array.from({ length: count }, (_, i) => i + 1);
  const numbered = (action: JobAction, letter: string, n: number): APIButtonComponent => ({
    type: ComponentType.Button,
    style: ButtonStyle.Secondary,
    label: `${letter}${n}`,
    custom_id: jobButtonId(action, jobId, n),
    ...(held.includes(n - 1) ? { disabled: true } : {}),
  });
  return [row(...pictures.map((n) => numbered('upscale', 'U', n))), row(...pictures.map((n) => numbered('vary', 'V', n)))];
}

function row(...buttons: APIButtonComponent[]): APIActionRowComponent<APIButtonComponent> {
  return { type: ComponentType.ActionRow, components: buttons };
}

/** Discord refuses an embed whose title is longer than this. */
const TITLE_LIMIT = 256;

/** The prompt as the embed's title, shown as typed (an embed title renders markdown), escapes counted in its length. */
function title(job: Job): string {
  const whole = escapeDiscordText(job.request.prompt);
  if (whole.length <= TITLE_LIMIT) return whole;
  let shown = '';
  for (const character of job.request.prompt) {
    const escaped = escapeDiscordText(character);
    if (shown.length + escaped.length > TITLE_LIMIT - 1) break;
    shown += escaped;
  }
  return `${shown}…`;
}

/** The status message for the newest event of a job. */
export async function jobMessage(event: JobEvent): Promise<DiscordMessage> {
  const { job } = event;
  const footer = { text: `job ${job.id.slice(0, 8)} · ${job.owner.name}` };
  const cancel = row(button('cancel', job.id, 'Cancel', '✖️', ButtonStyle.Danger));
  switch (event.type) {
    case 'queued':
    case 'position':
      return message({ title: title(job), description: `⏳ ${describeWait(event)}`, color: COLOUR.waiting, footer }, [cancel]);
    case 'started':
      return message({ title: title(job), description: '🎨 starting', color: COLOUR.working, footer }, [cancel]);
    case 'interrupted':
      return message({ title: title(job), description: `${event.willRetry ? '🔁' : '⚠️'} ${describeInterruption(event.cause, event.willRetry)}`, color: COLOUR.failed, footer }, event.willRetry ? [cancel] : []);
    case 'progress': {
      const { progress } = event;
      const description = `🎨 ${describeProgress(progress)}\n${progressBar(progress)}`;
      if (progress.stage === 'denoising' && progress.preview !== undefined) {
        const preview = await previewPng(progress.preview);
        return message({ title: title(job), description, color: COLOUR.working, footer, thumbnail: { url: 'attachment://preview.png' } }, [cancel], [{ name: 'preview.png', data: preview }]);
      }
      return message({ title: title(job), description, color: COLOUR.working, footer }, [cancel]);
    }
    case 'succeeded': {
      const shown = await shownPicture(job, event.result);
      const count = event.result.settings.count ?? 1;
      const details = toDiscordMarkdown(describeResult(job, event.result).split('\n').slice(1).join('\n'));
      const tools = row(button('reroll', job.id, 'Reroll', '🎲'), button('parameters', job.id, 'Parameters', 'ℹ️'), button('delete', job.id, 'Delete', '🗑️'));
      if (shown.kind === 'held') return message({ title: title(job), description: `🛡️ ${describeHeldBack(count, 'all')}\n${details}`, color: COLOUR.held, footer }, [tools]);
      // Discord blurs a SPOILER_ attachment, never an embed's image: a spoilered picture goes below the embed.
      const name = `${shown.spoiler ? 'SPOILER_' : ''}imagine-${event.result.settings.seed}.${fileExtension(shown.format)}`;
      const buttons =
        count > 1
          ? [...gridRows(job.id, count, shown.heldPictures), tools]
          : [row(button('reroll', job.id, 'Reroll', '🎲'), button('variations', job.id, 'Variations', '🔀'), button('parameters', job.id, 'Parameters', 'ℹ️'), button('delete', job.id, 'Delete', '🗑️'))];
      const note = shown.spoiler ? `\n⚠️ ${SPOILERED}` : shown.heldPictures.length > 0 ? `\n🛡️ ${describeHeldBack(count, shown.heldPictures)}` : '';
      return message(
        { title: title(job), description: `${details}${note}`, color: COLOUR.done, footer, ...(shown.spoiler ? {} : { image: { url: `attachment://${name}` } }) },
        buttons,
        [{ name, data: shown.bytes }],
      );
    }
    case 'failed':
      return message({ title: title(job), description: toDiscordMarkdown(describeFailure(event.job)), color: COLOUR.failed, footer }, []);
    case 'cancelled':
      return message({ title: title(job), description: `✖️ cancelled by ${escapeDiscordText(event.by)}`, color: COLOUR.failed, footer }, []);
  }
}

function message(embed: APIEmbed, components: APIActionRowComponent<APIButtonComponent>[], files: DiscordFile[] = []): DiscordMessage {
  return {
    body: { content: '', embeds: [embed], components, attachments: files.map((file, id) => ({ id, filename: file.name })), allowed_mentions: NO_MENTIONS },
    files,
  };
}
