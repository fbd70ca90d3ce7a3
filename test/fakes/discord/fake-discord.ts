import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A loopback Discord for the tests: the REST API under /api/v10 and a gateway on the same port, enough for the
 * real discord.js client to log in, receive interactions and answer them. Every REST request is recorded, with
 * multipart bodies split into their JSON payload and files. Faults can be switched on: 429s, expired interaction
 * tokens (401 / 50027), deleted messages (404 / 10008), an attachment size limit (413 / 40005), missing access.
 */

export interface RecordedFile {
  readonly name: string;
  readonly bytes: number;
  readonly contentType: string;
  /** The file itself. */
  readonly data: Buffer;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly at: number;
  readonly body: Record<string, unknown> | undefined;
  readonly files: readonly RecordedFile[];
  readonly status: number;
}

export interface FakeDiscordOptions {
  readonly applicationId?: string;
  readonly botUserId?: string;
}

interface StoredMessage {
  id: string;
  channelId: string;
  body: Record<string, unknown>;
}

/** A file someone attached to a slash command, as Discord resolves it into the interaction. */
export interface FakeAttachment {
  readonly id: string;
  readonly filename: string;
  readonly size: number;
  readonly url: string;
  readonly proxy_url: string;
  readonly content_type: string;
}

export const FAKE_GUILD_ID = '900000000000000001';
export const FAKE_CHANNEL_ID = '900000000000000002';
export const FAKE_GUILD_NAME = 'fake server';
export const FAKE_CHANNEL_NAME = 'art-room';

export class FakeDiscord {
  readonly applicationId: string;
  readonly botUserId: string;
  /** The bot token /applications/@me accepts. */
  readonly token = 'fake-token';
  readonly requests: RecordedRequest[] = [];
  /** Interaction tokens that Discord has invalidated (15 minutes passed). */
  readonly expiredTokens = new Set<string>();
  /** Message ids that someone deleted. */
  readonly deletedMessages = new Set<string>();
  /** Channels the bot may not post in. */
  readonly forbiddenChannels = new Set<string>();
  /** Largest attachment accepted, per file. */
  attachmentLimit = 10 * 1024 * 1024;
  /** The next N requests whose path matches get a 429 first. */
  readonly rateLimits: { pattern: RegExp; remaining: number; retryAfter: number }[] = [];
  readonly messages = new Map<string, StoredMessage>();
  /** Attachment bytes served on the fake's own origin, as Discord's CDN serves them. */
  readonly #attachments = new Map<string, Uint8Array>();
  /**
   * The fake server's owner, roles (the @everyone role's id is the server's) and members with their role ids, as the
   * permission checks read them; a test changes them to promote or demote someone.
   */
  readonly guild: { ownerId: string; roles: { id: string; name: string; permissions: string }[]; members: Map<string, string[]> } = {
    ownerId: '100000000000000999',
    roles: [{ id: FAKE_GUILD_ID, name: '@everyone', permissions: '0' }, { id: '950000000000000001', name: 'moderator', permissions: String(1n << 5n) }],
    members: new Map(),
  };
  /** Attachment ids whose download never answers. */
  readonly stalledAttachments = new Set<string>();
  /** While true, every API request is taken and never answered (Discord unreachable behind a proxy that holds). */
  unreachable = false;
  /** How many requests were taken and never answered while `unreachable`. */
  held = 0;
  /** How many times each attachment was downloaded. */
  readonly attachmentDownloads = new Map<string, number>();
  #server: Server | undefined;
  #gateway: WebSocketServer | undefined;
  #sockets = new Set<WebSocket>();
  #sequence = 0;
  #identified: (() => void)[] = [];

