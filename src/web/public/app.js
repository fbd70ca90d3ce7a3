// The dashboard's one script: no framework, no build step. Everything a person typed reaches the page through
// textContent or an attribute value, never through HTML.

const page = document.body.dataset.page;

/** Creates an element with properties and children (strings become text nodes). */
function element(tag, properties = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(properties)) {
    if (value === undefined || value === null) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-') || key.startsWith('aria-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

let me;

async function api(path, options = {}) {
  const headers = { accept: 'application/json', ...(options.method === 'POST' ? { 'x-csrf-token': me?.csrf ?? '' } : {}), ...(options.contentType === undefined ? {} : { 'content-type': options.contentType }) };
  const response = await fetch(path, { method: options.method, body: options.body, headers, credentials: 'same-origin' });
  if (response.status === 401) {
    location.reload();
    throw new Error('signed out');
  }
  const body = response.status === 204 ? {} : await response.json();
  if (!response.ok) throw new Error(body.error ?? `the server answered ${response.status}`);
  return body;
}

function show(id, text) {
  const node = document.getElementById(id);
  node.textContent = text;
  node.hidden = text === '';
}

function formatDate(ms) {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A picture's size as a person says it: how it was drawn, and what became of it. */
function sizeWords(picture) {
  if (picture.count > 1) return `a grid of ${picture.count} pictures, each drawn at ${picture.renderedSize} (the file: ${picture.size})`;
  if (picture.upscaler === 'none' || picture.size === picture.renderedSize) return `${picture.size}, as drawn`;
  return `${picture.size}: drawn at ${picture.renderedSize}, upscaled with ${picture.upscaler}`;
}

function formatBytes(bytes) {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
}

function formatSeconds(ms) {
  return ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

async function header() {
  me = await api('/api/me');
  document.getElementById('who').textContent = `${me.name}${me.role === 'member' ? ' (member)' : ''}`;
  for (const link of document.querySelectorAll('[data-nav]')) link.classList.toggle('current', link.dataset.nav === page);
  document.querySelector('[data-nav="audit"]').hidden = me.role !== 'admin';
  document.getElementById('sign-out').addEventListener('click', async () => {
    await api('/signout', { method: 'POST' });
    location.href = '/';
  });
}

/**
 * The live feed: queue snapshots and new pictures. EventSource reconnects by itself; while it cannot, the page says
 * the bot is away and offers no action on what may be stale, and once it is back `resync` reads what changed meanwhile
 * (a picture that finished while the bot restarted sends no event).
 */
function events(handlers, resync) {
  let away = false;
  const connect = () => {
    const source = new EventSource('/api/events');
    for (const [name, handler] of Object.entries(handlers)) source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
    source.addEventListener('open', () => {
      if (!away) return;
      away = false;
      document.body.classList.remove('disconnected');
      show('connection', '');
      for (const id of ['queue-message', 'gallery-message']) if (document.getElementById(id)?.dataset.lost === 'true') show(id, '');
      void resync?.();
    });
    source.addEventListener('error', () => {
      if (!away) {
        away = true;
        document.body.classList.add('disconnected');
        show('connection', 'The bot cannot be reached right now (it may be restarting); reconnecting…');
      }
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
  };
  connect();
}

/** An error for `id`'s message: while the bot is away, the connection banner says it already. */
function showError(id, error) {
  const away = document.body.classList.contains('disconnected') || error instanceof TypeError;
  show(id, away ? '' : error.message);
  document.getElementById(id).dataset.lost = String(away);
}

/** Where a signed-out visitor wanted to go, kept for a quarter of an hour so that signing in leads there. */
const RETURN_KEY = 'imagine.return';
const RETURNABLE = /^\/(pictures\/[0-9a-f-]{36}|queue|usage|audit)?(\?[^#]*)?$/;

function rememberReturn() {
  const path = location.pathname + location.search;
  if (path !== '/' && RETURNABLE.test(path)) localStorage.setItem(RETURN_KEY, JSON.stringify({ path, at: Date.now() }));
}

/** The page a visitor asked for before signing in, once (undefined when none, or stale, or not one of ours). */
function takeReturn() {
  const kept = localStorage.getItem(RETURN_KEY);
  localStorage.removeItem(RETURN_KEY);
  try {
    const { path, at } = JSON.parse(kept ?? 'null') ?? {};
    return typeof path === 'string' && RETURNABLE.test(path) && Date.now() - at < 15 * 60 * 1000 ? path : undefined;
  } catch {
    return undefined;
  }
}

// ---- Gallery

/** The search fields the address carries; `mine` is a checkbox. */
const SEARCH_FIELDS = ['q', 'mine', 'requester', 'model', 'from', 'to'];
const FILTER_FIELDS = ['mine', 'requester', 'model', 'from', 'to'];
/** The browser's time zone: a day in the filter is this person's day, as the cards' times are. */
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const GALLERY_KEY = 'imagine.gallery';

/** The gallery search in the address, as the API reads it (days in this browser's time zone). */
function searchOfAddress() {
  const address = new URLSearchParams(location.search);
  const search = new URLSearchParams();
  for (const name of SEARCH_FIELDS) if (address.get(name)) search.set(name, address.get(name));
  return search;
}

function apiSearch(search) {
  const query = new URLSearchParams(search);
  if (query.has('from') || query.has('to')) query.set('zone', ZONE);
  return query;
}

/** What stands in a held picture's place: members never load it; admins load its blurred thumbnail. */
function heldImage(picture, size) {
  if (me.role !== 'admin') return element('span', { className: 'held-tile', text: 'Held back by the safety check' });
  return element('img', { src: picture.thumbnailUrl, alt: `${picture.prompt} (held back by the safety check, blurred)`, loading: 'lazy', ...size, className: 'held' });
}

/** A thumbnail's box: 384 pixels on its long side, in the picture's own shape. */
function thumbnailSize(picture) {
  const scale = 384 / Math.max(picture.width, picture.height, 1);
  return { width: Math.max(1, Math.round(picture.width * scale)), height: Math.max(1, Math.round(picture.height * scale)) };
}

function galleryCard(picture, search) {
  const size = thumbnailSize(picture);
  const query = search.size === 0 ? '' : `?${search}`;
  return element(
    'li',
    { className: 'card', 'data-id': picture.id },
    element(
      'a',
      { href: `/pictures/${picture.id}${query}`, title: picture.prompt },
      picture.held ? heldImage(picture, size) : element('img', { src: picture.thumbnailUrl, alt: picture.prompt, loading: 'lazy', ...size }),
      element('span', { className: 'caption', text: picture.prompt }),
      element('span', { className: 'meta', text: `${picture.requester} · ${picture.model} · ${formatDate(picture.finishedAt)}` }),
    ),
  );
}

async function galleryPage() {
  const form = document.getElementById('search');
  const list = document.getElementById('gallery');
  const sentinel = document.getElementById('more');
  const filters = document.getElementById('filters');
  const modelSelect = form.elements.model;
  for (const model of me.models) modelSelect.append(element('option', { value: model, text: model }));
  // The page puts people back where they were (Back from a picture): the browser's own guess would come too early.
  history.scrollRestoration = 'manual';
  const fromAddress = () => {
    const address = new URLSearchParams(location.search);
    for (const name of SEARCH_FIELDS) {
      if (name === 'mine') form.elements.mine.checked = address.get('mine') === '1';
      else form.elements[name].value = address.get(name) ?? '';
    }
    const set = FILTER_FIELDS.filter((name) => address.get(name)).length;
    document.getElementById('filter-count').textContent = set === 0 ? '' : `(${set})`;
    if (set > 0) filters.open = true;
  };
  fromAddress();
  let next;
  let loading = false;
  let done = false;
  let search = searchOfAddress();

  async function load(reset, wanted = 0) {
    if (loading || (done && !reset)) return;
    loading = true;
    try {
      do {
        const query = apiSearch(search);
        if (!reset && next !== undefined) query.set('before', next);
        // Back from a picture: as many as were loaded then, so that the place scrolled to exists.
        if (wanted > 0) query.set('limit', String(Math.min(60, Math.max(24, wanted - list.children.length))));
        const answer = await api(`/api/pictures?${query}`);
        if (reset) list.replaceChildren();
        reset = false;
        for (const picture of answer.pictures) list.append(galleryCard(picture, search));
        next = answer.next;
        done = next === undefined;
      } while (!done && list.children.length < wanted);
      show('gallery-message', list.children.length === 0 ? (search.size > 0 ? 'No picture matches.' : 'No pictures yet: ask for one with /imagine in chat.') : '');
    } catch (error) {
      // Results of an earlier search must not stand under a search that failed (an unknown model, a day that is none).
      if (reset) list.replaceChildren();
      done = true;
      showError('gallery-message', error);
    } finally {
      loading = false;
    }
  }

  const searchAgain = () => {
    search = searchOfAddress();
    done = false;
    next = undefined;
    return load(true);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const name of SEARCH_FIELDS) {
      if (name === 'mine') {
        if (form.elements.mine.checked) query.set('mine', '1');
      } else if (form.elements[name].value !== '') query.set(name, form.elements[name].value);
    }
    const address = query.size === 0 ? '/' : `/?${query}`;
    // Each search is a step Back returns to.
    if (address !== location.pathname + location.search) history.pushState(null, '', address);
    fromAddress();
    void searchAgain();
  });
  for (const name of FILTER_FIELDS) form.elements[name].addEventListener('change', () => form.requestSubmit());
  document.getElementById('clear-filters').addEventListener('click', () => {
    for (const name of FILTER_FIELDS) {
      if (name === 'mine') form.elements.mine.checked = false;
      else form.elements[name].value = '';
    }
    form.requestSubmit();
  });
  window.addEventListener('popstate', () => {
    fromAddress();
    void searchAgain();
  });
  // Leaving for a picture: how much was loaded and where the page was, for Back (and the viewer's Escape).
  list.addEventListener('click', (event) => {
    if (event.target.closest('.card a') === null) return;
    history.replaceState({ loaded: list.children.length, scrollY: window.scrollY }, '', location.href);
    sessionStorage.setItem(GALLERY_KEY, location.pathname + location.search);
  });
  const kept = history.state;
  await load(true, typeof kept?.loaded === 'number' ? kept.loaded : 0);
  if (typeof kept?.scrollY === 'number') window.scrollTo(0, kept.scrollY);
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) void load(false);
  }, { rootMargin: '600px' }).observe(sentinel);
  events({
    picture(picture) {
      // A new picture shows at once in the unfiltered gallery; a search shows it when searched again.
      if (search.size > 0 || list.querySelector(`[data-id="${picture.id}"]`) !== null) return;
      list.prepend(galleryCard(picture, search));
      show('gallery-message', '');
    },
  }, searchAgain);
}

// ---- One picture

/** Asks before something that cannot be undone; resolves true when the person confirms. */
function confirmAction(text, yes, no) {
  let dialog = document.getElementById('confirm');
  if (dialog === null) {
    dialog = element(
      'dialog',
      { id: 'confirm', className: 'confirm', 'aria-labelledby': 'confirm-text' },
      element('form', { method: 'dialog' }, element('p', { id: 'confirm-text' }), element('div', { className: 'action-row' }, element('button', { value: 'yes', id: 'confirm-yes', className: 'danger' }), element('button', { value: 'no', id: 'confirm-no', className: 'quiet' }))),
    );
    document.body.append(dialog);
  }
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-yes').textContent = yes;
  document.getElementById('confirm-no').textContent = no;
  dialog.returnValue = '';
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      opener?.focus?.();
      resolve(dialog.returnValue === 'yes');
    }, { once: true });
    dialog.showModal();
    // The safe answer has the focus: Enter keeps the picture.
    document.getElementById('confirm-no').focus();
  });
}

