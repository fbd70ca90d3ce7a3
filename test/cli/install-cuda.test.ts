import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CUDA_PLATFORM, missingCudaProviderFiles } from '../../src/diagnostics/cuda-provider-files.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = `${process.platform}/${process.arch}` !== CUDA_PLATFORM ? `onnxruntime-node has no CUDA provider for ${process.platform}/${process.arch}` : missingCudaProviderFiles().length === 0 ? 'the CUDA provider is installed here' : false;

test('npm run install:cuda really asks NuGet for the CUDA provider under npm, and says it failed when it cannot get it', { skip }, async () => {
  // A proxy that notes where the installer wanted to go and refuses: no network is reached.
  const asked: string[] = [];
  const proxy = createServer((request, response) => {
    asked.push(`${request.method ?? ''} ${request.url ?? ''}`);
    response.writeHead(502).end();
  });
  proxy.on('connect', (request, socket) => {
    asked.push(`CONNECT ${request.url ?? ''}`);
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    // Through npm, as a user runs it: npm's own variables are what made the old command a silent no-op.
    const child = spawn('npm', ['run', '--silent', 'install:cuda'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GLOBAL_AGENT_HTTPS_PROXY: proxyUrl, GLOBAL_AGENT_HTTP_PROXY: proxyUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1, `${stdout}\n${stderr}`);
    assert.ok(asked.some((request) => request.includes('api.nuget.org')), `it tried NuGet: ${asked.join(', ')}`);
    assert.match(stdout, /fetching onnxruntime’s CUDA 12 provider/);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /^install:cuda: the CUDA 12 provider was not installed \(libonnxruntime_providers_cuda\.so.* missing\): .*api\.nuget\.org/);
  } finally {
    await new Promise((resolve) => proxy.close(resolve));
  }
});
