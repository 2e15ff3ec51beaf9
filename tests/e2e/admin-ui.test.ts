import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { startTestApp, type TestApp } from '@chiptrail/testing';
import { adminUiDirectory } from '../../apps/api/src/admin/admin-ui';
import { buildAdminUi } from '../support/browser';

/** How the api serves the admin UI and guards Bull Board, over plain HTTP. */
let app: TestApp;

beforeAll(async () => {
  buildAdminUi();
  app = await startTestApp({ queue: 'redis' });
}, 240_000);
afterAll(() => app?.close());

async function boardCookie(role: 'curator' | 'admin'): Promise<string> {
  const response = await app.call(role, 'POST', '/api/v1/auth/board-session');
  expect(response.status).toBe(204);
  const cookie = response.headers.get('set-cookie') as string;
  expect(cookie).toMatch(/^ct_board=[^;]+; Path=\/admin\/queues; HttpOnly; SameSite=Strict; Max-Age=3600$/);
  return cookie.split(';')[0] as string;
}

describe('the admin single-page app', () => {
  it('serves the app at /admin and for every client-side route, and its assets', async () => {
    for (const route of ['/admin', '/admin/', '/admin/chips/nvidia-h20', '/admin/events/new']) {
      const response = await fetch(`${app.baseUrl}${route}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain('<div id="root"></div>');
    }
    const script = readdirSync(path.join(adminUiDirectory(), 'assets')).find((file) => file.endsWith('.js')) as string;
    const asset = await fetch(`${app.baseUrl}/admin/assets/${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    const missing = await fetch(`${app.baseUrl}/admin/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'route_not_found' });
  });
});

describe('Bull Board at /admin/queues', () => {
  it('needs the signed cookie the admin UI obtains; viewers and forged cookies are refused', async () => {
    const anonymous = await fetch(`${app.baseUrl}/admin/queues/api/queues`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'unauthenticated' });
    expect((await app.call('anonymous', 'POST', '/api/v1/auth/board-session')).status).toBe(401);
    expect((await app.call('viewer', 'POST', '/api/v1/auth/board-session')).status).toBe(403);
    const [name, value] = (await boardCookie('admin')).split('=') as [string, string];
    const [payload, signature] = value.split('.') as [string, string];
    const promoted = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin', sub: 'intruder' })).toString('base64url');
    for (const forged of [`${name}=${promoted}.${signature}`, `${name}=${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`, `${name}=garbage`]) {
      expect((await fetch(`${app.baseUrl}/admin/queues/api/queues`, { headers: { cookie: forged } })).status).toBe(401);
    }
  });

  it('shows the queues to curators read-only and lets admins act', async () => {
    const curator = await boardCookie('curator');
    const listed = await fetch(`${app.baseUrl}/admin/queues/api/queues`, { headers: { cookie: curator } });
    expect(listed.status).toBe(200);
    const names = ((await listed.json()) as { queues: Array<{ name: string }> }).queues.map((queue) => queue.name).sort();
    expect(names).toEqual(expect.arrayContaining(['deliveries', 'digests', 'feeds']));
    const page = await fetch(`${app.baseUrl}/admin/queues`, { headers: { cookie: curator } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<title>.*Bull.*<\/title>/i);

    const retry = (cookie: string) => fetch(`${app.baseUrl}/admin/queues/api/queues/feeds/retry/failed`, { method: 'PUT', headers: { cookie } });
    const refused = await retry(curator);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'forbidden' });
    expect((await retry(await boardCookie('admin'))).status).toBeLessThan(300);
  });
});
