import { HubApiError, listFiles } from '@huggingface/hub';
import picomatch from 'picomatch';
import { errorMessage, UnreachableError, UserError } from '../../core/errors.js';
import { networkFailure } from '../../core/network-error.js';

/** Where downloads come from: the Hugging Face hub (or a mirror) and GitHub's raw file host. */
export interface DownloadHosts {
  /** HF_ENDPOINT, e.g. https://huggingface.co */
  readonly hubUrl: string;
  /** HF_TOKEN, for gated repositories. */
  readonly hubToken?: string;
  /** e.g. https://raw.githubusercontent.com */
  readonly githubRawUrl: string;
}

/** How a downloaded file is checked: the hub publishes SHA-256 for LFS files and the git blob SHA-1 for small ones. */
export type FileCheck = { readonly kind: 'sha256'; readonly hex: string } | { readonly kind: 'git-blob-sha1'; readonly hex: string };

export interface RemoteFile {
  /** The path inside the repository, kept inside the installed folder. */
  readonly path: string;
  readonly url: string;
  /** Exact size when the host publishes it. */
  readonly size?: number;
  readonly check?: FileCheck;
  /** Headers to send (the hub token); never sent to another host. */
  readonly headers: Readonly<Record<string, string>>;
}

function hubHeaders(hosts: DownloadHosts): Record<string, string> {
  return hosts.hubToken === undefined ? {} : { authorization: `Bearer ${hosts.hubToken}` };
}

function hubFileUrl(hosts: DownloadHosts, repository: string, revision: string, path: string): string {
  return `${hosts.hubUrl.replace(/\/$/, '')}/${repository}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * The files of a hub repository at a revision that match the patterns, with sizes and checksums from the hub's own
 * listing. A gated or private repository, a missing revision and an unreachable hub each become a UserError that
 * says what to do.
 */
export async function listHubFiles(hosts: DownloadHosts, repository: string, revision: string, patterns: readonly string[]): Promise<RemoteFile[]> {
  if (hosts.hubToken !== undefined && !hosts.hubToken.startsWith('hf_')) throw new UserError('HF_TOKEN should start with hf_ (a read token from https://huggingface.co/settings/tokens)');
  const wanted = picomatch([...patterns], { dot: true });
  const files: RemoteFile[] = [];
  try {
    for await (const entry of listFiles({ repo: { type: 'model', name: repository }, revision, recursive: true, hubUrl: hosts.hubUrl.replace(/\/$/, ''), ...(hosts.hubToken === undefined ? {} : { accessToken: hosts.hubToken }) })) {
      if (entry.type !== 'file' || !wanted(entry.path)) continue;
      const check: FileCheck | undefined = entry.lfs !== undefined ? { kind: 'sha256', hex: entry.lfs.oid } : entry.oid === undefined ? undefined : { kind: 'git-blob-sha1', hex: entry.oid };
      files.push({ path: entry.path, url: hubFileUrl(hosts, repository, revision, entry.path), size: entry.lfs?.size ?? entry.size, ...(check === undefined ? {} : { check }), headers: hubHeaders(hosts) });
    }
  } catch (error) {
    throw hubError(error, hosts, repository, revision);
  }
  if (files.length === 0) throw new UserError(`${repository} at ${revision} has none of the expected ONNX files`);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

function hubError(error: unknown, hosts: DownloadHosts, repository: string, revision: string): Error {
  if (error instanceof UserError) return error;
  if (error instanceof HubApiError) {
    const page = `${hosts.hubUrl.replace(/\/$/, '')}/${repository}`;
    if (error.statusCode === 401 || error.statusCode === 403) {
      return new UserError(
        hosts.hubToken === undefined
          ? `${repository} is gated or private: accept its licence at ${page} and set HF_TOKEN to a read token`
          : `HF_TOKEN was refused for ${repository}: accept its licence at ${page} with the token's account, or check the token`,
      );
    }
    if (error.statusCode === 404) return new UserError(`${repository} or its revision '${revision}' was not found on ${hosts.hubUrl}`);
    return new UserError(`the hub answered ${error.statusCode} for ${repository}: ${error.message}`);
  }
  return new UnreachableError(`cannot reach ${hosts.hubUrl} (${networkFailure(error) ?? errorMessage(error)}); check the network, a proxy, or HF_ENDPOINT`);
}