  constructor(options: FakeDiscordOptions = {}) {
    this.applicationId = options.applicationId ?? '800000000000000001';
    this.botUserId = options.botUserId ?? this.applicationId;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/api`;
  }

  async start(): Promise<void> {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#gateway = new WebSocketServer({ server: this.#server });
    this.#gateway.on('connection', (socket) => { this.#connect(socket); });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.terminate();
    this.#gateway?.close();
    // Clients keep HTTP connections alive; close them, or the server would wait for them forever.
    this.#server?.closeAllConnections();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  }

  /** Keeps a file as Discord keeps an attachment; `declaredSize` is what the interaction claims (a lie, if it differs). */
  hostAttachment(filename: string, bytes: Uint8Array, contentType = 'image/png', declaredSize = bytes.length): FakeAttachment {
    const id = String(1_100_000_000_000_000_000n + BigInt(this.#attachments.size));
    this.#attachments.set(id, bytes);
    const url = `${this.apiUrl.replace(/\/api$/, '')}/attachments/${FAKE_CHANNEL_ID}/${id}/${encodeURIComponent(filename)}`;
    return { id, filename, size: declaredSize, url, proxy_url: url, content_type: contentType };
  }

  /** Resolves once a client has identified on the gateway. */
  identified(): Promise<void> {
    return this.#sockets.size > 0 && this.#sequence > 0 ? Promise.resolve() : new Promise((resolve) => this.#identified.push(resolve));
  }

  /** Sends INTERACTION_CREATE to every connected client. */
  dispatchInteraction(data: Record<string, unknown>): void {
    this.#dispatch('INTERACTION_CREATE', data);
  }

  /** Requests whose method and path match, in order. */
  find(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((request) => request.method === method && path.test(request.path));
  }

  /** Waits until a request matching the predicate has been recorded. */
  async waitFor(predicate: (request: RecordedRequest) => boolean, timeoutMs = 120_000): Promise<RecordedRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching request within ${timeoutMs} ms; saw ${this.requests.map((r) => `${r.method} ${r.path} ${r.status}`).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  #connect(socket: WebSocket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    socket.on('message', (raw) => {
      const payload = JSON.parse((raw as Buffer).toString('utf8')) as { op: number; d: unknown };
      if (payload.op === 1) socket.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      if (payload.op === 2) {
        this.#send(socket, 'READY', {
          v: 10,
          user: { id: this.botUserId, username: 'imagine', discriminator: '0', global_name: null, avatar: null, bot: true },
          guilds: [],
          session_id: randomUUID(),
          resume_gateway_url: this.apiUrl.replace(/^http/, 'ws').replace(/\/api$/, ''),
          application: { id: this.applicationId, flags: 0 },
          private_channels: [],
        });
        this.#identified.splice(0).forEach((wake) => { wake(); });
      }
    });
  }

  #dispatch(event: string, data: unknown): void {
    for (const socket of this.#sockets) this.#send(socket, event, data);
  }

  #send(socket: WebSocket, event: string, data: unknown): void {
    this.#sequence += 1;
    socket.send(JSON.stringify({ op: 0, t: event, s: this.#sequence, d: data }));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.unreachable) {
      this.held += 1;
      return;
    }
    const attachment = /^\/attachments\/\d+\/(\d+)\//.exec(request.url ?? '');
    if (attachment !== null) {
      const bytes = this.#attachments.get(attachment[1]);
      this.attachmentDownloads.set(attachment[1], (this.attachmentDownloads.get(attachment[1]) ?? 0) + 1);
      // A stalled attachment never answers: the download hangs until the client gives up.
      if (this.stalledAttachments.has(attachment[1])) return;
      response.writeHead(bytes === undefined ? 404 : 200, { 'content-type': 'application/octet-stream' });
      response.end(bytes);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = decodeURIComponent((request.url ?? '').replace(/^\/api\/v\d+/, '').split('?')[0]);
    const method = request.method ?? 'GET';
    const { body, files } = await parseBody(request, raw);
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, path, at: Date.now(), body, files, status });
      response.writeHead(status, { ...(json === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
      response.end(json === undefined ? undefined : JSON.stringify(json));
    };

    const limit = this.rateLimits.find((rule) => rule.remaining > 0 && rule.pattern.test(path));
    if (limit !== undefined) {
      limit.remaining -= 1;
      reply(429, { message: 'You are being rate limited.', retry_after: limit.retryAfter, global: false }, {
        'retry-after': String(Math.ceil(limit.retryAfter)),
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset-after': String(limit.retryAfter),
        'x-ratelimit-bucket': 'fake-bucket',
        'x-ratelimit-scope': 'user',
      });
      return;
    }
    if (files.some((file) => file.bytes > this.attachmentLimit)) {
      reply(413, { message: 'Request entity too large', code: 40005 });
      return;
    }

    let match: RegExpExecArray | null;
    if (method === 'GET' && path === '/applications/@me') {
      if (request.headers.authorization !== `Bot ${this.token}`) reply(401, { message: '401: Unauthorized', code: 0 });
      else reply(200, { id: this.applicationId, name: 'imagine', bot: { id: this.botUserId, username: 'imagine' } });
    } else if (method === 'GET' && path === '/gateway/bot' && request.headers.authorization !== `Bot ${this.token}`) {
      reply(401, { message: '401: Unauthorized', code: 0 });
    } else if (method === 'GET' && (path === '/gateway/bot' || path === '/gateway')) {
      const url = this.apiUrl.replace(/^http/, 'ws').replace(/\/api$/, '');
      reply(200, { url, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } });
    } else if (method === 'GET' && path === `/guilds/${FAKE_GUILD_ID}`) {
      reply(200, { id: FAKE_GUILD_ID, name: FAKE_GUILD_NAME, owner_id: this.guild.ownerId, roles: this.guild.roles });
    } else if (method === 'GET' && path === `/guilds/${FAKE_GUILD_ID}/roles`) {
      reply(200, this.guild.roles);
    } else if (method === 'GET' && (match = new RegExp(`^/guilds/${FAKE_GUILD_ID}/members/(\\d+)$`).exec(path)) !== null) {
      const roles = this.guild.members.get(match[1]);
      if (roles === undefined) reply(404, { message: 'Unknown Member', code: 10007 });
      else reply(200, { user: { id: match[1], username: `user-${match[1]}` }, roles, joined_at: new Date(0).toISOString() });
    } else if (method === 'GET' && (match = /^\/channels\/(\d+)$/.exec(path)) !== null) {
      reply(200, { id: match[1], type: 0, name: FAKE_CHANNEL_NAME, guild_id: FAKE_GUILD_ID, position: 0, permission_overwrites: [] });
    } else if (method === 'PUT' && /^\/applications\/\d+(\/guilds\/\d+)?\/commands$/.test(path)) {
      const commands = (body as unknown as Record<string, unknown>[] | undefined) ?? [];
      reply(200, commands.map((command, i) => ({ ...command, id: String(700000000000000000n + BigInt(i)), application_id: this.applicationId, version: '1' })));
    } else if (method === 'POST' && (match = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path)) !== null) {
      if (this.expiredTokens.has(match[2])) reply(404, { message: 'Unknown interaction', code: 10062 });
      else reply(204, undefined);
    } else if ((match = /^\/webhooks\/(\d+)\/([^/]+)(\/messages\/([^/]+))?$/.exec(path)) !== null) {
      const token = match[2];
      const messageId = match.at(4) === '@original' ? `original-${token}` : match.at(4);
      if (this.expiredTokens.has(token)) { reply(401, { message: 'Invalid Webhook Token', code: 50027 }); return; }
      if (messageId !== undefined && this.deletedMessages.has(messageId)) { reply(404, { message: 'Unknown Message', code: 10008 }); return; }
      if (method === 'DELETE') {
        if (messageId !== undefined) this.deletedMessages.add(messageId);
        reply(204, undefined); return;
      }
      const id = messageId ?? String(BigInt(Date.now()) * 1000n + BigInt(this.requests.length));
      this.messages.set(id, { id, channelId: FAKE_CHANNEL_ID, body: { ...(this.messages.get(id)?.body ?? {}), ...(body ?? {}) } });
      reply(200, messageObject(id, FAKE_CHANNEL_ID, this.applicationId, body, files));
    } else if ((match = /^\/channels\/(\d+)\/messages(\/(\d+))?$/.exec(path)) !== null) {
      const channelId = match[1];
      const messageId = match.at(3);
      if (this.forbiddenChannels.has(channelId)) { reply(403, { message: 'Missing Access', code: 50001 }); return; }
      if (messageId !== undefined && this.deletedMessages.has(messageId)) { reply(404, { message: 'Unknown Message', code: 10008 }); return; }
      if (method === 'DELETE') {
        if (messageId !== undefined) this.deletedMessages.add(messageId);
        reply(204, undefined); return;
      }
      const id = messageId ?? String(BigInt(Date.now()) * 1000n + BigInt(this.requests.length));
      this.messages.set(id, { id, channelId, body: { ...(this.messages.get(id)?.body ?? {}), ...(body ?? {}) } });
      reply(200, messageObject(id, channelId, this.botUserId, body, files));
    } else {
      reply(404, { message: `fake Discord has no route ${method} ${path}`, code: 0 });
    }
  }
}

/** A message as the API returns it; also the message under a button in a fake interaction. */
export function messageObject(id: string, channelId: string, authorId: string, body: Record<string, unknown> | undefined, files: readonly RecordedFile[]) {
  return {
    id,
    channel_id: channelId,
    type: 0,
    content: (body?.content as string | undefined) ?? '',
    author: { id: authorId, username: 'imagine', discriminator: '0', avatar: null, bot: true },
    attachments: files.map((file, i) => ({ id: String(i), filename: file.name, size: file.bytes, url: `https://cdn.invalid/${file.name}`, proxy_url: '' })),
    embeds: body?.embeds ?? [],
    components: body?.components ?? [],
    mentions: [],
    mention_roles: [],
    pinned: false,
    mention_everyone: false,
    tts: false,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    flags: 0,
  };
}

async function parseBody(request: IncomingMessage, raw: Buffer): Promise<{ body: Record<string, unknown> | undefined; files: RecordedFile[] }> {
  const type = request.headers['content-type'] ?? '';
  if (raw.length === 0) return { body: undefined, files: [] };
  if (type.startsWith('application/json')) return { body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
  if (type.startsWith('multipart/form-data')) {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- a test server parsing its own small requests
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
    const files: RecordedFile[] = [];
    let body: Record<string, unknown> | undefined;
    for (const [key, value] of form.entries()) {
      if (key === 'payload_json') body = JSON.parse(value as string) as Record<string, unknown>;
      else if (typeof value !== 'string') files.push({ name: value.name, bytes: value.size, contentType: value.type, data: Buffer.from(await value.arrayBuffer()) });
    }
    return { body, files };
  }
  return { body: { raw: raw.toString('utf8') }, files: [] };
}
