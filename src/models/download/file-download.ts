import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CancelledError, errorMessage, UnreachableError, UserError } from '../../core/errors.js';
import { networkFailure, unreachedReason } from '../../core/network-error.js';
import type { FileCheck, RemoteFile } from './remote-files.js';

export interface FileDownloadOptions {
  /** Called with the bytes of this file on disk so far, resumed bytes included. */
  readonly onBytes?: (bytes: number) => void;
  readonly signal?: AbortSignal;
  /** Network failures in the middle of a file are resumed this many times before giving up. */
  readonly attempts?: number;
}

/** The file of an unfinished download, kept across runs so that the next run resumes it with a Range request. */
export function partialPath(dest: string): string {
  return `${dest}.part`;
}

/**
 * Downloads a file to `dest`: into `dest.part` first, resumed with HTTP Range where an earlier run (or attempt)
 * stopped, then checked against the size and checksum the host published, then renamed into place. A file whose
 * checksum does not match is deleted and never placed.
 */
export async function downloadFile(remote: RemoteFile, dest: string, options: FileDownloadOptions = {}): Promise<void> {
  const part = partialPath(dest);
  await mkdir(dirname(dest), { recursive: true });
  const attempts = options.attempts ?? 4;
  let hash: Hash | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      hash = await fetchRemainder(remote, part, options);
      break;
    } catch (error) {
      if (error instanceof UserError || error instanceof CancelledError || attempt >= attempts) {
        if (error instanceof UserError || error instanceof CancelledError) throw error;
        throw await failedDownload(remote, part, error);
      }
    }
  }
  const bytes = (await stat(part)).size;
  if (remote.size !== undefined && bytes !== remote.size) {
    await rm(part, { force: true });
    throw new UserError(`${remote.path}: got ${bytes} bytes where the host lists ${remote.size}; the file was deleted and nothing was installed`);
  }
  if (remote.check !== undefined) {
    const actual = hash === undefined ? await digestOf(part, remote.check, bytes) : hash.digest('hex');
    if (actual !== remote.check.hex) {
      await rm(part, { force: true });
      throw new UserError(`${remote.path}: checksum mismatch (expected ${describeCheck(remote.check)}, got ${actual}); the file was deleted and nothing was installed`);
    }
  }
  await rename(part, dest);
}

/** The message of a download that gave up: what failed, and a resume only where something is there to resume. */
async function failedDownload(remote: RemoteFile, part: string, error: unknown): Promise<UserError> {
  const unreached = unreachedReason(error);
  const what =
    unreached === undefined
      ? `downloading ${remote.path} failed (${networkFailure(error) ?? errorMessage(error)})`
      : `cannot reach ${new URL(remote.url).origin} (${unreached}) for ${remote.path}; check the network, a proxy, or the mirror's address`;
  const fetched = await sizeOf(part);
  const message = fetched > 0 ? `${what}; ${fetched} bytes are kept, and running the same command again resumes from there` : what;
  return unreached === undefined ? new UserError(message) : new UnreachableError(message);
}

/**
 * Fetches what `part` lacks, appending to it when the host honours the Range request and starting over when not.
 * Returns the checksum of the whole part, computed as the bytes arrive (after the bytes already there, on a resume)
 * so that a 10 GB file is not read again to check it; undefined when there was nothing left to fetch.
 */
async function fetchRemainder(remote: RemoteFile, part: string, options: FileDownloadOptions): Promise<Hash | undefined> {
  let have = await sizeOf(part);
  if (remote.size !== undefined && have > remote.size) {
    await rm(part, { force: true });
    have = 0;
  }
  if (remote.size !== undefined && have === remote.size) return undefined;
  let response: Response;
  try {
    response = await fetch(remote.url, { headers: { ...remote.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) }, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  } catch (error) {
    if (options.signal?.aborted === true) throw new CancelledError('download cancelled');
    throw error;
  }
  if (response.status === 416 && have > 0) return undefined;
  if (response.status === 401 || response.status === 403) throw new UserError(`${remote.path}: the host refused the download (${response.status}); a gated repository needs HF_TOKEN and its licence accepted`);
  if (response.status === 404) throw new UserError(`${remote.path} was not found at ${remote.url}`);
  if (response.status !== 200 && response.status !== 206) throw new Error(`HTTP ${response.status}`);
  if (response.body === null) throw new Error('empty response');
  const append = response.status === 206;
  if (!append) have = 0;
  const hash = remote.check === undefined || remote.size === undefined ? undefined : newHash(remote.check, remote.size);
  if (hash !== undefined && append) for await (const chunk of createReadStream(part, { end: have - 1 })) hash.update(chunk as Buffer);
  let written = have;
  options.onBytes?.(written);
  const file = await open(part, append ? 'a' : 'w');
  try {
    // Each chunk is on disk before the next is read (and hashed only once written): a connection cut mid-file keeps
    // every byte that arrived, and the next attempt resumes exactly there.
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      written += chunk.length;
      hash?.update(chunk);
      options.onBytes?.(written);
    }
  } catch (error) {
    if (options.signal?.aborted === true) throw new CancelledError('download cancelled; run the same command again to resume it');
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw new UserError(`the disk is full while writing ${part}; free some space and run the same command again to resume`);
    throw error;
  } finally {
    await file.close();
  }
  if (remote.size !== undefined && written < remote.size) throw new Error(`the connection closed after ${written} of ${remote.size} bytes`);
  return hash;
}

function newHash(check: FileCheck, size: number): Hash {
  if (check.kind === 'sha256') return createHash('sha256');
  // A git blob id is the SHA-1 of "blob <size>\0" followed by the content.
  return createHash('sha1').update(`blob ${size}\0`);
}

async function digestOf(file: string, check: FileCheck, size: number): Promise<string> {
  const hash = newHash(check, size);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function describeCheck(check: FileCheck): string {
  return `${check.kind === 'sha256' ? 'SHA-256' : 'git SHA-1'} ${check.hex}`;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}
