import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

/*
 * The floors of docs/layers.md, highest first: a module imports only from its own floor or below. Read from the
 * sources themselves, so a new upward import fails here, with its file and target named.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const FLOORS: readonly (readonly [floor: number, paths: readonly string[]])[] = [
  [8, ['src/main.ts', 'src/worker.ts', 'src/render-setup.ts', 'src/cli/']],
  [7, ['src/diagnostics/']],
  [6, ['src/platforms/', 'src/web/']],
  [5.5, ['src/config.ts']],
  [5, ['commands/']],
  [4, ['src/jobs/']],
  [3, ['src/models/']],
  [2, ['src/diffusion/', 'src/upscale/', 'src/safety/', 'src/imaging/', 'src/onnx-writer/']],
  [1, ['src/core/']],
];

function floorOf(path: string): number | undefined {
  return FLOORS.find(([, paths]) => paths.some((prefix) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix)))?.[0];
}

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

test('every module of src/ and commands/ has a floor, and no import runs from a lower floor to a higher one', () => {
  const files = [...sources('src'), ...sources('commands')];
  assert.ok(files.length > 100);
  const upward: string[] = [];
  for (const file of files) {
    const floor = floorOf(file);
    assert.notEqual(floor, undefined, `${file} is on no floor of docs/layers.md`);
    for (const match of readFileSync(join(ROOT, file), 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), match[1].replace(/\.js$/, '.ts')));
      const targetFloor = floorOf(target);
      if (targetFloor === undefined || targetFloor > floor!) upward.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(upward, []);
});
