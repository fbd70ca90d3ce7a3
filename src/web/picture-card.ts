import { equivalentCommand } from '../../commands/equivalent-command.js';
import type { Job, JobResult } from '../jobs/job.js';
import { hasFlaggedPicture } from '../jobs/picture-safety.js';
import { isDashboardPlace, type ChatOrigin } from './chat-surfaces.js';

/** A finished picture as the dashboard shows it: what was asked, how it was rendered, and its addresses (by id). */
export interface PictureCard {
  readonly id: string;
  readonly prompt: string;
  readonly negativePrompt: string;
  readonly requester: string;
  /** Where it was asked: the platform, the server or workspace and the channel, by name where the platform gave one. */
  readonly where: string;
  /** Opens the chat message that shows it, where the platform can link to one. */
  readonly link?: string;
  readonly private: boolean;
  readonly model: string;
  readonly seed: number;
  readonly steps: number;
  readonly guidance: number;
  readonly scheduler: string;
  readonly size: string;
  /** The file's pixels (the gallery keeps each picture's shape). */
  readonly width: number;
  readonly height: number;
  readonly renderedSize: string;
  /** Pictures in the file: a grid's count, else 1. */
  readonly count: number;
  readonly upscaler: string;
  readonly format: string;
  readonly bytes: number;
  readonly finishedAt: number;
  readonly durationMs: number;
  /** The `/imagine …` that renders it again. */
  readonly command: string;
  /** AUTOMATIC1111's parameters text, as embedded in the file. */
  readonly parameters: string;
  readonly thumbnailUrl: string;
  readonly imageUrl: string;
  readonly downloadUrl: string;
  /**
   * The safety check flagged a picture of it: members never see it (nor its thumbnail); admins see it blurred, with a
   * reveal that is logged.
   */
  readonly held: boolean;
}

const PLATFORM_NAMES: Readonly<Record<string, string>> = { discord: 'Discord', slack: 'Slack' };

/**
 * "Slack, workspace Acme, #art": the platform, its server or workspace and the channel — by the names the platform
 * gave (`origin`), else by the ids the adapter stored.
 */
export function whereAsked(job: Job, origin?: ChatOrigin): string {
  if (isDashboardPlace(job.place)) return 'the dashboard';
  const platform = PLATFORM_NAMES[job.owner.platform] ?? job.owner.platform;
  const parts = [platform];
  const kind = job.owner.platform === 'discord' ? 'server' : 'workspace';
  if (job.owner.community !== undefined) parts.push(origin?.community === undefined ? `${kind} ${job.owner.community}` : `${kind} ${origin.community}`);
  else parts.push('direct message');
  const channel = (job.place as { channelId?: unknown } | null)?.channelId;
  if (origin?.channel !== undefined && job.owner.community !== undefined) parts.push(`#${origin.channel}`);
  else if (typeof channel === 'string' && job.owner.community !== undefined) parts.push(`channel ${channel}`);
  return parts.join(', ');
}

export function pictureCard(job: Job & { readonly result: JobResult }, origin?: ChatOrigin): PictureCard {
  const { result } = job;
  const settings = result.settings;
  return {
    id: job.id,
    prompt: job.request.prompt,
    negativePrompt: job.request.negativePrompt ?? '',
    requester: job.owner.name,
    where: whereAsked(job, origin),
    ...(origin?.link === undefined ? {} : { link: origin.link }),
    private: job.request.private,
    model: job.request.model,
    seed: settings.seed,
    steps: settings.steps,
    guidance: settings.guidance,
    scheduler: settings.scheduler,
    size: `${result.width}×${result.height}`,
    width: result.width,
    height: result.height,
    renderedSize: `${settings.width}×${settings.height}`,
    count: settings.count ?? 1,
    upscaler: result.upscaler,
    format: result.format,
    bytes: result.bytes,
    finishedAt: job.finishedAt ?? job.createdAt,
    durationMs: result.durationMs,
    command: equivalentCommand(job),
    parameters: result.parameters,
    thumbnailUrl: `/pictures/${job.id}/thumbnail`,
    imageUrl: `/pictures/${job.id}/image`,
    downloadUrl: `/pictures/${job.id}/download`,
    held: hasFlaggedPicture(result),
  };
}
