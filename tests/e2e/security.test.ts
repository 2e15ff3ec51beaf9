import { randomUUID } from 'node:crypto';
import { AuthService, SigningKeys } from '@chiptrail/auth';
import { ManualClock } from '@chiptrail/runtime';
import { TEST_ADMIN, readJson, startTestApp, type TestApp } from '@chiptrail/testing';

/**
 * Who may call what. Every route of the OpenAPI document must be listed here, and every route is called by every
 * kind of caller: the allowed set is exactly this, nothing more.
 */
type Level = 'public' | 'viewer' | 'curator' | 'admin';
const ACCESS: Record<string, Level> = {
  'POST /api/v1/auth/login': 'public',
  'GET /api/v1/auth/me': 'viewer',
  'POST /api/v1/auth/board-session': 'curator',
  'POST /api/v1/api-keys': 'admin',
  'GET /api/v1/api-keys': 'admin',
  'DELETE /api/v1/api-keys/{id}': 'admin',
  'POST /api/v1/events': 'curator',
  'POST /api/v1/events/import': 'admin',
  'GET /api/v1/events': 'viewer',
  'GET /api/v1/events/{id}': 'viewer',
  'GET /api/v1/feed.atom': 'viewer',
  'POST /api/v1/feeds': 'admin',
  'GET /api/v1/feeds': 'curator',
  'GET /api/v1/feeds/{id}': 'curator',
  'PATCH /api/v1/feeds/{id}': 'admin',
  'DELETE /api/v1/feeds/{id}': 'admin',
  'POST /api/v1/feeds/{id}/poll': 'curator',
  'GET /api/v1/inbox': 'curator',
  'GET /api/v1/inbox/counts': 'curator',
  'GET /api/v1/inbox/{id}': 'curator',
  'POST /api/v1/inbox/{id}/approve': 'curator',
  'POST /api/v1/inbox/{id}/reject': 'curator',
  'GET /api/v1/chips': 'viewer',
  'GET /api/v1/chips/{chip}': 'viewer',
  'GET /api/v1/chips/{chip}/status': 'viewer',
  'GET /api/v1/chips/{chip}/timeline': 'viewer',
  'POST /api/v1/status/check': 'viewer',
  'GET /api/v1/status.csv': 'viewer',
  'POST /api/v1/subscriptions': 'viewer',
  'GET /api/v1/subscriptions': 'viewer',
  'GET /api/v1/subscriptions/confirm': 'public',
  'POST /api/v1/subscriptions/confirm': 'public',
  'GET /api/v1/subscriptions/unsubscribe': 'public',
  'POST /api/v1/subscriptions/unsubscribe': 'public',
  'GET /api/v1/subscriptions/{id}': 'viewer',
  'POST /api/v1/subscriptions/{id}/pause': 'viewer',
  'POST /api/v1/subscriptions/{id}/resume': 'viewer',
  'POST /api/v1/subscriptions/{id}/rotate-secret': 'viewer',
  'POST /api/v1/subscriptions/{id}/recover': 'viewer',
  'DELETE /api/v1/subscriptions/{id}': 'viewer',
  'GET /api/v1/deliveries': 'viewer',
  'GET /api/v1/deliveries/{id}': 'viewer',
  'POST /api/v1/deliveries/{id}/retry': 'viewer',
  'GET /api/v1/admin/mail': 'admin',
  'GET /api/v1/admin/mail/{name}': 'admin',
  'GET /api/v1/integrity': 'viewer',
  'GET /api/v1/integrity/head': 'viewer',
  'GET /health': 'public',
  'GET /metrics': 'viewer',
};

type Caller = 'anonymous' | 'wrong key' | 'expired token' | 'viewer' | 'curator' | 'admin';
const CALLERS: readonly Caller[] = ['anonymous', 'wrong key', 'expired token', 'viewer', 'curator', 'admin'];
const RANK: Record<Level, number> = { public: 0, viewer: 1, curator: 2, admin: 3 };

