import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CUDA_PLATFORM, CUDA_PROVIDER_FILES, missingCudaProviderFiles, onnxruntimeBinDir, onnxruntimeNodeDir } from '../diagnostics/cuda-provider-files.js';

/*
 * `npm run install:cuda`: onnxruntime-node's own install script, run so that it really installs the CUDA 12 provider.
 * Run under npm with ONNXRUNTIME_NODE_INSTALL=cuda12 (what its README says), onnxruntime-node 1.30 reads no value from
 * that flag and, seeing npm's variables, takes the run for a local install and exits 0 having done nothing. Its CUDA
 * flag (`ONNXRUNTIME_NODE_INSTALL_CUDA=v12`) is read correctly, and npm's variables are left out of its environment.
 * The result is checked on disk, never taken from the exit code alone.
 */

function fail(message: string, code: number): never {
  process.stderr.write(`install:cuda: ${message}\n`);
  process.exit(code);
}

const platform = `${process.platform}/${process.arch}`;
if (platform !== CUDA_PLATFORM) {
  fail(`onnxruntime-node has a CUDA provider for ${CUDA_PLATFORM} only, and this is ${platform}: use DEVICE=webgpu for a GPU here, or DEVICE=cpu`, 2);
}
const before = missingCudaProviderFiles();
if (before.length === 0) {
  process.stdout.write(`install:cuda: the CUDA 12 provider is already installed in ${onnxruntimeBinDir()}; nothing to do\n`);
  process.exit(0);
}

const environment: NodeJS.ProcessEnv = {};
for (const [name, value] of Object.entries(process.env)) {
  if (!name.startsWith('npm_') && !name.startsWith('ONNXRUNTIME_NODE_INSTALL')) environment[name] = value;
}
environment.ONNXRUNTIME_NODE_INSTALL_CUDA = 'v12';
process.stdout.write('install:cuda: fetching onnxruntime’s CUDA 12 provider (about 300 MB from api.nuget.org; a proxy is taken from GLOBAL_AGENT_HTTPS_PROXY)…\n');
const child = spawn(process.execPath, [join(onnxruntimeNodeDir(), 'script', 'install.js')], { env: environment, stdio: ['ignore', 'inherit', 'pipe'] });
let errors = '';
// Its failures are stack traces of a rejected promise: kept for the one line below, not shown as they are.
child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
const missing = missingCudaProviderFiles();
if (code !== 0 || missing.length > 0) {
  const cause = /(?:Error|error)[^\n]*/.exec(errors)?.[0].slice(0, 300) ?? `its install script exited with code ${String(code)}`;
  fail(`the CUDA 12 provider was not installed (${missing.join(', ')} missing): ${cause}. This machine must reach api.nuget.org (or set GLOBAL_AGENT_HTTPS_PROXY); run it again to retry`, 1);
}
const megabytes = CUDA_PROVIDER_FILES.reduce((sum, file) => sum + statSync(join(onnxruntimeBinDir(), file)).size, 0) / 2 ** 20;
process.stdout.write(`install:cuda: installed ${CUDA_PROVIDER_FILES.join(', ')} (${megabytes.toFixed(0)} MB) in ${onnxruntimeBinDir()}.\nNext: CUDA 12 and cuDNN 9 must be installed; set DEVICE=cuda and run \`npx imagine doctor\`, which runs a session on it.\n`);