async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Over plain http (not localhost) the clipboard API is missing: copy through a selected field.
    const field = element('textarea', { value: text, className: 'visually-hidden', 'aria-hidden': 'true' });
    document.body.append(field);
    field.select();
    document.execCommand('copy');
    field.remove();
  }
  document.getElementById('copy-result').textContent = `Copied the ${what}.`;
}

/** The chat message's address, only when it is a web link (never a script or another scheme). */
function chatLink(picture) {
  return typeof picture.link === 'string' && /^https:\/\//.test(picture.link) ? picture.link : undefined;
}

async function picturePage() {
  const id = location.pathname.split('/')[2];
  const search = searchOfAddress();
  const galleryAddress = sessionStorage.getItem(GALLERY_KEY) ?? (search.size === 0 ? '/' : `/?${search}`);
  const back = document.getElementById('back-to-gallery');
  back.href = galleryAddress;
  const toGallery = () => {
    // Came from the gallery: Back returns to its entry, with its pictures and scroll; else open it.
    if (sessionStorage.getItem(GALLERY_KEY) !== null && history.length > 1) history.back();
    else location.href = galleryAddress;
  };
  back.addEventListener('click', (event) => {
    event.preventDefault();
    toGallery();
  });
  let picture;
  try {
    picture = await api(`/api/pictures/${encodeURIComponent(id)}`);
  } catch (error) {
    show('picture-message', error.message);
    return;
  }
  document.title = `${picture.prompt.slice(0, 60)} · imagine`;
  const image = document.getElementById('picture-image');
  image.width = picture.width;
  image.height = picture.height;
  const download = document.getElementById('picture-download');
  if (picture.held) {
    showHeld(picture, image, download);
  } else {
    image.src = picture.imageUrl;
    image.alt = picture.prompt;
    document.getElementById('picture-link').href = picture.imageUrl;
    download.href = picture.downloadUrl;
  }
  document.getElementById('picture-prompt').textContent = picture.prompt;
  const rows = [
    ['Negative prompt', picture.negativePrompt || '—'],
    ['Requested by', picture.requester],
    ['Asked in', picture.where],
    ['Finished', formatDate(picture.finishedAt)],
    ['Model', picture.model],
    ['Seed', String(picture.seed)],
    ['Steps', String(picture.steps)],
    ['Guidance', String(picture.guidance)],
    ['Sampler', picture.scheduler],
    ['Size', sizeWords(picture)],
    ['File', `${picture.format.toUpperCase()}, ${formatBytes(picture.bytes)}`],
    ['Render time', formatSeconds(picture.durationMs)],
    ...(picture.private ? [['Visibility', 'private']] : []),
  ];
  const link = chatLink(picture);
  document.getElementById('picture-parameters').replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const cell = element('dd', { text: value, 'data-field': name });
      if (name === 'Asked in' && link !== undefined) cell.append(' · ', element('a', { href: link, target: '_blank', rel: 'noopener noreferrer', id: 'chat-link', text: 'open the message' }));
      return [element('dt', { text: name }), cell];
    }),
  );
  document.getElementById('picture-command').value = picture.command;
  const copies = { command: picture.command, prompt: picture.prompt, seed: String(picture.seed) };
  for (const button of document.querySelectorAll('[data-copy]')) button.addEventListener('click', () => void copyText(copies[button.dataset.copy], button.dataset.copy));
  pictureActions(picture, toGallery);
  document.getElementById('picture').hidden = false;
  void pictureSteps(id, search);
}

