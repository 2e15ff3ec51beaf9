import { randomUUID } from 'node:crypto';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { Clock } from '@chiptrail/runtime';
import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { ImportPolicyEvents } from './import-policy-events.handler';
import { IMPORT_LINES_PER_TURN, importNdjson } from './ndjson-import';

let database: TestDatabase;
let db: Database;
const clock = new Clock();

beforeAll(async () => {
  database = await createTestDatabase('ndjson_import');
  db = await Database.connect({ url: database.appUrl, poolSize: 3, applicationName: 'ndjson-import-spec' });
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

const source = { url: 'https://example.gov/x', title: 'Source', publishedAt: '2024-01-01' };

it('lets the event loop turn while it reads lines that are all at hand, so the batch being written and other requests go on', async () => {
  const prefix = `turns-${randomUUID().slice(0, 8)}`;
  const total = 3_000;
  // Turns of the event loop, counted by a callback that schedules itself again on every turn.
  let turns = 0;
  let counting = true;
  const count = () => {
    turns += 1;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const turnAtLine: number[] = [];
  async function* lines() {
    for (let n = 0; n < total; n += 1) {
      turnAtLine.push(turns);
      yield JSON.stringify({ type: 'ChipRegistered', data: { chip: `${prefix}-${n}`, vendor: 'NVIDIA', model: `M${n}`, datacenter: true }, effectiveAt: '2024-01-01', source });
    }
  }
  try {
    const result = await importNdjson(lines(), new ImportPolicyEvents(new EventStore(db, clock), clock), { actor: 'system:spec' }, clock);
    expect(result).toMatchObject({ imported: total, lines: total });
  } finally {
    counting = false;
  }
  // Every line comes from a resolved promise: without turns of its own, the reader would take them all in one turn.
  for (let n = IMPORT_LINES_PER_TURN; n < total; n += IMPORT_LINES_PER_TURN) {
    expect(turnAtLine[n]).toBeGreaterThan(turnAtLine[n - IMPORT_LINES_PER_TURN]!);
  }
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE stream_id LIKE $1`, [`chip-${prefix}-%`]);
  expect(Number(rows[0]!.n)).toBe(total);
});
