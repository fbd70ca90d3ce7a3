import { access } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium, which `.ci/run` installs (apt-get install -y chromium). */
export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or false when they can. In CI they always run (and fail without a browser). */
export async function chromiumSkipReason(): Promise<string | false> {
  if (process.env.CI === 'true') return false;
  return access(CHROMIUM).then(
    () => false,
    () => `no browser at ${CHROMIUM}: install it with apt-get install -y chromium (.ci/run does)`,
  );
}

/** Headless Chromium as the tests drive it: no sandbox (CI runs as root), nothing fetched in the background. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
  });
}