/** Previous and next in the gallery's order (its search), by link and by the arrow keys; Escape returns to it. */
async function pictureSteps(id, search) {
  let neighbours = {};
  try {
    neighbours = await api(`/api/pictures/${encodeURIComponent(id)}/neighbours?${apiSearch(search)}`);
  } catch {
    // Not among the search's pictures (it changed meanwhile): no steps, the page itself still shows.
  }
  const query = search.size === 0 ? '' : `?${search}`;
  const steps = { newer: neighbours.newer, older: neighbours.older };
  for (const [name, target] of Object.entries(steps)) {
    const link = document.getElementById(`picture-${name}`);
    link.hidden = target === undefined;
    if (target !== undefined) link.href = `/pictures/${target}${query}`;
  }
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.target.closest('input, textarea, select, dialog') !== null) return;
    // Stepping replaces this entry: Back (or Escape) still returns to the gallery in one step.
    const step = event.key === 'ArrowLeft' ? steps.newer : event.key === 'ArrowRight' ? steps.older : undefined;
    if (step !== undefined) {
      event.preventDefault();
      location.replace(`/pictures/${step}${query}`);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      document.getElementById('back-to-gallery').click();
    }
  });
}

/** The picture's buttons, as under it in chat: each a POST; what the bot answers is shown under them. */
function pictureActions(picture, toGallery) {
  const panel = document.getElementById('picture-actions');
  const result = document.getElementById('action-result');
  panel.hidden = !picture.mayAct;
  const grid = document.getElementById('grid-actions');
  if (picture.count > 1) {
    for (const action of ['upscale', 'vary']) {
      for (let number = 1; number <= picture.count; number++) {
        const label = `${action === 'upscale' ? 'U' : 'V'}${number}`;
        grid.append(element('button', { type: 'button', className: 'quiet', text: label, 'data-action': action, 'data-picture': String(number), 'aria-label': `${action === 'upscale' ? 'Upscale' : 'Vary'} picture ${number} of the grid` }));
      }
    }
    grid.hidden = false;
  }
  panel.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-action]');
    if (button === null) return;
    button.disabled = true;
    result.textContent = '';
    try {
      const body = button.dataset.picture === undefined ? {} : { picture: Number(button.dataset.picture) };
      const answer = await api(`/api/pictures/${picture.id}/actions/${button.dataset.action}`, { method: 'POST', body: JSON.stringify(body), contentType: 'application/json' });
      result.textContent = answer.message;
    } catch (error) {
      result.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  const remove = document.getElementById('delete-picture');
  remove.hidden = !picture.mayDelete;
  remove.addEventListener('click', async () => {
    const others = picture.requester !== me.name ? ` It is ${picture.requester}’s; this is logged.` : '';
    if (!(await confirmAction(`Delete this picture? Its file and its chat message go.${others}`, 'Delete the picture', 'Keep it'))) return;
    try {
      await api(`/api/pictures/${picture.id}/actions/delete`, { method: 'POST', body: '{}', contentType: 'application/json' });
      toGallery();
    } catch (error) {
      result.textContent = error.message;
    }
  });
}

