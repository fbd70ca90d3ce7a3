/** Signs in to the dashboard at `base` with a sign-in link, as a browser's form does; returns the session cookie. */
export async function dashboardCookie(base: string, link: string): Promise<string> {
  const token = link.split('/').at(-1) ?? '';
  const answer = await fetch(`${base}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: `token=${token}` });
  if (answer.status !== 303) throw new Error(`sign-in answered ${answer.status}`);
  return (answer.headers.get('set-cookie') ?? '').split(';')[0];
}
