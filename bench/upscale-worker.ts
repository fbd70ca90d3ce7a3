import { performance } from 'node:perf_hooks';
import { createRgbImage } from '../src/core/rgb-image.js';
import { parseDevice } from '../src/diffusion/onnx/execution-device.js';
import { SessionLoader } from '../src/diffusion/onnx/session-loader.js';
import { findPreset } from '../src/upscale/upscaler-descriptor.js';
import { Upscaler } from '../src/upscale/upscaler.js';

/**
 * One upscale in a process of its own, so that its peak RSS is its own:
 * `upscale-worker.ts DIR PRESET SIZE TILE DEVICE REPEATS` prints {ms (median), peakRssMiB, device}.
 */
const [dir, preset, size, tile, device, repeats] = process.argv.slice(2) as [string, string, string, string, string, string];
const side = Number(size);
const image = createRgbImage(side, side, Uint8Array.from({ length: side * side * 3 }, (_, i) => (i * 131 + (i >> 9)) % 256));
const loader = new SessionLoader({ device: parseDevice(device), threads: 0 });
const upscaler = await Upscaler.open(dir, { ...findPreset(preset), name: preset }, loader);
const times: number[] = [];
for (let i = 0; i < Number(repeats); i++) {
  const start = performance.now();
  await upscaler.upscale(image, { tileSize: Number(tile) });
  times.push(performance.now() - start);
}
await upscaler.release();
times.sort((a, b) => a - b);
process.stdout.write(`${JSON.stringify({ ms: times[Math.floor(times.length / 2)], peakRssMiB: process.resourceUsage().maxRSS / 1024, device: loader.device })}\n`);
