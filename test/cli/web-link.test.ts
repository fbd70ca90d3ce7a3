import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignInStore } from '../../src/web/sign-in-store.js';
import { HOST_ADMIN } from '../../src/web/web-viewer.js';
import { imagine } from '../helpers/run-cli.js';
import { closedPort } from '../helpers/closed-port.js';
import { tempDir } from '../helpers/temp-dir.js';

test('imagine web link prints a one-time admin link into the DATA_DIR the bot reads, or says why it cannot', async () => {
  const work = await tempDir();
  const env = { DATA_DIR: join(work, 'data') };
  const off = await imagine(['web', 'link'], work, env);
  assert.equal(off.code, 2);
  assert.match(off.stderr, /the dashboard is off: set WEB_PORT/);

  const printed = await imagine(['web', 'link'], work, { ...env, WEB_PORT: '8080' });
  assert.equal(printed.code, 0, printed.stderr);
  const link = /^http:\/\/127\.0\.0\.1:8080\/signin\/([0-9a-f]{64})\n$/.exec(printed.stdout);
  assert.ok(link !== null, printed.stdout);
  const behindProxy = await imagine(['web', 'link'], work, { ...env, WEB_PORT: '8080', WEB_PUBLIC_URL: 'https://imagine.example.com/' });
  assert.match(behindProxy.stdout, /^https:\/\/imagine\.example\.com\/signin\/[0-9a-f]{64}\n$/);

  // Nothing listens there: the link is printed, and the person is told why it will not open yet.
  const port = await closedPort();
  const idle = await imagine(['web', 'link'], work, { ...env, WEB_PORT: String(port) });
  assert.equal(idle.code, 0, idle.stderr);
  assert.match(idle.stderr, new RegExp(`Nothing answers at http://127\\.0\\.0\\.1:${port} right now: the link works once the bot runs`));

  const store = new SignInStore(join(work, 'data', 'web.sqlite'));
  assert.deepEqual(store.redeem(link[1])?.session.viewer, HOST_ADMIN);
  store.close();
});
