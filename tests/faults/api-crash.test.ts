import { randomUUID } from 'node:crypto';
import { recordFigures } from './figures';
import { SOURCE, buildOnce, startProduct, type Product } from './support';

/**
 * kill -9 of the api while 1,000 appends are in flight: every acknowledged event is in the log exactly as sent,
 * nothing is half-written, the hash chain verifies, and retrying every request with the same ids duplicates nothing.
 */
let product: Product;
beforeAll(async () => {
  buildOnce();
  product = await startProduct({ worker: false });
}, 180_000);
afterAll(() => product?.close());

const APPENDS = 1000;
const IN_FLIGHT = 50;

it(`kill -9 of the api during ${APPENDS.toLocaleString('en-US')} concurrent appends loses no acknowledged event and duplicates nothing on retry`, async () => {
  const token = await product.token();
  const chips = ['fault-a', 'fault-b', 'fault-c', 'fault-d'];
  for (const chip of chips) {
    const response = await product.call('POST', '/api/v1/events', { type: 'ChipRegistered', data: { chip, vendor: 'NVIDIA', model: chip, datacenter: true }, effectiveAt: '2024-01-01', source: SOURCE });
    expect(response.status).toBe(201);
  }
  const requests = Array.from({ length: APPENDS }, (_, i) => ({
    id: randomUUID(),
    type: 'AdvisoryIssued',
    data: { advisoryId: `crash-${i}`, authority: 'CN-MIIT', level: i % 2 ? 'discouraged' : 'prohibited', chips: [chips[i % chips.length]], destinations: ['CN'], title: `Advisory ${i}` },
    effectiveAt: '2025-08-12',
    source: SOURCE,
  }));

  const acknowledged = new Set<string>();
  let failed = 0;
  let killed = false;
  let next = 0;
  const send = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      try {
        const response = await fetch(`${product.url}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(request),
        });
        if (response.status === 201) acknowledged.add(request.id);
        else failed += 1;
        await response.arrayBuffer();
      } catch {
        failed += 1; // the connection died with the api
      }
      if (!killed && acknowledged.size >= APPENDS / 3) {
        killed = true;
        await product.kill('api');
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, send));
  expect(killed).toBe(true);
  const acknowledgedBeforeKill = acknowledged.size;
  expect(failed).toBeGreaterThan(0);

  await product.startApi();
  // Retry every request, acknowledged or not, with the same ids.
  const retried = { created: 0, duplicate: 0 };
  next = 0;
  const retry = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const response = await product.call('POST', '/api/v1/events', request);
      expect([200, 201]).toContain(response.status);
      if (response.status === 201) retried.created += 1;
      else retried.duplicate += 1;
      const body = (await response.json()) as { id: string };
      expect(body.id).toBe(request.id);
    }
  };
  await Promise.all(Array.from({ length: 10 }, retry));
  // Everything acknowledged before the crash was found recorded; whatever committed unacknowledged was too.
  expect(retried.duplicate).toBeGreaterThanOrEqual(acknowledgedBeforeKill);
  expect(retried.created + retried.duplicate).toBe(APPENDS);

  const owner = await product.owner();
  let lost = 0;
  let duplicates = 0;
  try {
    const { rows } = await owner.query<{ event_id: string; data: Record<string, unknown>; type: string }>(
      `SELECT event_id::text, data, type FROM events WHERE event_id = ANY ($1::uuid[])`,
      [requests.map((r) => r.id)],
    );
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    expect(rows).toHaveLength(APPENDS);
    expect(byId.size).toBe(APPENDS);
    lost = [...acknowledged].filter((id) => !byId.has(id)).length;
    expect(lost).toBe(0);
    const repeated = await owner.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT data->>'advisoryId' FROM events WHERE type = 'AdvisoryIssued' GROUP BY 1 HAVING count(*) > 1) d`,
    );
    duplicates = Number(repeated.rows[0]!.n);
    expect(duplicates).toBe(0);
    // None half-written: every stored event is exactly the request.
    for (const request of requests) {
      expect(byId.get(request.id)?.type).toBe(request.type);
      expect(byId.get(request.id)?.data).toMatchObject(request.data);
    }
    // No gaps or repeats in the stream versions.
    const versions = await owner.query<{ stream_id: string; n: string; max: string; min: string }>(
      `SELECT stream_id, count(*) AS n, max(stream_version) AS max, min(stream_version) AS min FROM events GROUP BY stream_id`,
    );
    for (const row of versions.rows) expect(Number(row.max) - Number(row.min) + 1).toBe(Number(row.n));
  } finally {
    await owner.close();
  }
  const integrity = await product.call('GET', '/api/v1/integrity');
  expect(integrity.status).toBe(200);
  const report = (await integrity.json()) as { ok: boolean; eventsVerified: number };
  expect(report.ok).toBe(true);
  expect(report.eventsVerified).toBe(APPENDS + chips.length);

  recordFigures('kill -9 of the api during concurrent appends', {
    'appends sent (then all retried)': APPENDS * 2,
    'faults injected (SIGKILL)': 1,
    'acknowledged before the kill': acknowledgedBeforeKill,
    'requests cut off by the kill': failed,
    'events lost': lost,
    'duplicates created by retries': duplicates,
  });
}, 300_000);
