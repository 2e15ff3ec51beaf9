import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawnProcess, startFixtureServer, type FixtureServer } from '@chiptrail/testing';
import { environment } from '@chiptrail/config';
import { recordFigures } from './figures';
import { ROOT, SOURCE, buildOnce, startProduct, tableDigests, until, type Product } from './support';

/**
 * kill -9 of the worker while it projects and again while it delivers: after restarts the read models equal a
 * rebuild from the log, and every alert arrives, repeated (if at all) only under its one webhook-id.
 */
const EVENTS = 3000;
const READ_MODELS = ['policy_facts', 'fact_corrections', 'chip_registry', 'knowledge_changes', 'event_catalog'];

let product: Product;
let receiver: FixtureServer;
beforeAll(async () => {
  buildOnce();
  receiver = await startFixtureServer();
  product = await startProduct({ worker: false });
}, 180_000);
afterAll(async () => {
  await product?.close();
  await receiver?.close();
});

it('kill -9 of the worker during projection and during delivery: read models equal a rebuild, every alert delivered once per webhook-id', async () => {
  receiver.route('/hook', (_request, response) => {
    // Slow enough that the kill lands mid-delivery.
    setTimeout(() => response.writeHead(200).end(), 20);
  });
  const subscribed = await product.call('POST', '/api/v1/subscriptions', { channel: 'webhook', url: `${receiver.url}/hook`, filters: { include: ['events'] } });
  expect(subscribed.status).toBe(201);

  const chips = Array.from({ length: 20 }, (_, i) => `crash-chip-${i}`);
  const countries = ['CN', 'HK', 'MO', 'RU', 'IR', 'KP', 'SY', 'CU', 'VE', 'BY'];
  const lines = [
    ...chips.map((chip) => ({ id: randomUUID(), type: 'ChipRegistered', data: { chip, vendor: 'NVIDIA', model: chip, datacenter: true }, effectiveAt: '2024-01-01', source: SOURCE })),
    ...Array.from({ length: EVENTS - chips.length }, (_, i) =>
      i % 3 === 0
        ? { id: randomUUID(), type: 'ControlImposed', data: { measureId: `m-${i}`, authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: [chips[i % chips.length]] }, destinations: [countries[i % countries.length]], title: `Rule ${i}` }, effectiveAt: '2025-01-15', source: SOURCE }
        : { id: randomUUID(), type: 'AdvisoryIssued', data: { advisoryId: `a-${i}`, authority: 'CN-MIIT', level: 'discouraged', chips: [chips[i % chips.length]], destinations: [countries[i % countries.length]], title: `Advisory ${i}` }, effectiveAt: '2025-08-12', source: SOURCE },
    ),
  ];
  // Many appends (one transaction each), so the projection has batch boundaries to be killed between.
  for (let start = 0; start < lines.length; start += 100) {
    const imported = await fetch(`${product.url}/api/v1/events/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await product.token()}`, 'content-type': 'application/x-ndjson' },
      body: lines.slice(start, start + 100).map((line) => JSON.stringify(line)).join('\n'),
    });
    expect(imported.status).toBe(200);
  }
  const total = lines.length + 0;

  const owner = await product.owner();
  try {
    const handled = async (name: string) => Number((await owner.query<{ n: string }>(`SELECT coalesce((SELECT events_handled FROM projection_checkpoints WHERE name = $1), 0) AS n`, [name])).rows[0]!.n);
    let faults = 0;

    // 1. Mid-projection.
    product.startWorker();
    await until(async () => (await handled('policy')) > 0, 60_000, 'the policy projection to start');
    const atFirstKill = await handled('policy');
    await product.kill('worker');
    faults += 1;
    expect(atFirstKill).toBeLessThan(total);

    // 2. Mid-delivery.
    product.startWorker();
    await until(async () => receiver.requests.filter((r) => r.path === '/hook').length >= 100, 120_000, 'the first hundred webhooks');
    await product.kill('worker');
    faults += 1;
    const deliveredAtSecondKill = receiver.requests.filter((r) => r.path === '/hook').length;
    expect(deliveredAtSecondKill).toBeLessThan(total);

    product.startWorker();
    await until(
      async () => {
        const { rows } = await owner.query<{ n: string }>(`SELECT count(*) AS n FROM deliveries WHERE status = 'delivered' AND type = 'policy.event.recorded'`);
        return Number(rows[0]!.n) >= total;
      },
      240_000,
      'every alert delivered',
    );

    // Every event's alert arrived; repeats carry the same webhook-id.
    const hooks = receiver.requests.filter((r) => r.path === '/hook');
    const idsByEvent = new Map<string, Set<string>>();
    for (const hook of hooks) {
      const eventId = (JSON.parse(hook.body.toString()) as { data: { eventId: string } }).data.eventId;
      const ids = idsByEvent.get(eventId) ?? new Set<string>();
      ids.add(String(hook.headers['webhook-id']));
      idsByEvent.set(eventId, ids);
    }
    expect(idsByEvent.size).toBe(total);
    for (const line of lines) expect(idsByEvent.get(line.id)?.size).toBe(1);
    const undelivered = lines.filter((line) => !idsByEvent.has(line.id)).length;

    // Read models equal a rebuild from the log.
    await until(async () => (await handled('policy')) >= total && (await handled('event_catalog')) >= total, 60_000, 'projections to finish');
    product.worker?.kill('SIGTERM');
    await product.worker?.exited;
    const live = await tableDigests(owner, READ_MODELS);
    const rowsOf = async () => new Set((await owner.query<{ row: string }>(`SELECT x::text AS row FROM knowledge_changes x`)).rows.map((r) => r.row));
    const liveChanges = await rowsOf();
    const outer = environment();
    const rebuild = spawnProcess(process.execPath, [path.join(ROOT, 'dist/apps/launcher/src/rebuild.js')], {
      cwd: ROOT,
      env: { PATH: outer.PATH, HOME: outer.HOME, DATABASE_URL: product.database.appUrl, MIGRATION_DATABASE_URL: product.database.ownerUrl, LOG_LEVEL: 'warn' },
    });
    expect(await rebuild.exited).toBe(0);
    const rebuilt = await tableDigests(owner, READ_MODELS);
    if (rebuilt.knowledge_changes !== live.knowledge_changes) {
      const rebuiltChanges = await rowsOf();
      const onlyLive = [...liveChanges].filter((row) => !rebuiltChanges.has(row)).slice(0, 3);
      const onlyRebuilt = [...rebuiltChanges].filter((row) => !liveChanges.has(row)).slice(0, 3);
      expect({ onlyLive, onlyRebuilt }).toEqual({ onlyLive: [], onlyRebuilt: [] });
    }
    expect(rebuilt).toEqual(live);

    recordFigures('kill -9 of the worker during projection and delivery', {
      'events projected and alerted': total,
      'faults injected (SIGKILL)': faults,
      'webhooks received (with repeats)': hooks.length,
      'repeats, all under their one webhook-id': hooks.length - idsByEvent.size,
      'alerts lost': undelivered,
      'read-model tables differing from a rebuild': READ_MODELS.filter((table) => live[table] !== rebuilt[table]).length,
    });
  } finally {
    await owner.close();
  }
}, 600_000);
