import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { startAlertWorker } from '@chiptrail/alerts';
import { environment, loadTestConfig } from '@chiptrail/config';
import { ProjectionRunner } from '@chiptrail/projections';
import {
  readJson,
  spawnProcess,
  startFixtureServer,
  startRedisProcess,
  startTestApp,
  type FixtureServer,
  type Spawned,
  until,
} from '@chiptrail/testing';
import { workerParts } from '../../apps/worker/src/worker-parts';

/** Alerts survive a worker killed mid-delivery and a Redis outage: late, never lost, doubled only with one webhook-id. */
const root = path.resolve(__dirname, '../..');
const source = { url: 'https://example.gov/rule', title: 'Rule', publishedAt: '2025-01-01' };


let receiver: FixtureServer;
beforeAll(async () => {
  execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-needed'], { cwd: root, stdio: 'inherit' });
  receiver = await startFixtureServer();
}, 180_000);
afterAll(() => receiver.close());

it('a worker killed with SIGKILL mid-delivery: delivered after restart, with the same webhook-id', async () => {
  const app = await startTestApp({ queue: 'redis' });
  let worker: Spawned | undefined;
  const startWorker = () =>
    spawnProcess(process.execPath, [path.join(root, 'dist/apps/worker/src/main.js')], {
      cwd: root,
      env: {
        PATH: environment().PATH,
        DATABASE_URL: app.database.appUrl,
        REDIS_URL: loadTestConfig().redisUrl,
        QUEUE_NAMESPACE: app.namespace,
        OUTBOUND_ALLOWLIST: '127.0.0.1/32',
        DELIVERY_LOCK_MS: '2000',
        PROJECTION_POLL_MS: '100',
        LOG_LEVEL: 'warn',
      },
    });
  try {
    let hold = true;
    receiver.route('/kill-hook', (_req, res) => {
      if (hold) return; // the first delivery hangs until its worker dies
      res.writeHead(200).end();
    });
    await app.call('curator', 'POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip: 'nvidia-h20', vendor: 'NVIDIA', model: 'H20', datacenter: true }, effectiveAt: '2024-01-01', source });
    const created = await app.call('viewer', 'POST', '/api/v1/subscriptions', { channel: 'webhook', url: `${receiver.url}/kill-hook` });
    expect(created.status).toBe(201);
    await app.call('curator', 'POST', '/api/v1/events', {
      type: 'ControlImposed',
      data: { measureId: 'm', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['nvidia-h20'] }, destinations: ['CN'], title: 'Letter' },
      effectiveAt: '2025-04-09',
      source,
    });

    worker = startWorker();
    await until(async () => receiver.requests.filter((r) => r.path === '/kill-hook').length >= 1, 60_000);
    worker.kill('SIGKILL');
    await worker.exited;
    hold = false;

    worker = startWorker();
    const requests = await until(async () => {
      const seen = receiver.requests.filter((r) => r.path === '/kill-hook');
      return seen.length >= 2 ? seen : undefined;
    }, 60_000);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const delivery = await until(async () => {
      const { rows } = await app.runtime.db.query(`SELECT status FROM deliveries WHERE type = 'chip.status.changed'`);
      return rows[0]?.status === 'delivered' ? rows[0] : undefined;
    });
    expect(delivery.status).toBe('delivered');
  } finally {
    worker?.kill('SIGTERM');
    if (worker) await worker.exited;
    await app.close();
  }
}, 180_000);

it('Redis stopped while 200 events are appended: the api keeps accepting events, says so in /health, and every alert goes out once Redis is back', async () => {
  const redis = await startRedisProcess();
  const app = await startTestApp({ queue: redis.url });
  const runners = workerParts(app.runtime).projections.map(
    (projection) => new ProjectionRunner(app.runtime.db, app.runtime.store, projection, { pollMs: 100, logger: app.runtime.logger }),
  );
  const stopWorker = await startAlertWorker(app.runtime, { random: () => 0.5 });
  let redisDown = false;
  try {
    receiver.route('/outage-hook', (_req, res) => res.writeHead(204).end());
    const created = await app.call('viewer', 'POST', '/api/v1/subscriptions', { channel: 'webhook', url: `${receiver.url}/outage-hook`, filters: { include: ['events'] } });
    expect(created.status).toBe(201);
    for (const runner of runners) runner.start();
    await app.call('curator', 'POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip: 'nvidia-h20', vendor: 'NVIDIA', model: 'H20', datacenter: true }, effectiveAt: '2024-01-01', source });
    // The registration's alert goes out first (it takes milliseconds), so what arrives later is the outage's.
    await until(async () => receiver.requests.filter((r) => r.path === '/outage-hook').length >= 1);

    await redis.stop();
    redisDown = true;
    const health = await app.call('anonymous', 'GET', '/health');
    expect(health.status).toBe(503);
    expect(await readJson(health)).toMatchObject({ queue: { backend: 'redis', up: false }, database: { up: true } });

    const countries = ['CN', 'HK', 'MO', 'RU', 'IR', 'KP', 'SY', 'CU', 'VE', 'BY'];
    for (let i = 0; i < 200; i += 1) {
      const response = await app.call('curator', 'POST', '/api/v1/events', {
        type: 'AdvisoryIssued',
        data: { advisoryId: `a-${i}`, authority: 'CN-MIIT', level: 'discouraged', chips: ['nvidia-h20'], destinations: [countries[i % countries.length]], title: `Advisory ${i}` },
        effectiveAt: '2025-08-12',
        source,
      });
      expect(response.status).toBe(201);
    }
    const events = await app.runtime.db.query(`SELECT count(*)::int AS n FROM events WHERE type = 'AdvisoryIssued'`);
    expect(events.rows[0].n).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.requests.filter((r) => r.path === '/outage-hook')).toHaveLength(1);

    await redis.start();
    redisDown = false;
    const delivered = await until(async () => {
      const seen = receiver.requests.filter((r) => r.path === '/outage-hook');
      const ids = new Set(seen.map((r) => r.headers['webhook-id']));
      return ids.size >= 201 ? ids : undefined;
    }, 90_000);
    // The registration and the 200 advisories: each exactly once.
    expect(delivered.size).toBe(201);
    const bodies = receiver.requests.filter((r) => r.path === '/outage-hook').map((r) => JSON.parse(r.body.toString()).data.title);
    for (let i = 0; i < 200; i += 1) expect(bodies).toContain(`Advisory ${i}`);
    expect((await app.call('anonymous', 'GET', '/health')).status).toBe(200);
  } finally {
    // A batch waiting for the queue finishes only when Redis answers again.
    if (redisDown) await redis.start();
    for (const runner of runners) await runner.stop();
    await stopWorker();
    await app.close();
    await redis.stop('SIGKILL');
  }
}, 240_000);
