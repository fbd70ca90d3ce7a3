import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { isIP, type AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorMessage, UserError } from '../core/errors.js';
import { fileExtension } from '../imaging/image-format.js';
import type { JobService } from '../jobs/job-service.js';
import type { JobStore } from '../jobs/job-store.js';
import type { Job, JobResult } from '../jobs/job.js';
import type { LaneControl } from '../jobs/lane-control.js';
import { isStoreBusy } from '../jobs/store-busy.js';
import { hasFlaggedPicture } from '../jobs/picture-safety.js';
import { isAdminAction, jobAuditRecord, type AuditTrail } from '../jobs/audit-trail.js';
import { auditLine } from './audit-line.js';
import { USAGE_PERIODS, USAGE_REACHES, usageRefusal, usageScopeFor, type UsageLedger, type UsagePeriod, type UsageReach } from '../jobs/usage-ledger.js';
import type { WorkerDirectory, WorkerStatus } from '../jobs/worker-status.js';
import type { DashboardMetrics } from './dashboard-metrics.js';
import { EventStream } from './event-stream.js';
import { cursorText, parseGalleryQuery, type GalleryQuery } from './gallery-query.js';
import type { PictureSearch } from '../jobs/picture-search.js';
import type { ChatOrigin, ChatSurfaces } from './chat-surfaces.js';
import { WEB_PICTURE_ACTIONS, type PictureActions, type WebPictureAction } from './picture-actions.js';
import { mayManage } from '../jobs/job-authority.js';
import type { LiveQueue } from './live-queue.js';
import { pictureCard } from './picture-card.js';
import { sameToken, SESSION_LIFETIME_MS, type SignInStore, type WebSession } from './sign-in-store.js';
import type { ThumbnailCache } from './thumbnail-cache.js';
import { sameRights, type ViewerRights } from './viewer-rights.js';
import { viewerMayCancel, viewerMayPause, viewerMaySee, type Viewer } from './web-viewer.js';

export const SESSION_COOKIE = 'imagine_session';

/** Nothing inline, nothing from elsewhere: scripts and styles come from this server's /assets only. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PUBLIC_FOLDER = new URL('./public/', import.meta.url);
/** Each page: its title, and whether it is a signed-in page (with the navigation bar). */
const PAGES = {
  gallery: { title: 'Gallery', signedIn: true },
  picture: { title: 'Picture', signedIn: true },
  audit: { title: 'Audit', signedIn: true },
  usage: { title: 'Usage', signedIn: true },
  queue: { title: 'Queue', signedIn: true },
  'sign-in': { title: 'Sign in', signedIn: false },
  'signed-out': { title: 'Not signed in', signedIn: false },
  'not-found': { title: 'Not found', signedIn: true },
} as const;
type Page = keyof typeof PAGES;
const ASSETS: Readonly<Record<string, string>> = { 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8', 'chart.js': 'text/javascript; charset=utf-8', 'icon.svg': 'image/svg+xml' };
/** Served from their packages, not from the public folder: the Usage page's charting library (Chart.js, its UMD build). */
const PACKAGE_ASSETS: Readonly<Partial<Record<string, () => string>>> = {
  'chart.js': () => join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'),
};
const IMAGE_TYPES: Readonly<Record<string, string>> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Entries of the audit trail per page. */
const AUDIT_PAGE = 50;
/** Open event streams one session may hold (a tab each); a newer one closes the oldest. */
export const STREAMS_PER_SESSION = 8;

export interface DashboardOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Whether people reach it over https (a proxy in front): the cookie is then Secure. */
  readonly secure: boolean;
  readonly jobs: JobService;
  readonly store: JobStore;
  readonly signIns: SignInStore;
  readonly thumbnails: ThumbnailCache;
  readonly live: LiveQueue;
  readonly metrics: DashboardMetrics;
  readonly workers: WorkerDirectory;
  /** Pausing the lane, where the queue allows it (the local mode). */
  readonly lane?: LaneControl;
  /** The models offered, for the gallery's filter. */
  readonly models: () => readonly string[];
  /** What a session may do now (ADMINS, WEB_GALLERY and community standing as they are today); absent: as at sign-in. */
  readonly rights?: Pick<ViewerRights, 'current'>;
  /**
   * The host names people's browsers use (WEB_PUBLIC_URL's, WEB_HOST's). Requests naming any other host are refused,
   * but for `localhost` and IP addresses: a page on another site that re-points its own name at this address (DNS
   * rebinding) always names its own host.
   */
  readonly hostNames?: readonly string[];
  /** How often open event streams are checked against their sessions' current rights. */
  readonly streamCheckMs?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, context?: Record<string, unknown>) => void;
  /** Where admin actions taken here are recorded, and read back for the Audit page; absent: none kept. */
  readonly audit?: AuditTrail;
  /** The bot's use of its devices, for the Usage page; absent: none kept. */
  readonly usage?: UsageLedger;
  /** A picture's buttons, pressed on its page (reroll, variations, U, V, delete); absent: the pages only show. */
  readonly actions?: PictureActions;
  /** The chat platforms, for the names of the places pictures were asked in and links to their messages. */
  readonly surfaces?: ChatSurfaces;
}

