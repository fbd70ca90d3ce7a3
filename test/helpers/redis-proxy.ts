import { createServer, connect, type Server, type Socket } from 'node:net';

/** A command's arguments (the first is its name, as sent) and the number of the connection it came on. */
export type CommandPredicate = (args: readonly string[], connection: number) => boolean;

/**
 * A TCP proxy in front of a Redis that reads the commands clients send (RESP arrays of bulk strings) and can hold
 * them: `hold(predicate)` stops the connection that sends the first matching command — that command and every later
 * one on it wait, unsent, until released — while every other connection goes on. Tests use it to force an
 * interleaving (this reply comes only after that event) instead of hoping for one.
 */
export class RedisProxy {
  readonly #upstream: { host: string; port: number };
  readonly #holds: Hold[] = [];
  readonly #watchers: { predicate: CommandPredicate; count: number; wake: () => void }[] = [];
  readonly #sockets = new Set<Socket>();
  /** Every command seen, in order, with the connection it came on. */
  readonly commands: { readonly connection: number; readonly args: readonly string[] }[] = [];
  #server: Server | undefined;
  #port = 0;
  #connections = 0;

  constructor(upstreamUrl: string) {
    const url = new URL(upstreamUrl);
    this.#upstream = { host: url.hostname, port: Number(url.port || 6379) };
  }

  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    const server = createServer((client) => { this.#accept(client); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    for (const hold of this.#holds) hold.release();
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  }

  /** Holds the connection that next sends a command matching `predicate` (see the class). */
  hold(predicate: CommandPredicate): Hold {
    const hold = new Hold(predicate, () => { this.#holds.splice(this.#holds.indexOf(hold), 1); });
    this.#holds.push(hold);
    return hold;
  }

  /** Resolves once `count` commands matching `predicate` have arrived (held or sent), counting those already seen. */
  async seen(predicate: CommandPredicate, count = 1): Promise<void> {
    if (this.commands.filter((command) => predicate(command.args, command.connection)).length >= count) return;
    await new Promise<void>((wake) => this.#watchers.push({ predicate, count, wake }));
  }

  #accept(client: Socket): void {
    const connection = ++this.#connections;
    const upstream = connect(this.#upstream.port, this.#upstream.host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    let pending = Buffer.alloc(0);
    let heldBy: Hold | undefined;
    const send = (bytes: Buffer) => {
      if (!upstream.destroyed) upstream.write(bytes);
    };
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const parsed = parseCommand(pending);
        if (parsed === undefined) return;
        pending = pending.subarray(parsed.length);
        const raw = Buffer.from(parsed.raw);
        this.commands.push({ connection, args: parsed.args });
        this.#notify();
        if (heldBy === undefined) {
          const hold = this.#holds.find((candidate) => candidate.matches(parsed.args, connection));
          if (hold !== undefined) {
            heldBy = hold;
            hold.take(() => {
              heldBy = undefined;
            }, send);
          }
        }
        if (heldBy !== undefined) heldBy.keep(raw);
        else send(raw);
      }
    });
  }

  #notify(): void {
    for (const watcher of [...this.#watchers]) {
      if (this.commands.filter((command) => watcher.predicate(command.args, command.connection)).length < watcher.count) continue;
      this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
      watcher.wake();
    }
  }
}

/** One hold: armed until a command matches, then holding that connection until released. */
export class Hold {
  readonly #predicate: CommandPredicate;
  readonly #disarm: () => void;
  readonly #kept: Buffer[] = [];
  #send: ((bytes: Buffer) => void) | undefined;
  #free: (() => void) | undefined;
  #released = false;
  #arrive: () => void = () => undefined;
  /** Resolves when a command has been caught. */
  readonly arrived = new Promise<void>((resolve) => { this.#arrive = resolve; });

  constructor(predicate: CommandPredicate, disarm: () => void) {
    this.#predicate = predicate;
    this.#disarm = disarm;
  }

  matches(args: readonly string[], connection: number): boolean {
    return !this.#released && this.#send === undefined && this.#predicate(args, connection);
  }

  take(free: () => void, send: (bytes: Buffer) => void): void {
    this.#disarm();
    this.#free = free;
    this.#send = send;
    this.#arrive();
  }

  keep(bytes: Buffer): void {
    this.#kept.push(bytes);
  }

  /** Sends what was held, in order, and lets the connection go on. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#disarm();
    this.#free?.();
    for (const bytes of this.#kept.splice(0)) this.#send?.(bytes);
  }
}

/** One RESP command (an array of bulk strings) at the start of `buffer`, or undefined while it is incomplete. */
function parseCommand(buffer: Buffer): { args: string[]; length: number; raw: Buffer } | undefined {
  if (buffer.length === 0) return undefined;
  if (buffer[0] !== 0x2a) {
    // An inline command (never sent by ioredis, but cheap to pass on): one line.
    const end = buffer.indexOf('\r\n');
    if (end === -1) return undefined;
    return { args: buffer.subarray(0, end).toString('utf8').split(' '), length: end + 2, raw: buffer.subarray(0, end + 2) };
  }
  const header = buffer.indexOf('\r\n');
  if (header === -1) return undefined;
  const count = Number(buffer.subarray(1, header).toString('ascii'));
  let offset = header + 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const line = buffer.indexOf('\r\n', offset);
    if (line === -1) return undefined;
    const size = Number(buffer.subarray(offset + 1, line).toString('ascii'));
    const start = line + 2;
    if (buffer.length < start + size + 2) return undefined;
    args.push(buffer.subarray(start, start + size).toString('utf8'));
    offset = start + size + 2;
  }
  return { args, length: offset, raw: buffer.subarray(0, offset) };
}
