import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { CheckResult } from './check-result.js';

const MINIMUM_NODE_MAJOR = 20;
const PACKAGES = ['onnxruntime-node', 'sharp', 'better-sqlite3', 'discord.js', '@slack/bolt', '@huggingface/tokenizers'] as const;

export function nodeCheck(version: string = process.versions.node): CheckResult {
  const major = Number(version.split('.')[0]);
  return major >= MINIMUM_NODE_MAJOR
    ? { status: 'ok', subject: 'node', detail: version }
    : { status: 'fail', subject: 'node', detail: `${version} is too old: install Node.js ${MINIMUM_NODE_MAJOR} or newer` };
}

/** The versions of the packages that matter for support questions, and whether each one loads. */
export async function packagesCheck(): Promise<CheckResult> {
  const require = createRequire(import.meta.url);
  const found: string[] = [];
  const missing: string[] = [];
  for (const name of PACKAGES) {
    try {
      const version = await packageVersion(require, name);
      found.push(name === 'sharp' ? `sharp ${version} (libvips ${sharp.versions.vips})` : `${name} ${version}`);
    } catch {
      missing.push(name);
    }
  }
  if (missing.length > 0) return { status: 'fail', subject: 'packages', detail: `${missing.join(', ')} cannot be loaded: run \`npm ci\`` };
  return { status: 'ok', subject: 'packages', detail: found.join(', ') };
}

/** Walks up from a package's entry point to its package.json: not every package exports that file. */
async function packageVersion(require: NodeJS.Require, name: string): Promise<string> {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === name && manifest.version !== undefined) return manifest.version;
    } catch {
      // No package.json at this level: keep walking up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json for ${name}`);
    dir = parent;
  }
}
