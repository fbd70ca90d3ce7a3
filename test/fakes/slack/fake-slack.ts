import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A loopback Slack for the tests: the Web API methods the bot calls under /api/, the upload URLs of the external file
 * upload, response_urls, and the Socket Mode WebSocket, enough for the real Bolt app to run against it. Every call is
 * recorded. Faults can be switched on per method: Slack error codes and 429s with Retry-After.
 */

export interface RecordedCall {
  readonly method: string;
  readonly args: Record<string, unknown>;
  readonly at: number;
}

export interface StoredMessage {
  readonly channel: string;
  readonly ts: string;
  readonly threadTs: string | undefined;
  text: string;
  blocks: unknown[];
  /** Every version of the message, the first one posted first. */
  readonly versions: { text: string; blocks: unknown[] }[];
}

export interface StoredFile {
  readonly id: string;
  readonly filename: string;
  readonly declaredLength: number;
  bytes: Buffer | undefined;
  shared?: { channel: string; threadTs: string | undefined; initialComment: string | undefined; title: string | undefined };
}

export interface Fault {
  readonly method: string;
  readonly error?: string;
  readonly retryAfter?: number;
  /** Answer this late, so that the app has moved on before the answer arrives. */
  readonly delayMs?: number;
  remaining: number;
}

export const FAKE_TEAM_ID = 'T0000FAKE';
export const FAKE_CHANNEL_ID = 'C0000GENERAL';
export const FAKE_CHANNEL_NAME = 'general';
export const FAKE_TEAM_NAME = 'Fake team';

