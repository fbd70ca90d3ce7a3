import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import { formatBytes } from '../imaging/encode-within-limit.js';
import { freeDiskBytes } from '../models/download/model-download.js';
import type { CheckResult } from './check-result.js';

/** The job database and the pictures live in DATA_DIR: it must take a file and give it back. */
export async function dataDirCheck(dataDir: string): Promise<CheckResult> {
  const subject = `DATA_DIR ${resolve(dataDir)}`;
  const probe = join(dataDir, `.doctor-${randomUUID()}`);
  try {
    await mkdir(dataDir, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe);
    return { status: 'ok', subject, detail: 'writable' };
  } catch (error) {
    return { status: 'fail', subject, detail: `not writable (${errorMessage(error)}): point DATA_DIR at a folder the bot may write` };
  }
}

/** Free space where models and pictures go; `needBytes` is what a missing default model will take. */
export async function diskCheck(label: string, dir: string, needBytes: number): Promise<CheckResult> {
  const subject = `free disk for ${label}`;
  try {
    const free = await freeDiskBytes(await existingAncestor(dir));
    if (free < needBytes) return { status: 'fail', subject, detail: `${formatBytes(free)} in ${resolve(dir)}, and ${formatBytes(needBytes)} is needed: free some space or move ${label === 'models' ? 'MODELS_DIR' : 'DATA_DIR'}` };
    return { status: free < 2 * 1024 ** 3 ? 'warn' : 'ok', subject, detail: `${formatBytes(free)} in ${resolve(dir)}` };
  } catch (error) {
    return { status: 'warn', subject, detail: `could not measure (${errorMessage(error)})` };
  }
}

/** statfs needs a path that exists: the folder itself, or the nearest parent that does. */
async function existingAncestor(dir: string): Promise<string> {
  let current = resolve(dir);
  while (!(await pathExists(current))) {
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}
