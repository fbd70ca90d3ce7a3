import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';

/**
 * A loopback Hugging Face hub and GitHub raw host for the download tests: the tree API (`/api/models/<repo>/tree/
 * <revision>?recursive=true`, paginated with a Link header), `/<repo>/resolve/<revision>/<path>` with HTTP Range,
 * and `/gh/<owner>/<repo>/<revision>/<path>`. Files above 1 KiB are listed as LFS files with their SHA-256, the rest
 * with their git blob SHA-1, as the hub does. Faults: gated repositories, connections cut after N bytes, corrupted
 * bytes.
 */

export interface RecordedHubRequest {
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

interface Repository {
  readonly files: Map<string, Buffer>;
  /** The token that may read it, when gated. */
  gatedFor?: string;
}

const LFS_THRESHOLD = 1024;

export class FakeHub {
  readonly requests: RecordedHubRequest[] = [];
  /** Repository "owner/name@revision" → files. */
  readonly #repositories = new Map<string, Repository>();
  /** GitHub "owner/repo/revision/path" → bytes. */
  readonly github = new Map<string, Buffer>();
  /** Cut the connection after this many bytes of a file's body (by file name or path), this many times. */
  readonly cuts = new Map<string, { afterBytes: number; times: number }>();
  /** Serve these files (by file name or path) with one byte changed; the listing keeps the true checksum. */
  readonly corrupted = new Set<string>();
  pageSize = 4;
  #server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  get githubUrl(): string {
    return `${this.url}/gh`;
  }

  async start(): Promise<void> {
    this.#server = createServer((request, response) => { this.#handle(request, response); });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  }

  /** Publishes every file under `dir` (and any extra files) as a repository at a revision. */
  async publishFolder(repository: string, revision: string, dir: string, extra: Record<string, Buffer> = {}): Promise<void> {
    const files = new Map<string, Buffer>();
    for (const file of await walk(dir)) files.set(relative(dir, file).split(sep).join('/'), await readFile(file));
    for (const [path, bytes] of Object.entries(extra)) files.set(path, bytes);
    this.#repositories.set(`${repository}@${revision}`, { files });
  }

  publishFile(repository: string, revision: string, path: string, bytes: Buffer): void {
    const key = `${repository}@${revision}`;
    const repo = this.#repositories.get(key) ?? { files: new Map<string, Buffer>() };
    repo.files.set(path, bytes);
    this.#repositories.set(key, repo);
  }

  gate(repository: string, revision: string, token: string): void {
    const repo = this.#repositories.get(`${repository}@${revision}`);
    if (repo === undefined) throw new Error(`no repository ${repository}@${revision}`);
    repo.gatedFor = token;
  }

  downloadsOf(path: string): RecordedHubRequest[] {
    return this.requests.filter((request) => request.path.includes('/resolve/') && request.path.endsWith(`/${path}`));
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    const path = decodeURIComponent(url.pathname);
    this.requests.push({ path, range: request.headers.range, authorization: request.headers.authorization });
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(path);
    if (tree !== null) {
      this.#tree(tree[1], tree[2], url, request, response);
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve !== null) {
      const repo = this.#readable(resolve[1], resolve[2], request, response);
      if (repo === undefined) return;
      this.#serve(resolve[3], resolve[3].split('/').at(-1) ?? '', repo.files.get(resolve[3]), request, response);
    } else if (path.startsWith('/gh/')) {
      this.#serve(path, path.split('/').at(-1) ?? '', this.github.get(path.slice('/gh/'.length)), request, response);
    } else {
      send(response, 404, { error: 'Not found' });
    }
  }

  #readable(repository: string, revision: string, request: IncomingMessage, response: ServerResponse): Repository | undefined {
    const repo = this.#repositories.get(`${repository}@${revision}`);
    if (repo === undefined) {
      send(response, 404, { error: 'Repository not found' });
      return undefined;
    }
    if (repo.gatedFor !== undefined && request.headers.authorization !== `Bearer ${repo.gatedFor}`) {
      send(response, 401, { error: `Access to model ${repository} is restricted. You must have access to it and be authenticated to access it. Please log in.` });
      return undefined;
    }
    return repo;
  }

  #tree(repository: string, revision: string, url: URL, request: IncomingMessage, response: ServerResponse): void {
    const repo = this.#readable(repository, revision, request, response);
    if (repo === undefined) return;
    const entries: unknown[] = [];
    const directories = new Set<string>();
    for (const [path, bytes] of [...repo.files].sort(([a], [b]) => a.localeCompare(b))) {
      const parts = path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        if (!directories.has(dir)) {
          directories.add(dir);
          entries.push({ type: 'directory', oid: sha1(dir), size: 0, path: dir });
        }
      }
      const gitOid = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
      entries.push({
        type: 'file',
        oid: gitOid,
        size: bytes.length,
        path,
        ...(bytes.length > LFS_THRESHOLD ? { lfs: { oid: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, pointerSize: 134 } } : {}),
      });
    }
    const start = Number(url.searchParams.get('cursor') ?? '0');
    const page = entries.slice(start, start + this.pageSize);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (start + this.pageSize < entries.length) {
      const next = new URL(url);
      next.searchParams.set('cursor', String(start + this.pageSize));
      headers.link = `<${next.href}>; rel="next"`;
    }
    response.writeHead(200, headers);
    response.end(JSON.stringify(page));
  }

  #serve(key: string, name: string, bytes: Buffer | undefined, request: IncomingMessage, response: ServerResponse): void {
    if (bytes === undefined) {
      send(response, 404, { error: 'Entry not found' });
      return;
    }
    let body = bytes;
    if (this.corrupted.has(name) || this.corrupted.has(key)) {
      body = Buffer.from(bytes);
      body[body.length >> 1] ^= 0xff;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    if (range !== null) {
      start = Number(range[1]);
      if (start >= body.length) {
        response.writeHead(416, { 'content-range': `bytes */${body.length}` });
        response.end();
        return;
      }
      response.writeHead(206, { 'content-type': 'application/octet-stream', 'content-length': String(body.length - start), 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'accept-ranges': 'bytes' });
    } else {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'accept-ranges': 'bytes' });
    }
    const cut = this.cuts.get(name) ?? this.cuts.get(key);
    if (cut !== undefined && cut.times > 0) {
      // Nothing past `afterBytes` gets through while the cut lasts.
      cut.times -= 1;
      // The bytes before the cut, then the connection closes (FIN, after them): the client receives exactly
      // `afterBytes` bytes however loaded the machine is, and the response ends short of its Content-Length.
      response.write(body.subarray(start, Math.max(start, cut.afterBytes)));
      response.socket?.end();
      return;
    }
    response.end(body.subarray(start));
  }
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function walk(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    if ((await stat(path)).isDirectory()) files.push(...(await walk(path)));
    else files.push(path);
  }
  return files;
}
