import { randomUUID } from 'node:crypto';
import { recordFigures } from './figures';
import { SOURCE, buildOnce, startProduct, until, type Product } from './support';

/**
 * PostgreSQL restarted under load: while it is away every request fails fast with 503 and a problem document; when
 * it is back, api and worker carry on without being restarted, and every acknowledged event is in the log.
 */
let product: Product;
beforeAll(async () => {
  buildOnce();
  product = await startProduct();
}, 180_000);
afterAll(() => product?.close());

it('PostgreSQL restarted mid-load: fast 503 problem documents while it is down, recovery without restarting our processes', async () => {
  const token = await product.token();
  expect((await product.call('POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip: 'restart-chip', vendor: 'NVIDIA', model: 'R', datacenter: true }, effectiveAt: '2024-01-01', source: SOURCE })).status).toBe(201);

  type Outcome = { at: number; ms: number; status: number; problem: boolean; kind: 'read' | 'write'; id?: string };
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const load = async (kind: 'read' | 'write') => {
    while (running) {
      const started = Date.now();
      const id = randomUUID();
      let status = 0;
      let problem = false;
      try {
        const response =
          kind === 'read'
            ? await fetch(`${product.url}/api/v1/chips/restart-chip/status?destination=CN`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000) })
            : await fetch(`${product.url}/api/v1/events`, {
                method: 'POST',
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
                body: JSON.stringify({ id, type: 'AdvisoryIssued', data: { advisoryId: `r-${n++}`, authority: 'CN-MIIT', level: 'discouraged', chips: ['restart-chip'], destinations: ['CN'], title: 'Restart' }, effectiveAt: '2025-08-12', source: SOURCE }),
                signal: AbortSignal.timeout(20_000),
              });
        status = response.status;
        problem = (response.headers.get('content-type') ?? '').includes('application/problem+json') && typeof ((await response.json()) as { code?: unknown }).code === 'string';
      } catch {
        status = -1; // no answer at all
      }
      outcomes.push({ at: started, ms: Date.now() - started, status, problem, kind, ...(kind === 'write' ? { id } : {}) });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const workers = [load('read'), load('read'), load('write'), load('write')];
  await new Promise((resolve) => setTimeout(resolve, 3000));

  const downAt = Date.now();
  await product.postgres.stop('fast');
  await new Promise((resolve) => setTimeout(resolve, 8000));
  const upAt = Date.now();
  await product.postgres.start();
  const recovered = await until(
    async () => {
      const response = await product.call('GET', '/health');
      await response.arrayBuffer();
      return response.status === 200 ? Date.now() : undefined;
    },
    60_000,
    'the api to recover',
  );
  await new Promise((resolve) => setTimeout(resolve, 3000));
  running = false;
  await Promise.all(workers);

  // While it was down (after a second for the pool to notice): only 503 problem documents, and fast.
  const during = outcomes.filter((o) => o.at > downAt + 1000 && o.at + o.ms < upAt);
  expect(during.length).toBeGreaterThan(10);
  for (const outcome of during) expect({ status: outcome.status, problem: outcome.problem }).toEqual({ status: 503, problem: true });
  const slowest = Math.max(...during.map((o) => o.ms));
  expect(slowest).toBeLessThan(6000);
  // After: both kinds succeed again, from the same processes.
  const after = outcomes.filter((o) => o.at > recovered);
  expect(after.filter((o) => o.kind === 'read' && o.status === 200).length).toBeGreaterThan(0);
  expect(after.filter((o) => o.kind === 'write' && o.status === 201).length).toBeGreaterThan(0);
  expect(product.api.child.exitCode).toBeNull();
  expect(product.worker?.child.exitCode).toBeNull();

  // Nothing acknowledged is missing; the worker projected what came after the restart.
  const acknowledged = outcomes.filter((o) => o.kind === 'write' && o.status === 201).map((o) => o.id!);
  const owner = await product.owner();
  try {
    const { rows } = await owner.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE event_id = ANY ($1::uuid[])`, [acknowledged]);
    expect(Number(rows[0]!.n)).toBe(acknowledged.length);
    const total = Number((await owner.query<{ n: string }>(`SELECT count(*) AS n FROM events`)).rows[0]!.n);
    await until(async () => Number((await owner.query<{ n: string }>(`SELECT events_handled AS n FROM projection_checkpoints WHERE name = 'policy'`)).rows[0]?.n ?? 0) >= total, 60_000, 'the worker to catch up');
    recordFigures('PostgreSQL restarted mid-load', {
      'requests sent': outcomes.length,
      'faults injected (PostgreSQL stopped and started)': 1,
      'answered 503 while it was down': during.length,
      'slowest answer while down (ms)': slowest,
      'seconds from restart to healthy': Math.round((recovered - upAt) / 100) / 10,
      'acknowledged events': acknowledged.length,
      'events lost': acknowledged.length - Number(rows[0]!.n),
    });
  } finally {
    await owner.close();
  }
}, 300_000);
