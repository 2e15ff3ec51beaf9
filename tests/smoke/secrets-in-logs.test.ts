import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { environment } from '@chiptrail/config';
import { createTestDatabase, freePort, spawnProcess, waitForHttp, type Spawned, type TestDatabase } from '@chiptrail/testing';

const root = path.resolve(__dirname, '../..');

/**
 * The whole product (api and worker) at the most talkative log level, handed every kind of secret: configured ones,
 * passwords in sign-ins (right and wrong, in bodies that fail validation), API keys in headers, webhook signing
 * secrets. None of them may appear in anything it writes.
 */
describe('secrets never reach the logs', () => {
  let database: TestDatabase;
  let product: Spawned | undefined;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-needed'], { cwd: root, stdio: 'inherit' });
    database = await createTestDatabase('secrets');
  }, 180_000);

  afterAll(async () => {
    product?.kill('SIGTERM');
    if (product) await product.exited;
    await database?.drop();
  });

  it('writes no password, token, API key, signing secret or configured secret at LOG_LEVEL=debug', async () => {
    const port = await freePort();
    const adminPassword = 'Pa55-admin-secret-7f3c91';
    const tokenSecret = 'token-secret-5c2a8e1d9b7f4a6c3e0d2b8a';
    const outer = environment();
    product = spawnProcess(process.execPath, [path.join(root, 'dist/apps/launcher/src/main.js')], {
      cwd: root,
      env: {
        PATH: outer.PATH,
        HOME: outer.HOME,
        PORT: String(port),
        DATABASE_URL: database.appUrl,
        MIGRATION_DATABASE_URL: database.ownerUrl,
        ADMIN_EMAIL: 'admin@secrets.test',
        ADMIN_PASSWORD: adminPassword,
        TOKEN_SECRET: tokenSecret,
        SEED_DATASET: 'false',
        OUTBOUND_ALLOWLIST: '127.0.0.1/32',
        LOG_LEVEL: 'debug',
      },
    });
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/health`, 120_000, undefined, product.output);
    const post = (route: string, body: unknown, token?: string) =>
      fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

    const wrongPassword = 'Wr0ng-password-d41d8cd9';
    expect((await post('/api/v1/auth/login', { email: 'admin@secrets.test', password: wrongPassword })).status).toBe(401);
    expect((await post('/api/v1/auth/login', { email: 'admin@secrets.test', password: wrongPassword, extra: wrongPassword })).status).toBe(400);
    const login = await post('/api/v1/auth/login', { email: 'admin@secrets.test', password: adminPassword });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const keyResponse = await post('/api/v1/api-keys', { name: 'ci', role: 'curator' }, token);
    expect(keyResponse.status).toBe(201);
    const { key } = (await keyResponse.json()) as { key: string };
    const subscription = await post('/api/v1/subscriptions', { channel: 'webhook', url: 'https://hooks.example.com/secrets' }, key);
    expect(subscription.status).toBe(201);
    const { id, secret } = (await subscription.json()) as { id: string; secret: string };
    const rotated = await post(`/api/v1/subscriptions/${id}/rotate-secret`, {}, key);
    expect(rotated.status).toBe(200);
    const { secret: rotatedSecret } = (await rotated.json()) as { secret: string };
    // Credentials that fail: a mangled key, a mangled token, a key in a malformed header.
    expect((await fetch(`${base}/api/v1/chips`, { headers: { authorization: `Bearer ${key}x` } })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/chips`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/chips`, { headers: { authorization: `Basic ${key}` } })).status).toBe(401);
    // A link token in a query string (as in the unsubscribe links of e-mails).
    const linkToken = 'v1.c3Vic2NyaXB0aW9uLXRva2VuLXNlY3JldA.9f86d081884c7d659a2feaa0c55ad015';
    await (await fetch(`${base}/api/v1/subscriptions/unsubscribe?token=${linkToken}`)).arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const output = product.output();
    expect(output).toContain('chiptrail is running at');
    // The access log is on (so requests carrying these secrets were logged), with the credentials masked.
    expect(output).toContain('POST /api/v1/auth/login → 200');
    expect(output).toContain('GET /api/v1/subscriptions/unsubscribe?token=[redacted]');
    for (const [what, value] of Object.entries({ adminPassword, tokenSecret, wrongPassword, token, key, secret, rotatedSecret, linkToken })) {
      expect({ what, logged: output.includes(value) }).toEqual({ what, logged: false });
    }
    // Nor the distinctive part of a key or token on its own.
    // (The secret part is base64url, which has underscores of its own: split by the key's known shape.)
    const keySecret = /^ct_key_[0-9a-f]{16}_(.{43})$/.exec(key)?.[1];
    const tokenSignature = /^ct_tok_[^.]+\.(.+)$/.exec(token)?.[1];
    expect(keySecret).toHaveLength(43);
    expect(tokenSignature?.length).toBeGreaterThan(20);
    expect(output.includes(keySecret as string)).toBe(false);
    expect(output.includes(tokenSignature as string)).toBe(false);
  }, 180_000);
});
