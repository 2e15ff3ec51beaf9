import { randomUUID } from 'node:crypto';
import { Database, type Sql } from '@chiptrail/db';
import { AppendNotifier, EventStore, type StoredEvent } from '@chiptrail/event-store';
import { Clock, Logger } from '@chiptrail/runtime';
import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { applyBatch, readCheckpoint, ProjectionRunner } from './projection-runner';
import { rebuildProjection } from './rebuild';
import type { Projection } from './projection';

/**
 * A read model small enough to see whole: per stream, how many events, the last type and the sum of `n`.
 * `failOn` lets a test make one batch blow up half-way.
 */
function streamTotals(name: string, failOn?: (event: StoredEvent) => boolean): Projection {
  return {
    name,
    tables: ['spec_stream_totals'],
    batchSize: 7,
    async apply(events: readonly StoredEvent[], tx: Sql) {
      for (const event of events) {
        await tx.query(
          `INSERT INTO spec_stream_totals (stream_id, events, last_type, total)
           VALUES ($1, 1, $2, $3)
           ON CONFLICT (stream_id) DO UPDATE
             SET events = spec_stream_totals.events + 1, last_type = EXCLUDED.last_type,
                 total = spec_stream_totals.total + EXCLUDED.total`,
          [event.streamId, event.type, Number(event.data.n ?? 0)],
        );
        if (failOn?.(event)) throw new Error(`handler failed on ${event.id}`);
      }
    },
  };
}

let testDb: TestDatabase;
let db: Database;
let owner: Database;
let store: EventStore;
const logger = new Logger('error');

beforeAll(async () => {
  testDb = await createTestDatabase('proj');
  owner = await Database.connect({ url: testDb.ownerUrl, poolSize: 3, applicationName: 'projection-spec-owner' });
  await owner.query(`CREATE TABLE spec_stream_totals (
    stream_id text PRIMARY KEY, events integer NOT NULL, last_type text NOT NULL, total bigint NOT NULL)`);
  await owner.query(`CREATE INDEX spec_stream_totals_by_type ON spec_stream_totals (last_type, stream_id)`);
  db = await Database.connect({ url: testDb.appUrl, poolSize: 6, applicationName: 'projection-spec' });
  store = new EventStore(db, new Clock(), new AppendNotifier(db));
});

afterAll(async () => {
  await db?.close();
  await owner?.close();
  await testDb?.drop();
});

async function appendMany(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    await store.append(`s-${i % 5}`, 'any', [
      { type: i % 2 ? 'Odd' : 'Even', data: { n: i }, metadata: { actor: 'system:spec' }, effectiveAt: new Date(0) },
    ]);
  }
}

async function readModel(sql: Sql = db) {
  return (await sql.query(`SELECT * FROM spec_stream_totals ORDER BY stream_id`)).rows;
}

function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = async () => {
      try {
        if (await check()) return resolve();
      } catch (error) {
        return reject(error);
      }
      if (Date.now() - started > timeoutMs) return reject(new Error('condition not met in time'));
      setTimeout(tick, 50);
    };
    void tick();
  });
}

it('commits the read model and the checkpoint together, or neither', async () => {
  await appendMany(10);
  const victim = (await store.readStream('s-3'))[0]!;
  const failing = streamTotals('totals', (event) => event.id === victim.id);
  await expect(db.transaction((tx) => applyBatch(tx, store, failing, 100))).rejects.toThrow('handler failed');
  expect(await readModel()).toEqual([]);
  expect((await readCheckpoint(db, 'totals')).position).toBe(0);
});

it('a live runner follows appends as they happen, woken by NOTIFY', async () => {
  const runner = new ProjectionRunner(db, store, streamTotals('totals'), { pollMs: 60_000, logger });
  runner.start();
  try {
    await waitFor(async () => (await readModel()).reduce((sum, row) => sum + row.events, 0) === 10);
    // pollMs is a minute: only the notification can wake it this fast.
    await appendMany(3);
    await waitFor(async () => (await readModel()).reduce((sum, row) => sum + row.events, 0) === 13, 5000);
    expect(runner.status().role).toBe('leader');
  } finally {
    await runner.stop();
  }
});

it('exactly one runner per projection leads across processes; a standby takes over when it goes', async () => {
  const secondPool = await Database.connect({ url: testDb.appUrl, poolSize: 3, applicationName: 'projection-spec-2' });
  const first = new ProjectionRunner(db, store, streamTotals('totals'), { pollMs: 100, standbyRetryMs: 100, logger });
  const second = new ProjectionRunner(secondPool, new EventStore(secondPool, new Clock()), streamTotals('totals'), {
    pollMs: 100,
    standbyRetryMs: 100,
    logger,
  });
  first.start();
  await waitFor(async () => first.status().role === 'leader');
  second.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(second.status().role).toBe('standby');
    await appendMany(5);
    await first.stop();
    await waitFor(async () => second.status().role === 'leader');
    await appendMany(5);
    await waitFor(async () => (await readModel()).reduce((sum, row) => sum + row.events, 0) === 23);
    const checkpoint = await readCheckpoint(db, 'totals');
    expect(checkpoint.eventsHandled).toBe(23);
  } finally {
    await second.stop();
    await secondPool.close();
  }
});

it('two runners forced to run the same batches apply each event once', async () => {
  const competitor = await Database.connect({ url: testDb.appUrl, poolSize: 3, applicationName: 'projection-spec-3' });
  try {
    await appendMany(40);
    const projection = streamTotals('totals');
    await Promise.all([
      new ProjectionRunner(db, store, projection, { pollMs: 100, logger }).catchUp(),
      new ProjectionRunner(competitor, new EventStore(competitor, new Clock()), projection, { pollMs: 100, logger }).catchUp(),
    ]);
    expect((await readModel()).reduce((sum, row) => sum + row.events, 0)).toBe(63);
  } finally {
    await competitor.close();
  }
});

it('a rebuild replays into fresh tables, swaps them in and equals the live read model', async () => {
  const live = await readModel();
  const runner = new ProjectionRunner(db, store, streamTotals('totals'), { pollMs: 50, logger });
  runner.start();
  const progress: number[] = [];
  try {
    const result = await rebuildProjection(owner, new EventStore(owner, new Clock()), streamTotals('totals'), (p) => progress.push(p.handled));
    expect(result.handled).toBe(63);
    expect(progress[progress.length - 1]).toBe(63);
    expect(await readModel()).toEqual(live);
    // The live runner carries on after the swap, on the new tables, from the rebuilt checkpoint.
    await appendMany(4);
    await waitFor(async () => (await readModel()).reduce((sum, row) => sum + row.events, 0) === 67);
  } finally {
    await runner.stop();
  }
  const indexes = await owner.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'spec_stream_totals' ORDER BY 1`);
  expect(indexes.rows.map((row) => row.indexname)).toEqual(['spec_stream_totals_by_type', 'spec_stream_totals_pkey']);
  const leftovers = await owner.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'`);
  expect(leftovers.rows).toEqual([]);
  // The runtime role can still write the swapped-in table.
  await db.query(`INSERT INTO spec_stream_totals VALUES ($1, 0, 'x', 0)`, [randomUUID()]);
});