/** How long a picture's page waits for a chat platform to name its place before showing ids. */
const ORIGIN_WAIT_MS = 2000;

declare module 'fastify' {
  interface FastifyRequest {
    webSession?: { readonly token: string } & WebSession;
  }
}

/**
 * The web dashboard: gallery, picture pages, the live queue with its workers, `/healthz` and `/metrics`. Every page,
 * picture, API and event stream needs a session (opened by a one-time sign-in link); pictures are addressed by job
 * id only; every action is a POST that carries the session's CSRF token and comes from this origin.
 */
export class DashboardServer {
  readonly #options: DashboardOptions;
  readonly #app: FastifyInstance;
  readonly #pages: ReadonlyMap<Page, string>;
  readonly #assets: ReadonlyMap<string, Buffer>;
  readonly #streams = new Set<{ viewer: Viewer; session: string; stream: EventStream }>();
  #unsubscribe: (() => void) | undefined;
  #streamCheck: NodeJS.Timeout | undefined;

  constructor(options: DashboardOptions) {
    this.#options = options;
    this.#pages = composePages();
    this.#assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(PACKAGE_ASSETS[name]?.() ?? new URL(name, PUBLIC_FOLDER))]));
    this.#app = Fastify({ logger: false, trustProxy: false, bodyLimit: 16 * 1024 });
    this.#routes();
  }

