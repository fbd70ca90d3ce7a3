import type { ServerResponse } from 'node:http';

/** Proxies close connections that stay silent; a comment line this often keeps the stream open. */
const KEEP_ALIVE_MS = 25_000;

/**
 * One browser's server-sent event stream. The queue is state, so only its newest snapshot matters: changes within
 * one turn of the event loop become one send, and while the socket is backed up nothing more is written until it
 * drains, when the newest snapshot goes. Pictures are events: each is sent once, in order.
 */
export class EventStream {
  readonly #response: ServerResponse;
  readonly #snapshot: () => unknown;
  #queueDirty = false;
  #scheduled = false;
  #waitingForDrain = false;
  readonly #pending: { event: string; data: unknown }[] = [];
  readonly #keepAlive: NodeJS.Timeout;
  #closed = false;

  constructor(response: ServerResponse, snapshot: () => unknown, onClose: () => void) {
    this.#response = response;
    this.#snapshot = snapshot;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // nginx and similar buffer responses unless told not to.
      'x-accel-buffering': 'no',
    });
    response.write('retry: 2000\n\n');
    this.#keepAlive = setInterval(() => { if (!this.#waitingForDrain) response.write(': keep-alive\n\n'); }, KEEP_ALIVE_MS);
    response.on('close', () => {
      this.#closed = true;
      clearInterval(this.#keepAlive);
      onClose();
    });
    response.on('drain', () => {
      this.#waitingForDrain = false;
      this.#schedule();
    });
    this.queueChanged();
  }

  queueChanged(): void {
    this.#queueDirty = true;
    this.#schedule();
  }

  send(event: string, data: unknown): void {
    this.#pending.push({ event, data });
    this.#schedule();
  }

  close(): void {
    if (!this.#closed) this.#response.end();
  }

  #schedule(): void {
    if (this.#scheduled || this.#waitingForDrain || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#closed || this.#waitingForDrain) return;
    const frames = this.#pending.splice(0).map(({ event, data }) => frame(event, data));
    if (this.#queueDirty) {
      this.#queueDirty = false;
      frames.push(frame('queue', this.#snapshot()));
    }
    if (frames.length === 0) return;
    if (!this.#response.write(frames.join(''))) this.#waitingForDrain = true;
  }
}

/** One SSE frame; JSON never contains a raw newline, so one data line holds it. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
