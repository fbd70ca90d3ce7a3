import type { ServerResponse } from 'node:http';
import { CoalescingUpdater } from '../core/coalescing-updater.js';

/** Proxies close connections that stay silent; a comment line this often keeps the stream open. */
const KEEP_ALIVE_MS = 25_000;

/** What waits to be written: pictures in order, and whether the queue changed (its newest snapshot is read when written). */
interface Batch {
  readonly queue: boolean;
  readonly events: readonly { readonly event: string; readonly data: unknown }[];
}

/**
 * One browser's server-sent event stream, kept up to date by a coalescing updater. The queue is state, so only its
 * newest snapshot matters: changes within one turn of the event loop become one write, and while the socket is
 * backed up (a write in flight until it drains) nothing more is written, then the newest snapshot goes. Pictures are
 * events: each is sent once, in order.
 */
export class EventStream {
  readonly #response: ServerResponse;
  readonly #snapshot: () => unknown;
  readonly #updater: CoalescingUpdater<Batch>;
  readonly #keepAlive: NodeJS.Timeout;
  #waitingForDrain = false;
  #closed = false;

  constructor(response: ServerResponse, snapshot: () => unknown, onClose: () => void) {
    this.#response = response;
    this.#snapshot = snapshot;
    this.#updater = new CoalescingUpdater<Batch>({
      send: (batch) => this.#write(batch),
      isFinal: () => false,
      minIntervalMs: 0,
      merge: (waiting, next) => ({ queue: waiting.queue || next.queue, events: [...waiting.events, ...next.events] }),
      // A write to a closed socket is nothing to report: the stream is going away.
      onGiveUp: () => undefined,
    });
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
      this.#updater.stop();
      clearInterval(this.#keepAlive);
      onClose();
    });
    this.queueChanged();
  }

  queueChanged(): void {
    this.#updater.push({ queue: true, events: [] });
  }

  send(event: string, data: unknown): void {
    this.#updater.push({ queue: false, events: [{ event, data }] });
  }

  close(): void {
    if (!this.#closed) this.#response.end();
  }

  /** Writes the batch; a socket that is backed up holds the next write until it drains. */
  #write(batch: Batch): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const frames = batch.events.map(({ event, data }) => frame(event, data));
    if (batch.queue) frames.push(frame('queue', this.#snapshot()));
    if (frames.length === 0 || this.#response.write(frames.join(''))) return Promise.resolve();
    this.#waitingForDrain = true;
    return new Promise((resolve) => {
      const done = () => {
        this.#waitingForDrain = false;
        this.#response.off('drain', done);
        this.#response.off('close', done);
        resolve();
      };
      this.#response.on('drain', done);
      this.#response.on('close', done);
    });
  }
}

/** One SSE frame; JSON never contains a raw newline, so one data line holds it. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