  /** Starts listening; resolves with the port. */
  async start(): Promise<number> {
    this.#unsubscribe = this.#options.live.subscribe((event) => {
      const finished = event?.type === 'succeeded' ? this.#options.store.picture(event.job.id) : undefined;
      const card = finished !== undefined && hasResult(finished) ? pictureCard(finished) : undefined;
      for (const { viewer, stream } of this.#streams) {
        stream.queueChanged();
        if (card !== undefined && viewerMaySee(finished!, viewer)) stream.send('picture', card);
      }
    });
    // A stream lives as long as its session keeps the rights it was opened with: it ends at sign-out, at expiry, or
    // when the person's rights change (they reconnect with the new ones, or are told to sign in).
    this.#streamCheck = setInterval(() => { this.#checkStreams(); }, this.#options.streamCheckMs ?? 30_000);
    this.#streamCheck.unref();
    await this.#app.listen({ host: this.#options.host, port: this.#options.port });
    return (this.#app.server.address() as AddressInfo).port;
  }

  #checkStreams(): void {
    for (const entry of this.#streams) {
      const session = this.#currentSession(entry.session);
      if (session === undefined || !sameRights(session.viewer, entry.viewer)) entry.stream.close();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#streamCheck);
    this.#unsubscribe?.();
    for (const { stream } of this.#streams) stream.close();
    await this.#app.close();
  }

  #routes(): void {
    const app = this.#app;
    void app.register(fastifyCookie);
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.addHook('onRequest', (request, reply, done) => {
      if (this.#knownHost(request.headers.host)) {
        done();
        return;
      }
      void reply.code(421).send({ error: 'this dashboard answers to its own address only (set WEB_PUBLIC_URL to the name people use)' });
    });
    app.addHook('onSend', (_request, reply, payload, done) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      // Sign-in links carry their token in the path: no page may pass its address to another site. (`no-referrer`
      // would also make browsers send `Origin: null` on this site's own POSTs, which the origin check refuses.)
      reply.header('referrer-policy', 'same-origin');
      reply.header('cross-origin-opener-policy', 'same-origin');
      reply.header('cross-origin-resource-policy', 'same-origin');
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      done(null, payload);
    });
    app.setErrorHandler((error, request, reply) => {
      if (error instanceof UserError) return reply.code(400).send({ error: error.message });
      const status = (error as { statusCode?: unknown }).statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) return reply.code(status).send({ error: errorMessage(error) });
      // Another process (the CLI issuing a link) holds the sign-in file for a moment: the browser may simply ask again.
      if (isStoreBusy(error)) return reply.code(503).header('retry-after', '1').send({ error: 'the dashboard is busy for a moment; try again' });
      this.#options.log?.('error', 'dashboard request failed', { err: error, url: request.url });
      return reply.code(500).send({ error: 'something went wrong; the bot’s logs say more' });
    });
    app.setNotFoundHandler((request, reply) => {
      // Even "not found" needs a session: without one, nobody learns which addresses exist.
      if (this.#sessionOf(request) === undefined) return this.#unauthorized(request, reply);
      const wantsPage = request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
      return wantsPage ? this.#page(reply.code(404), 'not-found') : reply.code(404).send({ error: 'not found' });
    });

    // Open to anyone who can reach the port: a supervisor's check and the team's monitoring.
    app.get('/healthz', () => ({ status: 'ok', jobs: this.#options.jobs.active().length }));
    app.get('/metrics', async (_request, reply) => reply.type(this.#options.metrics.contentType).send(await this.#options.metrics.text()));
    app.get<{ Params: { name: string } }>('/assets/:name', (request, reply) => {
      const asset = this.#assets.get(request.params.name);
      if (asset === undefined) return reply.code(404).send({ error: 'not found' });
      return reply.type(ASSETS[request.params.name]).header('cache-control', 'no-cache').send(asset);
    });
    // The link only shows a button: chat apps and mail scanners open links to preview them, and must not use them up.
    app.get<{ Params: { token: string } }>('/signin/:token', (request, reply) => {
      // Only a well-formed token goes into the form; it is hex, so nothing in it can be markup.
      const token = /^[0-9a-f]{64}$/.test(request.params.token) ? request.params.token : '';
      return reply.type('text/html; charset=utf-8').send(this.#pages.get('sign-in')!.replace('id="token">', `id="token" value="${token}">`));
    });
    app.post<{ Body: { token?: unknown } }>('/signin', (request, reply) => {
      if (!this.#sameOrigin(request)) return reply.code(403).send({ error: 'cross-site request refused' });
      const token = request.body.token;
      const opened = typeof token === 'string' ? this.#options.signIns.redeem(token) : undefined;
      // A link used up (a second click, a chat preview) by someone already signed in: they are where they wanted to be.
      if (opened === undefined) return this.#sessionOf(request) === undefined ? this.#page(reply.code(401), 'signed-out') : reply.redirect('/', 303);
      void reply.setCookie(SESSION_COOKIE, opened.token, { path: '/', httpOnly: true, sameSite: 'strict', secure: this.#options.secure, maxAge: SESSION_LIFETIME_MS / 1000 });
      this.#options.log?.('info', 'signed in to the dashboard', { user: opened.session.viewer.actor.owner.name, role: opened.session.viewer.role });
      return reply.redirect('/', 303);
    });

    void app.register((signedIn, _options, done) => {
      signedIn.addHook('preHandler', (request, reply, next) => {
        const session = this.#sessionOf(request);
        if (session === undefined) {
          void this.#unauthorized(request, reply);
          return;
        }
        request.webSession = session;
        if (request.method === 'POST' && !(this.#sameOrigin(request) && sameToken(session.csrf, request.headers['x-csrf-token']))) {
          void reply.code(403).send({ error: 'this action needs the page’s CSRF token; reload the page' });
          return;
        }
        next();
      });
      this.#signedInRoutes(signedIn);
      done();
    });
  }

  #signedInRoutes(app: FastifyInstance): void {
    const viewerOf = (request: FastifyRequest): Viewer => request.webSession!.viewer;
    app.get('/', (_request, reply) => this.#page(reply, 'gallery'));
    app.get('/queue', (_request, reply) => this.#page(reply, 'queue'));
    app.get('/audit', (_request, reply) => this.#page(reply, 'audit'));
    app.get<{ Params: { id: string } }>('/pictures/:id', (_request, reply) => this.#page(reply, 'picture'));
    app.post('/signout', (request, reply) => {
      const session = request.webSession!.token;
      this.#options.signIns.end(session);
      // The session's open event streams end with it.
      for (const entry of this.#streams) if (entry.session === session) entry.stream.close();
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    });

    app.get('/api/me', (request) => {
      const { viewer, csrf } = request.webSession!;
      return { name: viewer.actor.owner.name, role: viewer.role, csrf, models: this.#knownModels(), actions: this.#options.actions !== undefined };
    });
    app.get<{ Querystring: GalleryQuery }>('/api/pictures', (request) => {
      const search = this.#gallerySearch(request.query);
      const page = this.#options.store.searchPictures(search, viewerOf(request).actor);
      return { pictures: page.jobs.filter(hasResult).map((job) => pictureCard(job)), ...(page.next === undefined ? {} : { next: cursorText(page.next) }) };
    });
    app.get<{ Params: { id: string } }>('/api/pictures/:id', async (request, reply) => {
      const viewer = viewerOf(request);
      const job = this.#visiblePicture(request.params.id, viewer);
      if (job === undefined) return reply.code(404).send({ error: 'no such picture' });
      const origin = await this.#origin(job);
      const mayAct = this.#options.actions !== undefined && this.#shownPicture(job.id, viewer) !== undefined;
      return { ...pictureCard(job, origin), mayAct, mayDelete: this.#options.actions !== undefined && mayManage(job, viewer.actor) };
    });
    // The pictures either side of one, in the order of the search the viewer came from (the viewer's arrow keys).
    app.get<{ Params: { id: string }; Querystring: GalleryQuery }>('/api/pictures/:id/neighbours', (request, reply) => {
      const search = this.#gallerySearch(request.query);
      const viewer = viewerOf(request);
      const neighbours = this.#visiblePicture(request.params.id, viewer) === undefined ? undefined : this.#options.store.pictureNeighbours(request.params.id, withoutPaging(search), viewer.actor);
      return neighbours ?? reply.code(404).send({ error: 'that picture is not among this search’s' });
    });
    app.post<{ Params: { id: string; action: string }; Body: { picture?: unknown } | undefined }>('/api/pictures/:id/actions/:action', async (request, reply) => {
      const actions = this.#options.actions;
      if (actions === undefined) return reply.code(409).send({ error: 'this dashboard does not queue pictures' });
      const action = request.params.action as WebPictureAction;
      if (!WEB_PICTURE_ACTIONS.includes(action)) return reply.code(404).send({ error: 'no such action' });
      const viewer = viewerOf(request);
      // A held picture is not handed to members, neither to look at nor to start from.
      const job = this.#shownPicture(request.params.id, viewer);
      if (job === undefined) return reply.code(404).send({ error: 'no such picture' });
      const picture = request.body?.picture;
      const count = job.result.settings.count ?? 1;
      if (action === 'upscale' || action === 'vary') {
        if (count < 2) return reply.code(400).send({ error: 'U and V are for the pictures of a grid' });
        if (!(typeof picture === 'number' && Number.isInteger(picture) && picture >= 1 && picture <= count)) return reply.code(400).send({ error: `picture must name one of the grid’s ${count} pictures` });
      }
      const message = await actions.run(action, job, viewer, typeof picture === 'number' ? picture : undefined);
      this.#options.log?.('info', `${action} from the dashboard`, { jobId: job.id, by: viewer.actor.owner.name });
      return { message };
    });
    app.get<{ Params: { id: string } }>('/pictures/:id/thumbnail', async (request, reply) => {
      const job = this.#shownPicture(request.params.id, viewerOf(request));
      if (job === undefined) return reply.code(404).send({ error: 'no such picture' });
      const bytes = await this.#options.thumbnails.get(job);
      return reply.type('image/webp').header('cache-control', 'private, max-age=86400').send(bytes);
    });
    for (const kind of ['image', 'download'] as const) {
      app.get<{ Params: { id: string } }>(`/pictures/:id/${kind}`, async (request, reply) => {
        const job = this.#shownPicture(request.params.id, viewerOf(request));
        if (job !== undefined && hasFlaggedPicture(job.result)) {
          // An admin sees a held picture blurred until they reveal it (a POST, logged); it is never a download.
          if (kind === 'download') return reply.code(403).send({ error: 'the safety check held this picture back: reveal it first' });
          const blurred = await this.#options.thumbnails.get(job).catch(() => undefined);
          if (blurred === undefined) return reply.code(404).send({ error: 'no such picture' });
          return reply.type('image/webp').header('cache-control', 'private, no-store').send(blurred);
        }
        const bytes = job === undefined ? undefined : await readFile(job.result.file).catch(() => undefined);
        if (job === undefined || bytes === undefined) return reply.code(404).send({ error: 'no such picture' });
        void reply.type(IMAGE_TYPES[job.result.format] ?? 'application/octet-stream').header('cache-control', 'private, max-age=86400');
        if (kind === 'download') void reply.header('content-disposition', `attachment; filename="imagine-${job.result.settings.seed}.${fileExtension(job.result.format)}"`);
        return reply.send(bytes);
      });
    }

    app.post<{ Params: { id: string } }>('/api/pictures/:id/reveal', async (request, reply) => {
      const viewer = viewerOf(request);
      const job = this.#visiblePicture(request.params.id, viewer);
      if (job === undefined || (viewer.role !== 'admin' && hasFlaggedPicture(job.result))) return reply.code(404).send({ error: 'no such picture' });
      if (viewer.role !== 'admin') return reply.code(403).send({ error: 'only admins can reveal a held picture' });
      const bytes = await readFile(job.result.file).catch(() => undefined);
      if (bytes === undefined) return reply.code(404).send({ error: 'the held picture is no longer kept (SAFETY_KEEP_HOURS)' });
      this.#options.log?.('info', 'revealed a picture the safety check held back', { jobId: job.id, by: viewer.actor.owner.name, byId: `${viewer.actor.owner.platform}:${viewer.actor.owner.userId}`, checker: job.result.safety?.checker });
      this.#options.audit?.record(jobAuditRecord('reveal', job, viewer.actor, 'dashboard', job.result.safety?.checker));
      return reply.type(IMAGE_TYPES[job.result.format] ?? 'application/octet-stream').header('cache-control', 'private, no-store').send(bytes);
    });
    app.get<{ Querystring: { before?: string } }>('/api/audit', (request, reply) => {
      const viewer = viewerOf(request);
      if (viewer.role !== 'admin') return reply.code(403).send({ error: 'the audit trail is for admins' });
      const before = request.query.before === undefined ? undefined : Number(request.query.before);
      if (before !== undefined && !(Number.isInteger(before) && before > 0)) return reply.code(400).send({ error: 'before must be an entry number' });
      const entries = this.#options.audit?.entries(viewer.actor, { limit: AUDIT_PAGE + 1, ...(before === undefined ? {} : { before }) }) ?? [];
      const page = entries.slice(0, AUDIT_PAGE);
      return { entries: page.map(auditLine), ...(entries.length > AUDIT_PAGE ? { next: page[page.length - 1].id } : {}) };
    });
    app.get('/usage', (_request, reply) => this.#page(reply, 'usage'));
    app.get<{ Querystring: { period?: string; scope?: string } }>('/api/usage', (request, reply) => {
      const ledger = this.#options.usage;
      if (ledger === undefined) return reply.code(404).send({ error: 'this bot keeps no usage figures' });
      const period = request.query.period ?? '24h';
      const reach = request.query.scope ?? 'me';
      if (!(period in USAGE_PERIODS)) return reply.code(400).send({ error: `period must be one of ${Object.keys(USAGE_PERIODS).join(', ')}` });
      if (!(USAGE_REACHES as readonly string[]).includes(reach)) return reply.code(400).send({ error: `scope must be one of ${USAGE_REACHES.join(', ')}` });
      const { actor } = viewerOf(request);
      const refusal = usageRefusal(actor, reach as UsageReach);
      if (refusal !== undefined) return reply.code(403).send({ error: refusal });
      const scope = usageScopeFor(actor, reach as UsageReach);
      const reaches = USAGE_REACHES.filter((candidate) => usageRefusal(actor, candidate) === undefined);
      const allowance = reach === 'me' && actor.owner.platform !== 'host' ? ledger.allowance(actor.owner) : undefined;
      return { ...ledger.report(scope, period as UsagePeriod), reaches, ...(allowance === undefined ? {} : { allowance: { ...allowance, over: allowance.over === undefined ? undefined : { ...allowance.over, mode: ledger.over } } }) };
    });
    app.get('/api/queue', (request) => this.#options.live.snapshot(viewerOf(request)));
    app.get('/api/workers', async (request) => ({ workers: (await this.#options.workers.list()).map((worker) => this.#workerAsSeenBy(worker, viewerOf(request))) }));
    app.get('/api/events', (request, reply) => {
      const viewer = viewerOf(request);
      const session = request.webSession!.token;
      const open = [...this.#streams].filter((entry) => entry.session === session);
      for (const old of open.slice(0, Math.max(0, open.length - STREAMS_PER_SESSION + 1))) old.stream.close();
      reply.hijack();
      const stream: EventStream = new EventStream(reply.raw, () => this.#options.live.snapshot(viewer), () => this.#streams.delete(entry));
      const entry = { viewer, session, stream };
      this.#streams.add(entry);
    });
    app.post<{ Params: { id: string } }>('/api/jobs/:id/cancel', async (request, reply) => {
      const viewer = viewerOf(request);
      const job = JOB_ID.test(request.params.id) ? this.#options.jobs.get(request.params.id) : undefined;
      if (job === undefined || (!viewerMaySee(job, viewer) && !viewerMayCancel(job, viewer))) return reply.code(404).send({ error: 'no such job' });
      if (!viewerMayCancel(job, viewer)) return reply.code(403).send({ error: 'only the person who asked for this image (or an admin) can cancel it' });
      const cancelled = await this.#options.jobs.cancel(job.id, viewer.actor);
      this.#options.log?.('info', 'cancelled from the dashboard', { jobId: job.id, by: viewer.actor.owner.name });
      if (isAdminAction(job, viewer.actor)) this.#options.audit?.record(jobAuditRecord('cancel', job, viewer.actor, 'dashboard', cancelled.state));
      return { state: cancelled.state };
    });
    for (const action of ['pause', 'resume'] as const) {
      app.post(`/api/queue/${action}`, async (request, reply) => {
        const lane = this.#options.lane;
        if (lane === undefined) return reply.code(409).send({ error: 'this queue cannot be paused from here' });
        if (!viewerMayPause(viewerOf(request))) return reply.code(403).send({ error: 'only the bot’s admins can pause the queue' });
        if (action === 'pause') await lane.pause();
        else await lane.resume();
        this.#options.live.changed();
        this.#options.log?.('info', `queue ${action}d from the dashboard`, { by: viewerOf(request).actor.owner.name });
        this.#options.audit?.record({ action, actor: viewerOf(request).actor, via: 'dashboard' });
        return { paused: lane.paused };
      });
    }
  }

  /** Models a gallery may be filtered by: those offered now, and those of the pictures kept. */
  #knownModels(): string[] {
    return [...new Set([...this.#options.models(), ...this.#options.store.pictureModels()])].sort();
  }

  #gallerySearch(query: GalleryQuery): ReturnType<typeof parseGalleryQuery> {
    const search = parseGalleryQuery(query);
    if (search.model === undefined) return search;
    const known = this.#knownModels();
    if (!known.includes(search.model)) throw new UserError(`no picture here was drawn with a model named “${search.model}” (models: ${known.join(', ')})`);
    return search;
  }

  /** The chat platform's names for where a picture was asked, if it answers soon; ids otherwise. */
  async #origin(job: Job): Promise<ChatOrigin | undefined> {
    const surface = this.#options.surfaces?.get(job.owner.platform);
    if (surface === undefined) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => { timer = setTimeout(() => { resolve(undefined); }, ORIGIN_WAIT_MS); });
    try {
      return await Promise.race([surface.origin(job).catch((error: unknown) => {
        this.#options.log?.('warn', 'could not read where a picture was asked from its chat platform', { jobId: job.id, err: error });
        return undefined;
      }), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  #sessionOf(request: FastifyRequest): ({ readonly token: string } & WebSession) | undefined {
    return this.#currentSession(request.cookies[SESSION_COOKIE]);
  }

  /** A session as it stands now: unknown, expired, or of someone who may no longer use the dashboard, is none. */
  #currentSession(token: string | undefined): ({ readonly token: string } & WebSession) | undefined {
    const session = this.#options.signIns.session(token);
    if (session === undefined || token === undefined) return undefined;
    const viewer = this.#options.rights === undefined ? session.viewer : this.#options.rights.current(session.viewer);
    return viewer === undefined ? undefined : { token, ...session, viewer };
  }

  /**
   * A render lane as this viewer may see it: the job it draws only if they may see the job (else only that it is
   * busy), its last error (which may name files and others' jobs) only for the bot's own admins.
   */
  #workerAsSeenBy(worker: WorkerStatus, viewer: Viewer): WorkerStatus & { readonly busy?: true } {
    const { currentJobId, lastError, ...rest } = worker;
    const job = currentJobId === undefined ? undefined : this.#options.jobs.get(currentJobId);
    const visible = job !== undefined && viewerMaySee(job, viewer);
    return {
      ...rest,
      ...(currentJobId === undefined ? {} : visible ? { currentJobId } : { busy: true }),
      ...(lastError !== undefined && viewer.actor.admin === 'global' ? { lastError } : {}),
    };
  }

  /** Whether a request's Host is one of this dashboard's names (see `hostNames`). */
  #knownHost(header: string | undefined): boolean {
    if (header === undefined) return false;
    let hostname: string;
    try {
      hostname = new URL(`http://${header}`).hostname.toLowerCase();
    } catch {
      return false;
    }
    if (hostname === 'localhost' || isIP(hostname.replace(/^\[|\]$/g, '')) !== 0) return true;
    return (this.#options.hostNames ?? []).some((name) => name.toLowerCase() === hostname);
  }

  /** A picture the viewer may see whose file is still there; undefined otherwise (the same answer for all three). */
  /** A picture this viewer may be served (blurred, where held): members are never served a held one. */
  #shownPicture(id: string, viewer: Viewer): (Job & { readonly result: JobResult }) | undefined {
    const job = this.#visiblePicture(id, viewer);
    return job !== undefined && hasFlaggedPicture(job.result) && viewer.role !== 'admin' ? undefined : job;
  }

  #visiblePicture(id: string, viewer: Viewer): (Job & { readonly result: JobResult }) | undefined {
    if (!JOB_ID.test(id)) return undefined;
    const job = this.#options.store.picture(id);
    return job !== undefined && hasResult(job) && viewerMaySee(job, viewer) ? job : undefined;
  }

  /** A browser that sends an Origin (every modern one does on a POST) must send this server's own. */
  #sameOrigin(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false;
    }
  }

  #unauthorized(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const wantsPage = request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
    return wantsPage ? this.#page(reply.code(401), 'signed-out') : reply.code(401).send({ error: 'sign in with a link from /imagine web (or npx imagine web link on the host)' });
  }

  #page(reply: FastifyReply, page: Page): FastifyReply {
    return reply.type('text/html; charset=utf-8').send(this.#pages.get(page));
  }
}

/** Every page once, at start: the shared layout around the page's own body (and the navigation when signed in). */
function composePages(): ReadonlyMap<Page, string> {
  const read = (name: string) => readFileSync(new URL(name, PUBLIC_FOLDER), 'utf8');
  const layout = read('layout.html');
  const nav = read('nav.html');
  return new Map(
    (Object.keys(PAGES) as Page[]).map((page) => {
      const body = (PAGES[page].signedIn ? nav : '') + read(`${page}.html`);
      // Functions as replacements, so that no `$` in a page is read as a pattern.
      return [page, layout.replace('{{title}}', () => PAGES[page].title).replace('{{page}}', () => page).replace('{{body}}', () => body)];
    }),
  );
}

/** A search's conditions without its page (the viewer steps over page breaks). */
function withoutPaging(search: PictureSearch): Omit<PictureSearch, 'before' | 'limit'> {
  const { words, requester, model, mine, from, until } = search;
  return { ...(words === undefined ? {} : { words }), ...(requester === undefined ? {} : { requester }), ...(model === undefined ? {} : { model }), ...(mine === undefined ? {} : { mine }), ...(from === undefined ? {} : { from }), ...(until === undefined ? {} : { until }) };
}

function hasResult(job: Job): job is Job & { readonly result: JobResult } {
  return job.result !== undefined;
}
