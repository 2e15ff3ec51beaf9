import { startFixtureServer, type FixtureServer } from '@chiptrail/testing';
import { recordFigures } from './figures';
import { SOURCE, buildOnce, startProduct, until, type Product } from './support';

/**
 * Redis gone for 60 s (restarted empty: it keeps nothing on disk) while 1,000 events are appended: the api keeps
 * accepting them and says in /health that the queue is down; every alert goes out once Redis is back.
 */
const EVENTS = 1000;
const OUTAGE_MS = 60_000;

let product: Product;
let receiver: FixtureServer;
beforeAll(async () => {
  buildOnce();
  receiver = await startFixtureServer();
  product = await startProduct();
}, 180_000);
afterAll(async () => {
  await product?.close();
  await receiver?.close();
});

it(`Redis stopped for ${OUTAGE_MS / 1000} s while ${EVENTS.toLocaleString('en-US')} events are appended: nothing refused, nothing lost`, async () => {
  receiver.route('/outage', (_request, response) => response.writeHead(204).end());
  const subscribed = await product.call('POST', '/api/v1/subscriptions', { channel: 'webhook', url: `${receiver.url}/outage`, filters: { include: ['events'] } });
  expect(subscribed.status).toBe(201);
  expect((await product.call('POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip: 'outage-chip', vendor: 'NVIDIA', model: 'O', datacenter: true }, effectiveAt: '2024-01-01', source: SOURCE })).status).toBe(201);
  const hooks = () => receiver.requests.filter((r) => r.path === '/outage');
  await until(async () => hooks().length >= 1, 60_000, 'the first alert before the outage');

  const redis = product.redis!;
  await redis.stop('SIGKILL');
  const stoppedAt = Date.now();
  const health = await product.call('GET', '/health');
  expect(health.status).toBe(503);
  expect(await health.json()).toMatchObject({ code: 'service_unavailable', queue: { backend: 'redis', up: false }, database: { up: true } });

  const countries = ['CN', 'HK', 'MO', 'RU', 'IR', 'KP', 'SY', 'CU', 'VE', 'BY'];
  const statuses = new Map<number, number>();
  const pace = (OUTAGE_MS - 5000) / EVENTS;
  for (let i = 0; i < EVENTS; i += 1) {
    const response = await product.call('POST', '/api/v1/events', {
      type: 'AdvisoryIssued',
      data: { advisoryId: `outage-${i}`, authority: 'CN-MIIT', level: 'discouraged', chips: ['outage-chip'], destinations: [countries[i % countries.length]], title: `Outage advisory ${i}` },
      effectiveAt: '2025-08-12',
      source: SOURCE,
    });
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    await response.arrayBuffer();
    const due = stoppedAt + (i + 1) * pace;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  }
  expect(Object.fromEntries(statuses)).toEqual({ 201: EVENTS });
  expect(hooks()).toHaveLength(1);
  const stillDown = await product.call('GET', '/health');
  expect(stillDown.status).toBe(503);
  await stillDown.arrayBuffer();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));
  const outageSeconds = (Date.now() - stoppedAt) / 1000;

  await redis.start();
  const delivered = await until(
    async () => {
      const ids = new Set(hooks().map((r) => String(r.headers['webhook-id'])));
      return ids.size >= EVENTS + 1 ? ids : undefined;
    },
    180_000,
    'every alert after Redis returned',
  );
  expect(delivered.size).toBe(EVENTS + 1);
  const titles = new Set(hooks().map((r) => (JSON.parse(r.body.toString()) as { data: { title: string } }).data.title));
  for (let i = 0; i < EVENTS; i += 1) expect(titles.has(`Outage advisory ${i}`)).toBe(true);
  await until(async () => (await product.call('GET', '/health')).status === 200, 30_000, '/health to recover');

  recordFigures('Redis stopped while events are appended', {
    'events appended during the outage': EVENTS,
    'outage (seconds)': Math.round(outageSeconds),
    'faults injected (Redis SIGKILL, restarted empty)': 1,
    'appends refused during the outage': EVENTS - (statuses.get(201) ?? 0),
    'alerts delivered after Redis returned': delivered.size - 1,
    'alerts lost': EVENTS + 1 - delivered.size,
  });
}, 600_000);
