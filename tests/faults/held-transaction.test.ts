import { Client } from 'pg';
import { EventStore } from '@chiptrail/event-store';
import { Clock } from '@chiptrail/runtime';
import { recordFigures } from './figures';
import { SOURCE, buildOnce, startProduct, until, type Product } from './support';

/**
 * A writing transaction held open for 30 s: projections may not read past it (its event would be skipped for
 * good), so they wait, are reported stalled in /health and /metrics, and catch up with everything once it commits.
 */
const HOLD_MS = 30_000;
const LATER_EVENTS = 200;

let product: Product;
beforeAll(async () => {
  buildOnce();
  product = await startProduct({ env: { PROJECTION_STALL_SECONDS: '10' } });
}, 180_000);
afterAll(() => product?.close());

it('a transaction held open for 30 s: projections wait, are reported stalled, then catch up skipping nothing', async () => {
  expect((await product.call('POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip: 'held-chip', vendor: 'NVIDIA', model: 'H', datacenter: true }, effectiveAt: '2024-01-01', source: SOURCE })).status).toBe(201);
  const owner = await product.owner();
  const handled = async (name: string) => Number((await owner.query<{ n: string }>(`SELECT events_handled AS n FROM projection_checkpoints WHERE name = $1`, [name])).rows[0]?.n ?? 0);
  await until(async () => (await handled('event_catalog')) >= 1, 30_000, 'the first event projected');

  const holder = new Client({ connectionString: product.database.ownerUrl });
  await holder.connect();
  try {
    await holder.query('BEGIN');
    const held = await new EventStore(holder, new Clock()).append(
      'advisory-held',
      'any',
      [{ type: 'AdvisoryIssued', data: { advisoryId: 'held', authority: 'CN-MIIT', level: 'discouraged', chips: ['held-chip'], destinations: ['CN'], title: 'Held' }, metadata: { actor: 'system:fault-suite', source: SOURCE }, effectiveAt: new Date('2025-08-12T00:00:00Z') }],
      holder,
    );
    const heldAt = Date.now();
    for (let i = 0; i < LATER_EVENTS; i += 1) {
      const response = await product.call('POST', '/api/v1/events', {
        type: 'AdvisoryIssued',
        data: { advisoryId: `later-${i}`, authority: 'CN-MIIT', level: 'prohibited', chips: ['held-chip'], destinations: ['HK'], title: `Later ${i}` },
        effectiveAt: '2025-08-13',
        source: SOURCE,
      });
      expect(response.status).toBe(201);
    }
    // Committed, later events exist, yet nothing may be read past the open transaction.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await handled('event_catalog')).toBe(1);
    expect(await handled('policy')).toBe(1);

    const report = await until(
      async () => {
        const response = await product.call('GET', '/health');
        const body = (await response.json()) as { state: string; projections: Array<{ name: string; stalled: boolean; lag: number }>; oldestOpenTransactionSeconds: number | null };
        return body.projections.some((p) => p.name === 'policy' && p.stalled) ? body : undefined;
      },
      HOLD_MS,
      '/health to report the stalled projection',
    );
    expect(report.state).toBe('degraded');
    expect(report.projections.find((p) => p.name === 'policy')).toMatchObject({ stalled: true, lag: LATER_EVENTS });
    // The age of our open transaction (the stall is timed from the checkpoint's last move, a little earlier).
    expect(report.oldestOpenTransactionSeconds).toBeGreaterThanOrEqual((Date.now() - heldAt) / 1000 - 3);
    expect(report.oldestOpenTransactionSeconds).toBeGreaterThanOrEqual(5);
    const metrics = await (await product.call('GET', '/metrics')).text();
    expect(metrics).toContain('chiptrail_projection_stalled{projection="policy"} 1');
    expect(metrics).toMatch(/chiptrail_oldest_open_transaction_seconds \d+/);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, heldAt + HOLD_MS - Date.now())));
    await holder.query('COMMIT');
    const heldSeconds = (Date.now() - heldAt) / 1000;

    const total = LATER_EVENTS + 2;
    await until(async () => (await handled('policy')) === total && (await handled('event_catalog')) === total, 60_000, 'projections to catch up');
    const catalog = await owner.query<{ n: string }>(`SELECT count(*) AS n FROM event_catalog WHERE event_id = $1`, [held.events[0]!.id]);
    expect(Number(catalog.rows[0]!.n)).toBe(1);
    // Projections that follow another one (the alert dispatcher follows policy) catch up a moment later.
    const after = await until(
      async () => {
        const body = (await (await product.call('GET', '/health')).json()) as { state: string; projections: Array<{ stalled: boolean; lag: number }> };
        return body.projections.every((p) => !p.stalled && p.lag === 0) ? body : undefined;
      },
      30_000,
      'every projection in /health to be caught up and no longer stalled',
    );
    expect(after.state).toBe('ok');
    const status = (await (await product.call('GET', '/api/v1/chips/held-chip/status?destination=CN')).json()) as { import: { basis: Array<{ eventId: string }> } };
    expect(status.import.basis.map((b) => b.eventId)).toContain(held.events[0]!.id);

    recordFigures('a writing transaction held open', {
      'held (seconds)': Math.round(heldSeconds),
      'events committed behind it': LATER_EVENTS,
      'faults injected (open transaction)': 1,
      'stall reported in /health and /metrics': 1,
      'events skipped by projections': total - (await handled('policy')),
    });
  } finally {
    await holder.end().catch(() => undefined);
    await owner.close();
  }
}, 300_000);
