import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The libraries onnxruntime-node needs for `executionProviders: ['cuda']`. Too large for the npm registry, they are not
 * in the package: its install script fetches them from NuGet, and only on linux/x64 (no other platform has a CUDA
 * build of onnxruntime-node).
 */
export const CUDA_PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'] as const;

/** The only platform onnxruntime-node has a CUDA provider for. */
export const CUDA_PLATFORM = 'linux/x64';

/** onnxruntime-node's folder, found the way Node finds the package. */
export function onnxruntimeNodeDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(dirname(require.resolve('onnxruntime-node')));
}

/** Where the native binding and the provider libraries of this platform live. */
export function onnxruntimeBinDir(platform = `${process.platform}/${process.arch}`): string {
  return join(onnxruntimeNodeDir(), 'bin', 'napi-v6', platform);
}

/** The provider libraries that are not there (all of them before `npm run install:cuda`). */
export function missingCudaProviderFiles(): string[] {
  const dir = onnxruntimeBinDir(CUDA_PLATFORM);
  return CUDA_PROVIDER_FILES.filter((file) => !existsSync(join(dir, file)));
}
