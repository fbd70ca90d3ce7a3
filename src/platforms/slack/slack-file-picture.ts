import type { webApi } from '@slack/bolt';
import type { PictureSource } from '../../../commands/command.js';
import { UserError } from '../../core/errors.js';
import { formatBytes } from '../../imaging/encode-within-limit.js';
import { downloadPlatformFile } from '../platform-file-download.js';
import { slackErrorCode } from './slack-web.js';

const FILE_ID = /^F[A-Z0-9]{6,}$/;

/**
 * The file ID in what someone gave as `--image`: the ID itself, or a Slack file link (`https://team.slack.com/files/
 * U…/F…/name`, `https://files.slack.com/files-pri/T…-F…/name`), bare or as Slack escapes links (`<url|label>`).
 * Anything else, any other site included, is refused: the bot never fetches an address a stranger typed.
 */
export function slackFileId(reference: string): string {
  const unwrapped = reference.trim().replace(/^<(.*)>$/, '$1').split('|')[0];
  if (FILE_ID.test(unwrapped)) return unwrapped;
  let url: URL;
  try {
    url = new URL(unwrapped);
  } catch {
    throw notAWorkspaceFile();
  }
  const slackHost = url.hostname === 'slack.com' || url.hostname.endsWith('.slack.com');
  const id = /\/files\/[A-Z0-9]+\/(F[A-Z0-9]{6,})(?:\/|$)/.exec(url.pathname)?.[1] ?? /\/files-pri\/T[A-Z0-9]+-(F[A-Z0-9]{6,})(?:\/|$)/.exec(url.pathname)?.[1];
  if (url.protocol !== 'https:' || !slackHost || id === undefined) throw notAWorkspaceFile();
  return id;
}

/** Whether the file is the person's own, or shared in the conversation they type in. */
function visibleTo(file: DescribedFile, requester: { readonly userId: string; readonly channelId: string }): boolean {
  if (file.user !== undefined && file.user === requester.userId) return true;
  const places = [...(file.channels ?? []), ...(file.groups ?? []), ...(file.ims ?? []), ...Object.keys(file.shares?.public ?? {}), ...Object.keys(file.shares?.private ?? {})];
  return places.includes(requester.channelId);
}

function notAWorkspaceFile(): UserError {
  return new UserError('--image takes a file shared in this Slack workspace: upload the picture here, then give its link (⋮ → Copy link to file)');
}

/** What files.info says of a file that matters here: where it is, who shared it, how large it is. */
interface DescribedFile {
  size?: number;
  url_private_download?: string;
  url_private?: string;
  user?: string;
  channels?: string[];
  groups?: string[];
  ims?: string[];
  shares?: { public?: Record<string, unknown>; private?: Record<string, unknown> };
}

/**
 * A workspace file as a picture for the commands: files.info with the bot token says where Slack keeps it, how large
 * it is and where it is shared, and it is downloaded only from Slack's file host, with the same token. The bot sees
 * files across the workspace; a person may use only one shared in the conversation they type in, or one of their own.
 */
export function slackFilePicture(reference: string, client: webApi.WebClient, botToken: string, fileOrigins: readonly string[], requester: { readonly userId: string; readonly channelId: string }): PictureSource {
  const id = slackFileId(reference);
  return {
    kind: 'picture',
    fetch: async (maxBytes) => {
      let file: DescribedFile | undefined;
      try {
        file = (await client.files.info({ file: id })).file;
      } catch (error) {
        const code = slackErrorCode(error);
        if (code === 'file_not_found' || code === 'file_deleted') throw new UserError('that file is not shared anywhere the bot can see in this workspace: share it in this channel first');
        if (code === 'missing_scope') throw new UserError('this Slack app may not read files yet: an admin adds the files:read scope (see slack/manifest.json) and reinstalls it');
        throw new UserError(`Slack would not describe that file (${code ?? 'no answer'}); try again`);
      }
      const url = file?.url_private_download ?? file?.url_private;
      if (file === undefined || url === undefined) throw new UserError('Slack gave no download for that file');
      if (!visibleTo(file, requester)) throw new UserError('that file is not shared in this conversation: share it here first (or use a picture you uploaded yourself)');
      if (file.size !== undefined && file.size > maxBytes) throw new UserError(`the picture is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}`);
      return downloadPlatformFile(url, { allowedOrigins: fileOrigins, maxBytes, headers: { authorization: `Bearer ${botToken}` } });
    },
  };
}
