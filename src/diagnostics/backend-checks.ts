import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { env, InferenceSession, Tensor } from '../diffusion/onnx/onnx-runtime.js';
import { errorMessage } from '../core/errors.js';
import { DEVICES, type Device } from '../diffusion/onnx/execution-device.js';
import { OnnxGraphBuilder } from '../onnx-writer/onnx-graph-builder.js';
import type { CheckResult } from './check-result.js';
import { CUDA_PLATFORM, missingCudaProviderFiles } from './cuda-provider-files.js';

const PROBE_TIMEOUT_MS = 20_000;

const HOW_TO_ENABLE: Readonly<Record<Device, () => string>> = {
  cpu: () => 'reinstall with `npm ci`',
  cuda: howToEnableCuda,
  webgpu: () => 'needs a GPU with Vulkan drivers (libvulkan) on Linux',
};

/** The provider's libraries missing, or present and refused: two different fixes. */
function howToEnableCuda(): string {
  if (`${process.platform}/${process.arch}` !== CUDA_PLATFORM) return `onnxruntime-node has a CUDA provider for ${CUDA_PLATFORM} only`;
  if (missingCudaProviderFiles().length > 0) return 'its provider is not installed: run `npm run install:cuda` (with CUDA 12 and cuDNN 9 on the machine)';
  return 'its provider is installed but did not load: install CUDA 12 and cuDNN 9 where the loader finds them (LD_LIBRARY_PATH), and an NVIDIA driver';
}

/** A session of one Add node on each execution provider alone, run once: proof that the provider works here. */
export async function backendChecks(configured: Device): Promise<CheckResult[]> {
  const graph = new OnnxGraphBuilder();
  const input = graph.input('x', 'float32', [2]);
  graph.output(graph.node('Add', [input, input], {}, 'y'), 'float32', [2]);
  const model = graph.toBytes();
  // A missing provider is an expected answer here, not an error for the log: keep onnxruntime's own report quiet.
  env.logLevel = 'fatal';
  const results: CheckResult[] = [];
  for (const device of DEVICES) {
    const subject = `backend ${device}${device === configured ? ' (DEVICE)' : ''}`;
    // Without the loader, onnxruntime's WebGPU (Dawn) prints its own native warning into the checks: say it here instead.
    if (device === 'webgpu' && vulkanLoaderMissing()) {
      results.push({ status: device === configured ? 'fail' : 'off', subject, detail: `no Vulkan loader (libvulkan.so.1) on this machine: \`apt-get install libvulkan1\` and the GPU driver's Vulkan support${device === configured ? ', or set DEVICE to one that works' : ''}` });
      continue;
    }
    const started = performance.now();
    try {
      await withTimeout(probe(model, device), PROBE_TIMEOUT_MS);
      results.push({ status: 'ok', subject, detail: `a one-op session ran in ${Math.round(performance.now() - started)} ms` });
    } catch (error) {
      const reason = shortReason(errorMessage(error));
      results.push({ status: device === configured ? 'fail' : 'off', subject, detail: `not available (${reason}); ${HOW_TO_ENABLE[device]()}${device === configured ? ', or set DEVICE to one that works' : ''}` });
    }
  }
  return results;
}

/** The folders Linux's loader searches for libvulkan.so.1, LD_LIBRARY_PATH's first. */
function vulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const folders = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((dir) => dir !== ''), '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/lib', '/usr/local/lib'];
  return !folders.some((dir) => existsSync(join(dir, 'libvulkan.so.1')));
}

async function probe(model: Uint8Array, device: Device): Promise<void> {
  const session = await InferenceSession.create(model, { executionProviders: [device], logSeverityLevel: 4 });
  try {
    const output = await session.run({ x: new Tensor('float32', new Float32Array([1, 2]), [2]) });
    const values = output.y.data as Float32Array;
    if (values[0] !== 2 || values[1] !== 4) throw new Error(`computed ${values[0]}, ${values[1]} instead of 2, 4`);
  } finally {
    await session.release();
  }
}

/** onnxruntime's errors start with a source path; the phrase after it is what a reader needs. */
function shortReason(message: string): string {
  const phrase = /Failed to [^.:\n]+/.exec(message);
  return (phrase?.[0] ?? message.split('\n')[0]).slice(0, 160);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer in ${ms / 1000} s`)); }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