/**
 * A picture the safety check held back. A member is told so and loads nothing of it; an admin sees it blurred and
 * may reveal it: a POST the server logs, whose bytes are shown (and offered for download) from memory.
 */
function showHeld(picture, image, download) {
  const note = document.getElementById('picture-held');
  note.hidden = false;
  download.hidden = true;
  if (me.role !== 'admin') {
    document.getElementById('picture-link').hidden = true;
    note.textContent = 'The safety check held this picture back, so it is not shown.';
    return;
  }
  note.textContent = 'The safety check held this picture back. It is blurred; revealing it is logged.';
  image.src = picture.imageUrl;
  image.alt = `${picture.prompt} (held back by the safety check, blurred)`;
  image.classList.add('held');
  const reveal = element('button', { type: 'button', text: 'Reveal' });
  reveal.addEventListener('click', async () => {
    reveal.disabled = true;
    try {
      const response = await fetch(`/api/pictures/${encodeURIComponent(picture.id)}/reveal`, { method: 'POST', headers: { 'x-csrf-token': me.csrf }, credentials: 'same-origin' });
      if (!response.ok) throw new Error((await response.json()).error ?? `the server answered ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      image.src = url;
      image.alt = picture.prompt;
      image.classList.remove('held');
      download.href = url;
      download.hidden = false;
      reveal.remove();
      note.textContent = 'The safety check held this picture back. You revealed it (logged).';
    } catch (error) {
      note.textContent = error.message;
      reveal.disabled = false;
    }
  });
  note.after(reveal);
}

// ---- Queue and workers

/** "1 min 5 s" for elapsed and remaining times. */
function formatClock(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** A running job's time so far and what is left, counted on the server's clock (the snapshot's `at`). */
function runningTime(job, snapshotAt, receivedAt) {
  const elapsed = snapshotAt - job.startedAt + (Date.now() - receivedAt);
  const left = job.remainingMs - (Date.now() - receivedAt);
  return `${formatClock(elapsed)} so far${left >= 1000 ? `, about ${formatClock(left)} left` : ', finishing'}`;
}

function queueEntry(job) {
  const item = element('li', { className: `job ${job.state}`, 'data-id': job.id });
  const preview = element('img', { className: 'preview', alt: '', width: 96, height: 96 });
  const title = element('span', { className: 'prompt' });
  const who = element('span', { className: 'meta' });
  const bar = element('progress', { className: 'bar', max: 1, value: 0 });
  const stage = element('span', { className: 'stage' });
  const time = element('span', { className: 'time' });
  const cancel = element('button', { type: 'button', className: 'cancel', text: 'Cancel' });
  let latest = job;
  cancel.addEventListener('click', async () => {
    // Someone else's picture: an admin is asked first (nothing brings a cancelled picture back).
    if (!latest.mine && !(await confirmAction(`Cancel ${latest.requester}’s picture “${latest.prompt}”? They are told, and it is logged.`, 'Cancel the picture', 'Keep it'))) return;
    cancel.disabled = true;
    try {
      await api(`/api/jobs/${job.id}/cancel`, { method: 'POST' });
      // The job leaves the list with its button: focus goes to the list's heading, not to the page's body.
      document.getElementById('queue-title').focus();
    } catch (error) {
      show('queue-message', error.message);
      cancel.disabled = false;
    }
  });
  item.append(preview, element('div', { className: 'what' }, title, who, element('div', { className: 'progress' }, bar, stage), time), cancel);
  item.update = (next) => {
    latest = next;
    item.className = `job ${next.state}`;
    title.textContent = next.prompt;
    cancel.setAttribute('aria-label', `Cancel “${next.prompt}”`);
    bar.setAttribute('aria-label', `Progress of “${next.prompt}”`);
    who.textContent = `${next.requester} · ${next.model}`;
    stage.textContent = next.state === 'running' ? (next.stage ?? 'starting') : next.wait;
    bar.hidden = next.state !== 'running';
    time.hidden = next.startedAt === undefined;
    if (next.fraction !== undefined) bar.value = next.fraction;
    preview.hidden = next.preview === undefined;
    if (next.preview !== undefined && preview.src !== next.preview) preview.src = next.preview;
    cancel.hidden = !next.mayCancel;
  };
  item.tick = (snapshotAt, receivedAt) => {
    if (latest.startedAt !== undefined) time.textContent = runningTime(latest, snapshotAt, receivedAt);
  };
  item.update(job);
  return item;
}

let drawnRunning;
let lastSnapshot;
let lastSnapshotReceivedAt = 0;
/** The button to focus once the next snapshot shows it (after Pause, Resume takes its place). */
let focusAfterDraw;

/** What a screen reader hears when the queue changes: what is drawn now, and how many wait. */
function queueAnnouncement(snapshot) {
  const running = snapshot.jobs.filter((job) => job.state === 'running').map((job) => `“${job.prompt}”`);
  const waiting = snapshot.jobs.length - running.length;
  return `${running.length === 0 ? 'No picture is drawn now' : `Drawing ${running.join(' and ')}`}; ${waiting} waiting${snapshot.paused === true ? '; the queue is paused' : ''}.`;
}

function drawQueue(snapshot) {
  lastSnapshot = snapshot;
  lastSnapshotReceivedAt = Date.now();
  // The workers table says what each lane draws: read it again when that changes, not only every few seconds.
  const running = snapshot.jobs.filter((job) => job.state === 'running').map((job) => job.id).join(',');
  if (running !== drawnRunning) {
    drawnRunning = running;
    void drawWorkers();
  }
  const list = document.getElementById('queue');
  const existing = new Map([...list.children].map((item) => [item.dataset.id, item]));
  const items = snapshot.jobs.map((job) => {
    const item = existing.get(job.id) ?? queueEntry(job);
    item.update(job);
    item.tick(snapshot.at, lastSnapshotReceivedAt);
    return item;
  });
  list.replaceChildren(...items);
  document.getElementById('queue-empty').hidden = snapshot.jobs.length + snapshot.others > 0;
  const others = document.getElementById('queue-others');
  others.hidden = snapshot.others === 0;
  others.textContent = `${snapshot.jobs.length === 0 ? '' : 'And '}${snapshot.others} ${snapshot.others === 1 ? 'picture' : 'pictures'} you may not see (private, or from another server or workspace).`;
  const lane = document.getElementById('lane-state');
  lane.hidden = snapshot.paused !== true;
  lane.textContent = 'paused: nothing new starts';
  document.getElementById('pause').hidden = !(snapshot.mayPause && snapshot.paused === false);
  document.getElementById('resume').hidden = !(snapshot.mayPause && snapshot.paused === true);
  const announce = document.getElementById('queue-announce');
  const words = queueAnnouncement(snapshot);
  if (announce.textContent !== words) announce.textContent = words;
  if (focusAfterDraw !== undefined) focusWhenShown(focusAfterDraw);
}

/** Focuses the button now if it shows, else once a snapshot shows it (the answer and the snapshot race). */
function focusWhenShown(id) {
  const button = document.getElementById(id);
  focusAfterDraw = button.hidden ? id : undefined;
  if (!button.hidden) button.focus();
}

/** What a worker draws, by the prompt where this viewer may see the job. */
function workerDrawing(worker) {
  if (worker.currentJobId === undefined) return worker.busy === true ? 'a picture you may not see' : (worker.renderer ?? 'idle');
  const job = lastSnapshot?.jobs.find((entry) => entry.id === worker.currentJobId);
  return job === undefined ? `job ${worker.currentJobId.slice(0, 8)}` : `“${job.prompt}”`;
}

const WORKER_COLUMNS = ['Worker', 'Device', 'Models', 'Drawing', 'Pictures/min', 'Last error'];

async function drawWorkers() {
  try {
    const { workers } = await api('/api/workers');
    document.getElementById('workers').replaceChildren(
      ...workers.map((worker) => {
        const cells = [
          worker.id,
          worker.device,
          worker.models.join(', '),
          workerDrawing(worker),
          worker.picturesPerMinute.toFixed(1),
          worker.lastError === undefined ? '—' : `${worker.lastError.message} (${formatDate(worker.lastError.at)})`,
        ];
        // Each cell names its column: on a phone the rows are cards, without the table's head.
        return element('tr', {}, ...cells.map((text, index) => element('td', { text, 'data-label': WORKER_COLUMNS[index] })));
      }),
    );
  } catch (error) {
    showError('queue-message', error);
  }
}

async function queuePage() {
  for (const action of ['pause', 'resume']) {
    document.getElementById(action).addEventListener('click', async () => {
      try {
        await api(`/api/queue/${action}`, { method: 'POST' });
        focusWhenShown(action === 'pause' ? 'resume' : 'pause');
      } catch (error) {
        show('queue-message', error.message);
      }
    });
  }
  const resync = async () => {
    drawQueue(await api('/api/queue'));
    await drawWorkers();
  };
  drawQueue(await api('/api/queue'));
  setInterval(() => void drawWorkers(), 5000);
  // The running job's clock moves between snapshots.
  setInterval(() => {
    if (lastSnapshot === undefined) return;
    for (const item of document.getElementById('queue').children) item.tick(lastSnapshot.at, lastSnapshotReceivedAt);
  }, 1000);
  events({ queue: drawQueue }, resync);
}

// ---- Audit

const AUDIT_ACTIONS = { cancel: 'cancelled', delete: 'deleted', pause: 'paused the queue', resume: 'resumed the queue', reveal: 'revealed a held picture' };

function auditRow(entry) {
  const cells = [
    formatDate(entry.at),
    `${entry.by} (${entry.byRole}, ${entry.via})`,
    AUDIT_ACTIONS[entry.action] ?? entry.action,
    entry.jobOwner === undefined ? '—' : `${entry.jobOwner}’s, job ${entry.jobId.slice(0, 8)}`,
    entry.where,
    entry.outcome ?? '—',
  ];
  return element('tr', { 'data-id': String(entry.id) }, ...cells.map((text) => element('td', { text })));
}

async function auditPage() {
  const body = document.getElementById('audit');
  const more = document.getElementById('audit-more');
  let next;
  async function load() {
    try {
      const answer = await api(`/api/audit${next === undefined ? '' : `?before=${next}`}`);
      body.append(...answer.entries.map(auditRow));
      next = answer.next;
      more.hidden = next === undefined;
      show('audit-message', body.children.length === 0 ? 'No admin action yet.' : '');
    } catch (error) {
      show('audit-message', error.message);
    }
  }
  more.addEventListener('click', () => void load());
  await load();
}

// ---- Usage

const REACH_WORDS = { me: 'Mine', server: 'This server or workspace', all: 'Everyone' };

/** Chart.js, loaded only on this page (served by the bot itself, like every file of the dashboard). */
function loadChartLibrary() {
  if (window.Chart !== undefined) return Promise.resolve(window.Chart);
  return new Promise((resolve, reject) => {
    const script = element('script', { src: '/assets/chart.js' });
    script.addEventListener('load', () => resolve(window.Chart));
    script.addEventListener('error', () => reject(new Error('the charting library could not be loaded')));
    document.head.append(script);
  });
}

function minutes(ms) {
  return Math.round(ms / 600) / 100;
}

function usageFigures(figures) {
  return `${figures.pictures} picture${figures.pictures === 1 ? '' : 's'} (${figures.jobs} job${figures.jobs === 1 ? '' : 's'}), ${formatSeconds(figures.deviceMs)} of render time`;
}

/** The hours of the day in this browser's time where its offset is whole hours; in UTC otherwise. */
function hoursOfDay(report) {
  const offset = -new Date().getTimezoneOffset();
  if (offset % 60 !== 0) return { zone: 'UTC', hours: report.hoursOfDay.map((figures, hour) => ({ hour, ...figures })) };
  const shift = offset / 60;
  const hours = report.hoursOfDay.map((_, local) => ({ hour: local, ...report.hoursOfDay[(((local - shift) % 24) + 24) % 24] }));
  return { zone: 'your time', hours };
}

async function usagePage() {
  const Chart = await loadChartLibrary();
  const style = getComputedStyle(document.documentElement);
  const accent = style.getPropertyValue('--accent').trim() || '#5b5bd6';
  const muted = style.getPropertyValue('--muted').trim() || '#6b6b70';
  Chart.defaults.color = muted;
  Chart.defaults.animation = false;
  const charts = {};
  const period = document.getElementById('usage-period');
  const scope = document.getElementById('usage-scope');
  const params = new URLSearchParams(location.search);
  if (params.has('period')) period.value = params.get('period');

  function draw(id, config, summary) {
    charts[id]?.destroy();
    const canvas = document.getElementById(id);
    canvas.setAttribute('aria-label', summary);
    charts[id] = new Chart(canvas, { ...config, options: { responsive: true, maintainAspectRatio: false, ...config.options } });
  }

  function bars(id, labels, values, label, summary) {
    draw(id, { type: 'bar', data: { labels, datasets: [{ label, data: values, backgroundColor: accent }] }, options: { indexAxis: 'y', plugins: { legend: { display: false } } } }, summary);
  }

  async function load() {
    try {
      const query = new URLSearchParams({ period: period.value, scope: scope.value || params.get('scope') || '' });
      if (query.get('scope') === '') query.delete('scope');
      const report = await api(`/api/usage?${query}`);
      if (scope.options.length === 0) {
        scope.append(...report.reaches.map((reach) => element('option', { value: reach, text: REACH_WORDS[reach] })));
        scope.value = query.get('scope') ?? 'me';
      }
      history.replaceState(null, '', `/usage?${new URLSearchParams({ period: period.value, scope: scope.value })}`);
      show('usage-message', report.totals.jobs === 0 ? 'Nothing was drawn in this period.' : '');
      document.getElementById('usage-totals').textContent = usageFigures(report.totals);
      const allowance = document.getElementById('usage-allowance');
      allowance.hidden = report.allowance === undefined;
      if (report.allowance !== undefined) {
        const { limits, pictures, pendingPictures, deviceMs, over } = report.allowance;
        const parts = [];
        if (limits.pictures > 0) parts.push(`${Math.max(0, limits.pictures - pictures - pendingPictures)} of ${limits.pictures} pictures`);
        if (limits.deviceSeconds > 0) parts.push(`${formatSeconds(Math.max(0, limits.deviceSeconds * 1000 - deviceMs))} of ${formatSeconds(limits.deviceSeconds * 1000)}`);
        allowance.textContent = `Left in your rolling 24 hours: ${parts.join(' and ')}.${over === undefined ? '' : over.availableAt === undefined ? ' You are over your allowance.' : ` You are over your allowance until ${formatDate(over.availableAt)}.`}`;
      }
      const day = report.bucketMs >= 86400000;
      const times = report.series.map((bucket) => new Date(bucket.start).toLocaleString(undefined, day ? { month: 'short', day: 'numeric' } : { weekday: 'short', hour: '2-digit', minute: '2-digit' }));
      draw(
        'chart-time',
        {
          type: 'bar',
          data: {
            labels: times,
            datasets: [
              { type: 'bar', label: 'Pictures', data: report.series.map((bucket) => bucket.pictures), backgroundColor: accent, yAxisID: 'pictures' },
              { type: 'line', label: 'Render minutes', data: report.series.map((bucket) => minutes(bucket.deviceMs)), borderColor: muted, backgroundColor: muted, yAxisID: 'minutes' },
            ],
          },
          options: { scales: { pictures: { position: 'left', beginAtZero: true }, minutes: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false } } } },
        },
        `Pictures and render minutes per ${day ? 'day' : 'hour'}: ${usageFigures(report.totals)} in all`,
      );
      document.getElementById('figure-people').hidden = scope.value === 'me';
      if (scope.value !== 'me') bars('chart-people', report.people.map((person) => person.name), report.people.map((person) => minutes(person.deviceMs)), 'Render minutes', `Top people by render minutes: ${report.people.map((person) => `${person.name} ${formatSeconds(person.deviceMs)}`).join(', ')}`);
      bars('chart-models', report.models.map((model) => model.model), report.models.map((model) => model.pictures), 'Pictures', `Pictures by model: ${report.models.map((model) => `${model.model} ${model.pictures}`).join(', ')}`);
      bars('chart-workers', report.workers.map((worker) => worker.worker), report.workers.map((worker) => minutes(worker.deviceMs)), 'Render minutes', `Render minutes by worker: ${report.workers.map((worker) => `${worker.worker} ${formatSeconds(worker.deviceMs)}`).join(', ')}`);
      const hours = hoursOfDay(report);
      document.getElementById('hours-zone').textContent = hours.zone;
      draw('chart-hours', { type: 'bar', data: { labels: hours.hours.map((entry) => `${String(entry.hour).padStart(2, '0')}:00`), datasets: [{ label: 'Pictures', data: hours.hours.map((entry) => entry.pictures), backgroundColor: accent }] }, options: { plugins: { legend: { display: false } } } }, `Pictures by hour of the day (${hours.zone})`);
    } catch (error) {
      show('usage-message', error.message);
    }
  }
  period.addEventListener('change', () => void load());
  scope.addEventListener('change', () => void load());
  await load();
}

const pages = { gallery: galleryPage, picture: picturePage, queue: queuePage, audit: auditPage, usage: usagePage, 'not-found': async () => undefined };
if (page === 'signed-out') rememberReturn();
if (page in pages) {
  // Signed in after following a link to a page: that page, not the gallery.
  const wanted = page === 'gallery' && location.pathname === '/' && location.search === '' ? takeReturn() : undefined;
  if (wanted !== undefined) location.replace(wanted);
  else {
    header()
      .then(() => pages[page]())
      .catch((error) => console.error(error));
  }
}
