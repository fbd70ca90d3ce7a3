import { createServer } from 'node:net';

/** A loopback port nothing listens on now, for a child process that must be told its port in advance. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Signs in to the dashboard at `base` with a sign-in link, as a browser's form does; returns the session cookie. */
export async function dashboardCookie(base: string, link: string): Promise<string> {
  const token = link.split('/').at(-1) ?? '';
  const answer = await fetch(`${base}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: `token=${token}` });
  if (answer.status !== 303) throw new Error(`sign-in answered ${answer.status}`);
  return (answer.headers.get('set-cookie') ?? '').split(';')[0];
}