describe('security', () => {
  let app: TestApp;
  let headers: Record<Caller, Record<string, string>>;

  beforeAll(async () => {
    app = await startTestApp();
    // A token that was valid for a minute, two days ago.
    const past = new AuthService(app.runtime.db, new ManualClock(new Date(Date.now() - 2 * 86_400_000)), app.app.get(SigningKeys), { tokenTtlSeconds: 60, secureCookies: false });
    const expired = (await past.login(TEST_ADMIN.email, TEST_ADMIN.password)).token;
    const viewerKey = await app.credential('viewer');
    const wrongKey = `${viewerKey.slice(0, -4)}${viewerKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    headers = {
      anonymous: {},
      'wrong key': { authorization: `Bearer ${wrongKey}` },
      'expired token': { authorization: `Bearer ${expired}` },
      viewer: { authorization: `Bearer ${viewerKey}` },
      curator: { authorization: `Bearer ${await app.credential('curator')}` },
      admin: { authorization: `Bearer ${await app.credential('admin')}` },
    };
  }, 120_000);

  afterAll(() => app?.close());

  it('every route × every caller: exactly the allowed set gets past authentication and authorisation', async () => {
    const document = (await readJson(await app.call('anonymous', 'GET', '/api/docs/openapi.json'))) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).flatMap(([route, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${route}`));
    expect(routes.sort()).toEqual(Object.keys(ACCESS).sort());

    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const route of routes) {
      const [method, template] = route.split(' ') as [string, string];
      const level = ACCESS[route]!;
      const url = template.replace('{id}', randomUUID()).replace('{chip}', 'no-such-chip').replace('{name}', 'no-such-template');
      for (const caller of CALLERS) {
        const body = ['POST', 'PATCH', 'PUT'].includes(method) ? '{}' : undefined;
        const response = await fetch(`${app.baseUrl}${url}`, {
          method,
          headers: { ...headers[caller], ...(body ? { 'content-type': 'application/json' } : {}) },
          body,
        });
        const status = response.status;
        await response.arrayBuffer();
        expect(status).toBeLessThan(500);
        const outcome = status === 401 ? 'unauthenticated' : status === 403 ? 'forbidden' : 'allowed';
        outcomes.push(`${route} as ${caller}: ${outcome}`);
        const want =
          level === 'public'
            ? 'allowed'
            : caller === 'anonymous' || caller === 'wrong key' || caller === 'expired token'
              ? 'unauthenticated'
              : RANK[caller] >= RANK[level]
                ? 'allowed'
                : 'forbidden';
        expected.push(`${route} as ${caller}: ${want}`);
      }
    }
    expect(outcomes).toEqual(expected);
    expect(outcomes).toHaveLength(Object.keys(ACCESS).length * CALLERS.length);
  }, 120_000);

  it('says why a credential is refused: missing, wrong, expired, or not enough', async () => {
    const code = async (caller: Caller, path: string) => (await readJson(await fetch(`${app.baseUrl}${path}`, { headers: headers[caller] }))).code;
    expect(await code('anonymous', '/api/v1/chips')).toBe('unauthenticated');
    expect(await code('wrong key', '/api/v1/chips')).toBe('invalid_token');
    expect(await code('expired token', '/api/v1/chips')).toBe('token_expired');
    expect(await code('viewer', '/api/v1/api-keys')).toBe('forbidden');
  });

  it("one viewer cannot see, pause or delete another viewer's subscription", async () => {
    const auth = app.app.get(AuthService);
    const other = (await auth.createApiKey('other viewer', 'viewer', { id: 'user:test', role: 'admin' })).key;
    const created = await app.call('viewer', 'POST', '/api/v1/subscriptions', { channel: 'webhook', url: 'https://hooks.example.com/x' });
    expect(created.status).toBe(201);
    const { id } = (await readJson(created)) as { id: string };
    for (const [method, path] of [['GET', `/api/v1/subscriptions/${id}`], ['POST', `/api/v1/subscriptions/${id}/pause`], ['DELETE', `/api/v1/subscriptions/${id}`]] as const) {
      const response = await fetch(`${app.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${other}` } });
      expect(response.status).toBe(404);
    }
    const list = (await (await fetch(`${app.baseUrl}/api/v1/subscriptions`, { headers: { authorization: `Bearer ${other}` } })).json()) as unknown[];
    expect(list).toHaveLength(0);
    expect((await app.call('viewer', 'GET', `/api/v1/subscriptions/${id}`)).status).toBe(200);
  });

  it('sets security headers on the api, the admin UI and the docs', async () => {
    for (const [caller, path] of [['viewer', '/api/v1/chips'], ['anonymous', '/admin'], ['anonymous', '/api/docs'], ['anonymous', '/health'], ['anonymous', '/api/v1/no-such-route']] as const) {
      const response = await fetch(`${app.baseUrl}${path}`, { headers: headers[caller] });
      await response.arrayBuffer();
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('keeps CORS closed by default: no cross-origin grant on a preflight or a request', async () => {
    const preflight = await fetch(`${app.baseUrl}/api/v1/chips`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    await preflight.arrayBuffer();
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
    const request = await fetch(`${app.baseUrl}/api/v1/chips`, { headers: { ...headers.viewer, origin: 'https://evil.example' } });
    await request.arrayBuffer();
    expect(request.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('opens CORS only to the origins listed in CORS_ORIGINS', async () => {
    const open = await startTestApp({ env: { CORS_ORIGINS: 'https://admin.example.com' } });
    try {
      const preflight = (origin: string) =>
        fetch(`${open.baseUrl}/api/v1/chips`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
      const allowed = await preflight('https://admin.example.com');
      expect(allowed.status).toBeLessThan(300);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
      const refused = await preflight('https://evil.example');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await open.close();
    }
  });

  it('rate-limits sign-in per address across replicas (counted in PostgreSQL), then lets the address in again', async () => {
    const clock = new ManualClock(new Date());
    const first = await startTestApp({ env: { LOGIN_RATE_LIMIT: '5' }, clock });
    const second = await startTestApp({ env: { LOGIN_RATE_LIMIT: '5' }, clock, database: first.database });
    try {
      const attempt = (app: TestApp, password: string) => app.call('anonymous', 'POST', '/api/v1/auth/login', { email: `nobody-${randomUUID()}@example.com`, password });
      for (let i = 0; i < 3; i += 1) expect((await attempt(first, `wrong ${i}`)).status).toBe(401);
      for (let i = 0; i < 2; i += 1) expect((await attempt(second, `wrong ${i}`)).status).toBe(401);
      const limited = await attempt(first, 'wrong again');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await readJson(limited)).toMatchObject({ status: 429, code: 'rate_limited' });
      // Blocked means blocked: the right password from this address waits too, on either replica.
      expect((await second.call('anonymous', 'POST', '/api/v1/auth/login', TEST_ADMIN)).status).toBe(429);
      clock.advance(61_000);
      expect((await first.call('anonymous', 'POST', '/api/v1/auth/login', TEST_ADMIN)).status).toBe(200);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