export class FakeSlack {
  readonly botToken = 'xoxb-fake-bot-token';
  readonly appToken = 'xapp-fake-app-token';
  readonly botUserId = 'U0000IMAGINE';
  readonly calls: RecordedCall[] = [];
  /** Channels the bot is a member of (and DMs it opened). */
  readonly memberOf = new Set<string>([FAKE_CHANNEL_ID]);
  /** Channels that exist but that the bot is not in: not_in_channel. Anything else unknown: channel_not_found. */
  readonly notMemberOf = new Set<string>();
  readonly messages = new Map<string, StoredMessage>();
  readonly files = new Map<string, StoredFile>();
  readonly ephemerals: { channel: string; user: string; text: string }[] = [];
  /** What arrived at each response_url, by its id. */
  readonly responses = new Map<string, Record<string, unknown>[]>();
  readonly faults: Fault[] = [];
  /** Users whose direct message the bot may not open. */
  readonly dmRefused = new Set<string>();
  /** Files people shared in the workspace (not the bot's uploads), served to the bot token only. */
  readonly #sharedFiles = new Map<string, { readonly name: string; readonly bytes: Uint8Array; readonly size: number; readonly owner: string; readonly channels: readonly string[] }>();
  /** How many times each shared file was downloaded. */
  readonly fileDownloads = new Map<string, number>();
  #server: Server | undefined;
  #sockets = new WebSocketServer({ noServer: true });
  #connected: WebSocket[] = [];
  #waitingForAck = new Map<string, (payload: unknown) => void>();
  #waitingForConnection: (() => void)[] = [];
  #sequence = 0;

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api/`;
  }

  async start(): Promise<void> {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#server.on('upgrade', (request, socket, head) => {
      if (!request.url?.startsWith('/socket')) {
        socket.destroy();
        return;
      }
      this.#sockets.handleUpgrade(request, socket, head, (ws) => { this.#connect(ws); });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.#connected) socket.terminate();
    this.#server?.closeAllConnections();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  }

  /** The next `times` calls of `method` fail with a Slack error code, or with 429 and Retry-After seconds. */
  fail(method: string, fault: ({ error: string } | { retryAfter: number }) & { delayMs?: number }, times = 1): void {
    this.faults.push({ method, ...fault, remaining: times });
  }

  /** A response_url of this fake, as Slack puts one into a slash command or a button payload. */
  newResponseUrl(): { id: string; url: string } {
    const id = randomUUID();
    this.responses.set(id, []);
    return { id, url: `${this.baseUrl}/respond/${id}` };
  }

  /**
   * A file someone shared in the workspace, with its link as "Copy link to file" gives it; `size` as files.info reports
   * it; by `owner` (ana by default), shared in `channels` (the general channel by default).
   */
  shareFile(name: string, bytes: Uint8Array, size = bytes.length, where: { readonly owner?: string; readonly channels?: readonly string[] } = {}): { id: string; permalink: string } {
    const id = `F${String(++this.#sequence).padStart(8, '0')}`;
    this.#sharedFiles.set(id, { name, bytes, size, owner: where.owner ?? 'U00000ANA', channels: where.channels ?? [FAKE_CHANNEL_ID] });
    return { id, permalink: `https://fake-team.slack.com/files/U00000ANA/${id}/${encodeURIComponent(name)}` };
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  messagesIn(channel: string): StoredMessage[] {
    return [...this.messages.values()].filter((message) => message.channel === channel);
  }

  /** Resolves when a Socket Mode client has connected and been greeted. */
  async socketConnected(): Promise<void> {
    if (this.#connected.length > 0) return;
    await new Promise<void>((resolve) => this.#waitingForConnection.push(resolve));
  }

  /** Sends a Socket Mode envelope (slash_commands, interactive, events_api) and resolves with the app's ack payload. */
  async sendEnvelope(type: string, payload: unknown): Promise<unknown> {
    const socket = this.#connected.at(-1);
    if (socket === undefined) throw new Error('no Socket Mode client is connected');
    const envelopeId = randomUUID();
    const acked = new Promise<unknown>((resolve) => this.#waitingForAck.set(envelopeId, resolve));
    socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
    return acked;
  }

  #connect(socket: WebSocket): void {
    this.#connected.push(socket);
    socket.on('message', (data) => {
      const message = JSON.parse(Buffer.from(data as Buffer).toString('utf8')) as { envelope_id?: string; payload?: unknown };
      if (message.envelope_id === undefined) return;
      this.#waitingForAck.get(message.envelope_id)?.(message.payload);
      this.#waitingForAck.delete(message.envelope_id);
    });
    socket.on('close', () => { this.#connected = this.#connected.filter((open) => open !== socket); });
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake-slack', approximate_connection_time: 3600 }, connection_info: { app_id: 'A0000FAKE' } }));
    for (const resolve of this.#waitingForConnection.splice(0)) resolve();
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const path = (request.url ?? '/').split('?')[0];
    if (path.startsWith('/upload/')) {
      const file = this.files.get(path.slice('/upload/'.length));
      if (file === undefined) { send(response, 404, 'text/plain', 'no such upload'); return; }
      // Slack takes the bytes raw or as a multipart form with one file (the SDK sends the form).
      file.bytes = uploadedBytes(request.headers['content-type'] ?? '', body);
      send(response, 200, 'text/plain', `OK - ${file.bytes.length}`); return;
    }
    if (path.startsWith('/files-pri/')) {
      const id = /^\/files-pri\/T[A-Z0-9]+-(F[A-Z0-9]+)\//.exec(path)?.[1] ?? '';
      const file = this.#sharedFiles.get(id);
      this.fileDownloads.set(id, (this.fileDownloads.get(id) ?? 0) + 1);
      if (request.headers.authorization !== `Bearer ${this.botToken}`) { send(response, 302, 'text/plain', 'sign in'); return; }
      if (file === undefined) { send(response, 404, 'text/plain', 'no such file'); return; }
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(file.bytes);
      return;
    }
    if (path.startsWith('/respond/')) {
      const list = this.responses.get(path.slice('/respond/'.length));
      if (list === undefined) { send(response, 404, 'text/plain', 'expired_url'); return; }
      list.push(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      send(response, 200, 'text/plain', 'ok'); return;
    }
    if (!path.startsWith('/api/')) { send(response, 404, 'text/plain', 'not found'); return; }
    const method = path.slice('/api/'.length);
    const args = parseArgs(request.headers['content-type'] ?? '', body);
    this.calls.push({ method, args, at: Date.now() });
    const token = (request.headers.authorization ?? '').replace(/^Bearer /, '') || text(args.token);
    const expected = method === 'apps.connections.open' ? this.appToken : this.botToken;
    if (token !== expected) { json(response, { ok: false, error: 'invalid_auth' }); return; }
    const fault = this.faults.find((candidate) => candidate.method === method && candidate.remaining > 0);
    if (fault !== undefined) {
      fault.remaining -= 1;
      if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.retryAfter !== undefined) {
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(fault.retryAfter) });
        response.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      json(response, { ok: false, error: fault.error }); return;
    }
    json(response, this.#call(method, args));
  }

  #call(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.com/', team: 'Fake team', user: 'imagine', team_id: FAKE_TEAM_ID, user_id: this.botUserId, bot_id: 'B0000IMAGINE' };
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/socket?ticket=${randomUUID()}` };
      case 'chat.postMessage': {
        const channel = text(args.channel);
        const refused = this.#refuse(channel);
        if (refused !== undefined) return refused;
        const ts = this.#nextTs();
        const message: StoredMessage = { channel, ts, threadTs: optional(args.thread_ts), text: text(args.text), blocks: asArray(args.blocks), versions: [] };
        message.versions.push({ text: message.text, blocks: message.blocks });
        this.messages.set(`${channel}/${ts}`, message);
        return { ok: true, channel, ts, message: { text: message.text, ts } };
      }
      case 'chat.update': {
        const message = this.messages.get(`${text(args.channel)}/${text(args.ts)}`);
        if (message === undefined) return { ok: false, error: 'message_not_found' };
        message.text = text(args.text);
        message.blocks = asArray(args.blocks);
        message.versions.push({ text: message.text, blocks: message.blocks });
        return { ok: true, channel: message.channel, ts: message.ts };
      }
      case 'chat.delete': {
        const key = `${text(args.channel)}/${text(args.ts)}`;
        if (!this.messages.delete(key)) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: args.channel, ts: args.ts };
      }
      case 'chat.postEphemeral': {
        const channel = text(args.channel);
        const refused = this.#refuse(channel);
        if (refused !== undefined) return refused;
        this.ephemerals.push({ channel, user: text(args.user), text: text(args.text) });
        return { ok: true, message_ts: this.#nextTs() };
      }
      case 'conversations.info':
        return this.memberOf.has(text(args.channel)) || text(args.channel) === FAKE_CHANNEL_ID ? { ok: true, channel: { id: text(args.channel), name: FAKE_CHANNEL_NAME } } : { ok: false, error: 'channel_not_found' };
      case 'team.info':
        return { ok: true, team: { id: text(args.team), name: FAKE_TEAM_NAME, domain: 'fake' } };
      case 'chat.getPermalink': {
        const message = this.messages.get(`${text(args.channel)}/${text(args.message_ts)}`);
        if (message === undefined) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: message.channel, permalink: `https://fake.slack.com/archives/${message.channel}/p${message.ts.replace('.', '')}` };
      }
      case 'conversations.open': {
        const user = text(args.users);
        if (this.dmRefused.has(user)) return { ok: false, error: 'cannot_dm_bot' };
        const channel = `D${user}`;
        this.memberOf.add(channel);
        return { ok: true, channel: { id: channel } };
      }
      case 'files.getUploadURLExternal': {
        const id = `F${String(++this.#sequence).padStart(8, '0')}`;
        this.files.set(id, { id, filename: text(args.filename), declaredLength: Number(args.length), bytes: undefined });
        return { ok: true, upload_url: `${this.baseUrl}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const channel = optional(args.channel_id);
        if (channel !== undefined) {
          const refused = this.#refuse(channel);
          if (refused !== undefined) return refused;
        }
        const listed = asArray(args.files) as { id: string; title?: string }[];
        for (const entry of listed) {
          const file = this.files.get(entry.id);
          if (file?.bytes === undefined) return { ok: false, error: 'file_not_found' };
          if (file.bytes.length !== file.declaredLength) return { ok: false, error: 'file_upload_size_mismatch' };
          if (channel !== undefined) file.shared = { channel, threadTs: optional(args.thread_ts), initialComment: optional(args.initial_comment), title: entry.title };
        }
        return { ok: true, files: listed.map((entry) => ({ id: entry.id, title: entry.title })) };
      }
      case 'files.info': {
        const id = text(args.file);
        const file = this.#sharedFiles.get(id);
        if (file === undefined) return { ok: false, error: 'file_not_found' };
        return { ok: true, file: { id, name: file.name, size: file.size, user: file.owner, channels: file.channels, shares: { public: Object.fromEntries(file.channels.map((channel) => [channel, [{ ts: '1.1' }]])) }, url_private: `${this.baseUrl}/files-pri/T0FAKE-${id}/${encodeURIComponent(file.name)}`, url_private_download: `${this.baseUrl}/files-pri/T0FAKE-${id}/download/${encodeURIComponent(file.name)}` } };
      }
      case 'files.delete': {
        if (!this.files.delete(text(args.file))) return { ok: false, error: 'file_not_found' };
        return { ok: true };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  #refuse(channel: string): Record<string, unknown> | undefined {
    if (this.memberOf.has(channel)) return undefined;
    return { ok: false, error: this.notMemberOf.has(channel) ? 'not_in_channel' : 'channel_not_found' };
  }

  #nextTs(): string {
    return `${Math.floor(Date.now() / 1000)}.${String(++this.#sequence).padStart(6, '0')}`;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The file part of a multipart body (the SDK posts the upload as a form), or the body itself when it is raw. */
function uploadedBytes(contentType: string, body: Buffer): Buffer {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType);
  if (!contentType.startsWith('multipart/form-data') || boundary === null) return body;
  const delimiter = Buffer.from(`--${boundary[1]}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (part.subarray(0, headerEnd).toString('latin1').includes('filename=')) return Buffer.from(part.subarray(headerEnd + 4));
    start = next;
  }
  throw new Error('the multipart upload has no file');
}

/** Web API arguments, form-encoded (arrays and objects as JSON text, as the SDK sends them) or JSON. */
function parseArgs(contentType: string, body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (text === '') return {};
  if (contentType.includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = /^[[{]/.test(value) ? tryJson(value) : value;
  }
  return args;
}

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function optional(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : text(value);
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function json(response: ServerResponse, body: unknown): void {
  send(response, 200, 'application/json', JSON.stringify(body));
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType });
  response.end(body);
}
