import { randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { downloadFile } from '../src/models/download/file-download.js';
import { listHubFiles } from '../src/models/download/remote-files.js';
import { FakeHub } from '../test/fakes/hub/fake-hub.js';

export interface DownloadRow {
  readonly case: string;
  readonly ms: number;
  readonly mibPerSecond: number;
}

const SIZE = 512 * 2 ** 20;
const RUNS = 3;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1];
}

/**
 * The downloader's cost over the network's: a 512 MiB file over loopback (where the network costs least, so the
 * downloader's own work shows most), fetched bare into a file, then by downloadFile with its SHA-256 check, then by
 * downloadFile with the connection cut halfway and resumed.
 */
export async function benchDownloads(): Promise<DownloadRow[]> {
  const hub = new FakeHub();
  await hub.start();
  const dir = await mkdtemp(join(tmpdir(), 'imagine-download-bench-'));
  try {
    hub.publishFile('bench/model', 'main', 'unet/model.onnx_data', randomFillSync(Buffer.alloc(SIZE)));
    const [remote] = await listHubFiles({ hubUrl: hub.url, githubRawUrl: hub.githubUrl }, 'bench/model', 'main', ['unet/*']);
    const cases: [string, (dest: string) => Promise<void>][] = [
      [
        'fetch → file (no check)',
        async (dest) => {
          const response = await fetch(remote.url);
          await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(dest));
        },
      ],
      ['downloadFile (SHA-256 checked)', (dest) => downloadFile(remote, dest)],
      [
        'downloadFile, cut at 50 % and resumed',
        (dest) => {
          hub.cuts.set('unet/model.onnx_data', { afterBytes: SIZE / 2, times: 1 });
          return downloadFile(remote, dest);
        },
      ],
    ];
    const rows: DownloadRow[] = [];
    for (const [name, run] of cases) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const dest = join(dir, `run-${i}`);
        const started = performance.now();
        await run(dest);
        times.push(performance.now() - started);
        await rm(dest, { force: true });
      }
      const ms = median(times);
      rows.push({ case: name, ms, mibPerSecond: SIZE / 2 ** 20 / (ms / 1000) });
    }
    return rows;
  } finally {
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
