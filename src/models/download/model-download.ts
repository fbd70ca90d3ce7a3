import { mkdir, readFile, rename, rm, rmdir, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { pathExists } from '../../core/path-exists.js';
import { readModelFolder } from '../../diffusion/model/model-folder.js';
import type { Device } from '../../diffusion/onnx/execution-device.js';
import { formatBytes } from '../../imaging/encode-within-limit.js';
import { convertAndInstall } from '../../upscale/convert-upscaler.js';
import { listInstalledUpscalers } from '../../upscale/installed-upscalers.js';
import { modelSource, type Catalog, type CatalogSafetyChecker, type CatalogUpscaler, type ModelSource } from '../model-catalog.js';
import { readClipImageSettings } from '../../safety/clip-image-processor.js';
import { safetyCheckerIn } from '../../safety/safety-checker-files.js';
import { downloadFile, partialPath } from './file-download.js';
import { listHubFiles, type DownloadHosts, type RemoteFile } from './remote-files.js';

export interface DownloadProgress {
  readonly file: string;
  /** Bytes of every file of this download on disk, resumed ones included. */
  readonly doneBytes: number;
  /** Undefined while a size is unknown (GitHub files before their headers arrive). */
  readonly totalBytes: number | undefined;
}

export interface DownloadOptions {
  readonly modelsDir: string;
  readonly hosts: DownloadHosts;
  readonly device: Device;
  /** A variant other than the device's (fp32 or fp16 SDXL-Turbo). */
  readonly variant?: string;
  readonly onProgress?: (progress: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  /** Free bytes on the disk holding `dir`; statfs unless a test says otherwise. */
  readonly freeBytes?: (dir: string) => Promise<number>;
}

export interface DownloadReport {
  readonly id: string;
  readonly dir: string;
  readonly bytes: number;
  readonly files: number;
  readonly source: string;
  /** For a model that was installed already: the files it lacked, now added (a newer catalog names more). */
  readonly added?: readonly string[];
}

/** Unfinished downloads live here, so that a new run resumes them and no half model is ever loadable. */
export function stagingDir(modelsDir: string, id: string): string {
  return join(modelsDir, '.downloads', id);
}

/** The record of where an installed model came from, written beside its files. */
export const SOURCE_FILE = 'download-source.json';

/** Leaves room for the file system's own needs beyond the bytes themselves. */
const DISK_MARGIN_BYTES = 256 * 2 ** 20;

/** A catalog model or upscaler, fetched, checked and placed under MODELS_DIR. */
export async function downloadFromCatalog(catalog: Catalog, id: string, options: DownloadOptions): Promise<DownloadReport> {
  const upscaler = catalog.upscalers[id] as CatalogUpscaler | undefined;
  if (upscaler !== undefined) return downloadUpscaler(id, upscaler, options);
  const checker = catalog.safetyCheckers[id] as CatalogSafetyChecker | undefined;
  if (checker !== undefined) return downloadSafetyChecker(id, checker, options);
  return downloadModel(modelSource(catalog, id, options.device, options.variant), options);
}

/**
 * Fetches the ONNX files of a model into a staging folder (resuming what an earlier run left), checks each against
 * the hub's size and SHA-256, checks the folder reads as a model, and only then renames it into MODELS_DIR/<id>.
 */
export async function downloadModel(source: ModelSource, options: DownloadOptions): Promise<DownloadReport> {
  const target = join(options.modelsDir, source.id);
  if (await pathExists(target)) return completeInstalledModel(source, target, options);
  const files = await listHubFiles(options.hosts, source.repository, source.revision, source.patterns);
  const staging = await fetchIntoStaging(files, stagingDir(options.modelsDir, source.id), options);
  await readModelFolder(staging);
  const bytes = files.reduce((sum, file) => sum + (file.size ?? 0), 0);
  await writeSourceRecord(staging, source, files);
  await rename(staging, target);
  return { id: source.id, dir: target, bytes, files: files.length, source: `${source.repository}@${source.revision} (${source.variant})` };
}

async function writeSourceRecord(dir: string, source: ModelSource, files: readonly RemoteFile[]): Promise<void> {
  const record = { id: source.id, variant: source.variant, repository: source.repository, revision: source.revision, files: files.map((file) => ({ path: file.path, size: file.size, ...(file.check === undefined ? {} : { [file.check.kind]: file.check.hex }) })) };
  await writeFile(join(dir, SOURCE_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * A model installed from the same repository and revision by an older catalog (one that did not fetch
 * `vae_encoder/`, say): the files it lacks are fetched and checked like a fresh download, then moved in one by one;
 * the files it has are left alone. Anything else installed there is refused as before.
 */
async function completeInstalledModel(source: ModelSource, target: string, options: DownloadOptions): Promise<DownloadReport> {
  const alreadyInstalled = (why: string) => new UserError(`${source.id} is already installed in ${resolve(target)}${why}; check it with \`imagine models verify ${source.id}\`, or remove it first`);
  const recorded = await readFile(join(target, SOURCE_FILE), 'utf8').then((text) => JSON.parse(text) as { repository?: unknown; revision?: unknown }, () => undefined);
  if (recorded?.repository !== source.repository || recorded.revision !== source.revision) throw alreadyInstalled('');
  const files = await listHubFiles(options.hosts, source.repository, source.revision, source.patterns);
  const present = await Promise.all(files.map((file) => pathExists(join(target, file.path))));
  const missing = files.filter((_, i) => !present[i]);
  if (missing.length === 0) throw alreadyInstalled(' with every file the catalog names');
  const staging = await fetchIntoStaging(missing, stagingDir(options.modelsDir, source.id), options);
  for (const file of missing) {
    await mkdir(dirname(join(target, file.path)), { recursive: true });
    await rename(join(staging, file.path), join(target, file.path));
  }
  await rm(staging, { recursive: true, force: true });
  await removeEmptyFolders(dirname(staging), options.modelsDir);
  await readModelFolder(target);
  await writeSourceRecord(target, source, files);
  const bytes = missing.reduce((sum, file) => sum + (file.size ?? 0), 0);
  return { id: source.id, dir: target, bytes, files: missing.length, source: `${source.repository}@${source.revision} (${source.variant})`, added: missing.map((file) => file.path) };
}

/**
 * The safety checker: its graph and its image processor's settings from a diffusers export, checked against the hub's
 * hashes like a model's files, the settings read as the renderer will read them, then moved into MODELS_DIR/<id>.
 */
async function downloadSafetyChecker(id: string, checker: CatalogSafetyChecker, options: DownloadOptions): Promise<DownloadReport> {
  const target = join(options.modelsDir, id);
  if (await pathExists(target)) throw new UserError(`the ${id} is already installed in ${resolve(target)}; check it with \`imagine models verify ${id}\`, or remove it first`);
  const files = await listHubFiles(options.hosts, checker.repository, checker.revision, checker.files);
  const staging = await fetchIntoStaging(files, stagingDir(options.modelsDir, id), options);
  const found = await safetyCheckerIn(staging, id);
  if (found === undefined) throw new UserError(`${checker.repository}@${checker.revision} lacks safety_checker/model.onnx or feature_extractor/preprocessor_config.json`);
  await readClipImageSettings(found.preprocessor);
  const source: ModelSource = { id, variant: 'fp32', repository: checker.repository, revision: checker.revision, patterns: checker.files, approximateBytes: checker.approximateBytes, note: checker.note };
  await writeSourceRecord(staging, source, files);
  await rename(staging, target);
  const bytes = files.reduce((sum, file) => sum + (file.size ?? 0), 0);
  return { id, dir: target, bytes, files: files.length, source: `${checker.repository}@${checker.revision}` };
}

async function downloadUpscaler(id: string, upscaler: CatalogUpscaler, options: DownloadOptions): Promise<DownloadReport> {
  if ((await listInstalledUpscalers(options.modelsDir)).includes(id)) throw new UserError(`the upscaler ${id} is already installed; remove it first to fetch it again`);
  const { source } = upscaler;
  let remote: RemoteFile;
  let described: string;
  if ('github' in source) {
    remote = {
      path: basename(source.path),
      url: `${options.hosts.githubRawUrl.replace(/\/$/, '')}/${source.github}/${source.revision}/${source.path}`,
      headers: {},
      ...(source.size === undefined ? {} : { size: source.size }),
      ...(source.sha256 === undefined ? {} : { check: { kind: 'sha256' as const, hex: source.sha256 } }),
    };
    described = `github.com/${source.github}/${source.path}`;
  } else {
    // The listing names the file with its size and SHA-256; it is never empty (that is an error of its own).
    [remote] = await listHubFiles(options.hosts, source.repository, source.revision, [source.path]);
    described = `${source.repository}/${source.path}`;
  }
  const staging = await fetchIntoStaging([remote], stagingDir(options.modelsDir, join('upscalers', id)), options);
  const downloaded = join(staging, remote.path);
  const report = await convertAndInstall(downloaded, id, options.modelsDir, { replace: true, source: described });
  await rm(staging, { recursive: true, force: true });
  return { id, dir: report.dir, bytes: report.bytes, files: 1, source: described };
}

/** Fetches the files into a staging folder; a download that fails before fetching anything leaves no folder behind. */
async function fetchIntoStaging(files: readonly RemoteFile[], staging: string, options: DownloadOptions): Promise<string> {
  await mkdir(staging, { recursive: true });
  try {
    await fetchAll(files, staging, options);
  } catch (error) {
    await removeEmptyFolders(staging, options.modelsDir);
    throw error;
  }
  return staging;
}

/** Removes `dir` and its parents up to (not including) `root` while they are empty: a download that fetched nothing leaves nothing. */
async function removeEmptyFolders(dir: string, root: string): Promise<void> {
  for (let at = resolve(dir); at !== resolve(root) && at.startsWith(resolve(root)); at = dirname(at)) {
    try {
      await rmdir(at);
    } catch {
      return;
    }
  }
}

/** Downloads every file that is not complete yet, after checking that what is left fits on the disk. */
async function fetchAll(files: readonly RemoteFile[], staging: string, options: DownloadOptions): Promise<void> {
  const onDisk = await Promise.all(files.map(async (file) => (await sizeOf(join(staging, file.path))) ?? (await sizeOf(partialPath(join(staging, file.path)))) ?? 0));
  const known = files.every((file) => file.size !== undefined);
  const total = known ? files.reduce((sum, file) => sum + (file.size ?? 0), 0) : undefined;
  const remaining = files.reduce((sum, file, i) => sum + Math.max(0, (file.size ?? 0) - onDisk[i]), 0);
  const free = await (options.freeBytes ?? freeDiskBytes)(staging);
  if (remaining + DISK_MARGIN_BYTES > free) {
    throw new UserError(`this download needs ${formatBytes(remaining + DISK_MARGIN_BYTES)} free in ${resolve(options.modelsDir)}, and ${formatBytes(free)} is; free some space, or point MODELS_DIR at a bigger disk`);
  }
  const done = [...onDisk];
  for (const [i, file] of files.entries()) {
    const dest = join(staging, file.path);
    const finished = await sizeOf(dest);
    // A file finished by an earlier run was checked then; one of another size belongs to another revision.
    if (finished !== undefined && (file.size === undefined || finished === file.size)) continue;
    if (finished !== undefined) await rm(dest);
    await downloadFile(file, dest, {
      onBytes: (bytes) => {
        done[i] = bytes;
        options.onProgress?.({ file: file.path, doneBytes: done.reduce((a, b) => a + b, 0), totalBytes: total });
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }
}

export async function freeDiskBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}
