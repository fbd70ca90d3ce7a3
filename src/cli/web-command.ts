import { join } from 'node:path';
import { Command } from 'commander';
import { dashboardUrl, loadConfig } from '../config.js';
import { UserError } from '../core/errors.js';
import { signInUrl } from '../web/dashboard-links.js';
import { SignInStore } from '../web/sign-in-store.js';
import { HOST_ADMIN } from '../web/web-viewer.js';

/** The CLI answers nobody else while it waits, so it may wait for the running bot's lock as long as it takes a person to notice. */
const CLI_BUSY_TIMEOUT_MS = 5000;

/** `imagine web link`: a one-time admin sign-in link for whoever can run commands on the bot's machine. */
export function webCommand(): Command {
  const web = new Command('web').description('the web dashboard (WEB_PORT)');
  web
    .command('link')
    .description('print a one-time admin sign-in link to the dashboard (reads DATA_DIR, WEB_PORT and WEB_PUBLIC_URL like npm start)')
    .action(async () => {
      const config = loadConfig();
      if (config.WEB_PUBLIC_URL === undefined && (config.WEB_PORT === undefined || config.WEB_PORT === 0)) {
        throw new UserError(
          config.WEB_PORT === undefined
            ? 'the dashboard is off: set WEB_PORT (e.g. WEB_PORT=8080 in .env), restart the bot, then ask again'
            : 'WEB_PORT=0 picks a different port at every start: set a fixed WEB_PORT or WEB_PUBLIC_URL',
        );
      }
      const store = new SignInStore(join(config.DATA_DIR, 'web.sqlite'), Date.now, CLI_BUSY_TIMEOUT_MS);
      try {
        const link = signInUrl(dashboardUrl(config, config.WEB_PORT ?? 0), store.issueLink(HOST_ADMIN));
        process.stdout.write(`${link}\n`);
        process.stderr.write('It signs one browser in as the bot’s admin, once, within 15 minutes.\n');
        if (!(await answers(new URL('/healthz', link)))) process.stderr.write(`Nothing answers at ${new URL(link).origin} right now: the link works once the bot runs (npm start, with WEB_PORT or WEB_PUBLIC_URL as here).\n`);
      } finally {
        store.close();
      }
    });
  return web;
}

/** Whether the dashboard answers at all (any HTTP status counts: only a connection matters here). */
async function answers(url: URL): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' });
    return true;
  } catch {
    return false;
  }
}
