import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { cancellationPoint } from '../../src/core/errors.js';
import { createRgbImage } from '../../src/core/rgb-image.js';
import type { Job } from '../../src/jobs/job.js';
import type { CreateRenderer } from '../../src/jobs/renderer/renderer.js';
import { fakeResult } from './fake-runner.js';

/**
 * A renderer module for a RendererHost whose "model calls" hold their thread as onnxruntime's do: synchronously,
 * with no event loop turning. What a job does depends on its prompt:
 * - `block`: every step blocks until the test writes `<job id>.release-<step>` into the control folder;
 *   `block-once` only on the job's first attempt;
 * - `crash`: the process kills itself (SIGKILL, as the out-of-memory killer does) during step 1 of the first
 *   attempt; `crash-always` on every attempt;
 * - anything else: three quick steps.
 * Before each step it writes `<job id>.step-<n>` (and `<job id>.blocked-<n>` when it blocks), and between steps it
 * stops at a cancellation point as the engine does. With `slowPreload`, loading the default model reports the
 * text encoder, then the UNet, which holds the thread (writing `preload-blocked`) until `preload-release` exists.
 * Settings: `{ controlDir, steps?, slowPreload? }`.
 */
export const createRenderer: CreateRenderer = (input) => {
  const { controlDir, steps = 3, slowPreload = false } = input as { controlDir: string; steps?: number; slowPreload?: boolean };
  const marker = (job: Job, name: string) => join(controlDir, `${job.id}.${name}`);
  return {
    ...(slowPreload
      ? {
          preload: async (onLoading) => {
            for (const component of ['text_encoder', 'unet']) {
              onLoading({ stage: 'loading', component, model: 'fixture' });
              // As onnxruntime's loads do: the load starts on a later turn of the event loop, then holds the thread.
              await new Promise((resolve) => setImmediate(resolve));
            }
            writeFileSync(join(controlDir, 'preload-blocked'), '');
            holdThreadUntil(join(controlDir, 'preload-release'));
          },
        }
      : {}),
    render: async (job, { signal, onProgress }) => {
      const { prompt } = job.request;
      const blocks = prompt.startsWith('block') && (prompt !== 'block-once' || job.attempts <= 1);
      for (let step = 1; step <= steps; step++) {
        await cancellationPoint(signal);
        writeFileSync(marker(job, `step-${step}`), '');
        if (prompt === 'crash-always' || (prompt === 'crash' && job.attempts <= 1)) process.kill(process.pid, 'SIGKILL');
        if (blocks) {
          writeFileSync(marker(job, `blocked-${step}`), '');
          holdThreadUntil(marker(job, `release-${step}`));
        }
        onProgress({ stage: 'denoising', step, total: steps, preview: createRgbImage(2, 2, new Uint8Array(12).fill(step * 40)) });
      }
      const bytes = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
      const { format, settings, upscaler, parameters, droppedTokens, safety } = fakeResult(job);
      const timings = { loadMs: 0, encodeMs: 0, vaeEncodeMs: 0, denoiseMs: 0, decodeMs: 0, upscaleMs: 0, encodeImageMs: 0, safetyMs: 0 };
      return {
        file: { bytes, format, settings, width: 8, height: 8, droppedTokens, parameters, upscaler, timings },
        result: { format, bytes: bytes.length, width: 8, height: 8, settings, upscaler, parameters, droppedTokens, durationMs: 10, ...(safety === undefined ? {} : { safety }) },
      };
    },
    release: () => Promise.resolve(),
  };
};

/** Sleeps the thread itself (no callbacks, no messages) until the file exists, or two minutes at most. */
function holdThreadUntil(file: string): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const giveUpAt = Date.now() + 120_000;
  while (!existsSync(file) && Date.now() < giveUpAt) Atomics.wait(sleeper, 0, 0, 5);
}
