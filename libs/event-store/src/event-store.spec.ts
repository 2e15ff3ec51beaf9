import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Database } from '@chiptrail/db';
import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { Clock, UUID_PATTERN, uuidv7 } from '@chiptrail/runtime';
import {
  EVENT_HEADERS,
  EventIdConflictError,
  EventStore,
  START,
  StreamVersionConflictError,
  checkpointOf,
  type Checkpoint,
  type EventHeader,
  type EventToAppend,
  type StoredEvent,
} from './event-store';
import { verifyIntegrity } from './integrity';

let testDb: TestDatabase;
let db: Database;
let owner: Database;
let store: EventStore;

beforeAll(async () => {
  testDb = await createTestDatabase('store');
  // The store runs as the runtime role, exactly as the product does.
  db = await Database.connect({ url: testDb.appUrl, poolSize: 12, applicationName: 'event-store-spec' });
  owner = await Database.connect({ url: testDb.ownerUrl, poolSize: 2, applicationName: 'event-store-spec-owner' });
  store = new EventStore(db, new Clock());
});

afterAll(async () => {
  await db?.close();
  await owner?.close();
  await testDb?.drop();
});

const stream = (label = 'test') => `${label}-${randomUUID()}`;

function event(type = 'ThingHappened', data: Record<string, unknown> = { n: 1 }, extra: Partial<EventToAppend> = {}): EventToAppend {
  return {
    type,
    data,
    metadata: { actor: 'user:spec@example.com', correlationId: 'c-1' },
    effectiveAt: new Date('2025-04-09T00:00:00Z'),
    ...extra,
  };
}

async function sequenceValue(): Promise<number> {
  const { rows } = await owner.query<{ last_value: string; is_called: boolean }>(
    `SELECT last_value, is_called FROM events_position_seq`,
  );
  return rows[0]!.is_called ? Number(rows[0]!.last_value) : 0;
}

describe('append', () => {
  it('stores every field, with server-side recorded time and client valid time', async () => {
    const id = stream();
    const before = Date.now();
    const result = await store.append(id, 'no_stream', [
      event('ControlImposed', { measureId: 'm-1' }, { effectiveAt: new Date('2023-11-17T00:00:00Z') }),
      event('ControlAmended', { measureId: 'm-1' }, { effectiveAt: new Date('2030-01-01T00:00:00Z') }),
    ]);
    expect(result.streamVersion).toBe(2);
    expect(result.duplicate).toBe(false);
    const [first, second] = await store.readStream(id);
    expect(first).toMatchObject({
      streamId: id,
      streamVersion: 1,
      type: 'ControlImposed',
      schemaVersion: 1,
      data: { measureId: 'm-1' },
      metadata: { actor: 'user:spec@example.com', correlationId: 'c-1' },
      effectiveAt: new Date('2023-11-17T00:00:00Z'),
    });
    expect(second!.effectiveAt).toEqual(new Date('2030-01-01T00:00:00Z'));
    expect(second!.position).toBeGreaterThan(first!.position);
    expect(first!.recordedAt.getTime()).toBeGreaterThanOrEqual(before - 5000);
    expect(first!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first!.id).toBe(result.events[0]!.id);
  });

  it('answers a one-event append with what it stored: id, position, version and recorded time', async () => {
    const id = stream('answer');
    // The first goes through the new-event statement (which returns only what the store lacks), the second through
    // append_event (a client id), the third through append_events.
    const answers = [
      await store.append(id, 'no_stream', [event('A', { n: 1 })]),
      await store.append(id, 1, [event('B', { n: 2 }, { id: uuidv7() })]),
      await store.append(id, 2, [event('C', { n: 3 }), event('C', { n: 4 })]),
    ];
    const stored = await store.readStream(id);
    expect(answers.flatMap((answer) => answer.events)).toEqual(
      stored.map((e) => ({ id: e.id, position: e.position, streamVersion: e.streamVersion, recordedAt: e.recordedAt })),
    );
    expect(answers.map((answer) => [answer.streamVersion, answer.duplicate])).toEqual([[1, false], [2, false], [4, false]]);
  });

  it('hashes what it stores: awkward content in one- and many-event appends reads back equal and verifies', async () => {
    // The store sends each event's canonical text and the server hashes it as sent; verify recomputes every digest
    // from the stored row, so any difference between the two would show here as a broken chain.
    const awkward = {
      text: 'tab\there\nnew line \\ backslash "quotes" ünïcödé 💾 \u2028\u007f',
      numbers: [0, -0, 1e21, 1e-7, 0.1 + 0.2, 2 ** 53, -2.5e-9, 999999.99],
      keys: { b: 1, aa: 2, a: 3, é: 4, '': 5, z: { nested: [[], {}, [null, true]] } },
      skipped: undefined,
    };
    const metadata = { actor: 'user:spec@example.com', source: { url: 'https://example.com/"rule"', title: 'Règle ключ 中文' } };
    const id = stream('awkward "stream" \\ ü');
    await store.append(id, 'no_stream', [event('Quoted "Type"', awkward, { metadata, schemaVersion: 3 })]);
    await store.append(id, 1, [event('A', awkward, { metadata }), event('B', { n: -0 }), event('C', awkward, { schemaVersion: 2 })]);
    const stored = await store.readStream(id);
    expect(stored.map((e) => [e.type, e.schemaVersion])).toEqual([['Quoted "Type"', 3], ['A', 1], ['B', 1], ['C', 2]]);
    expect(stored[0]!.data).toEqual(JSON.parse(JSON.stringify(awkward)));
    expect(stored[0]!.metadata).toEqual(metadata);
    expect(await verifyIntegrity(db, () => new Date())).toMatchObject({ ok: true, brokenCount: 0 });
  });

  it('accepts a client-supplied id and returns it', async () => {
    const id = randomUUID();
    const result = await store.append(stream(), 'any', [event('ThingHappened', {}, { id })]);
    expect(result.events[0]!.id).toBe(id);
    expect((await store.getEvent(id))?.type).toBe('ThingHappened');
  });

  it('checks exact, any, no_stream and stream_exists expectations and reports the actual version', async () => {
    const id = stream();
    await expect(store.append(id, 'stream_exists', [event()])).rejects.toMatchObject({ actual: -1 });
    await expect(store.append(id, 3, [event()])).rejects.toBeInstanceOf(StreamVersionConflictError);
    await store.append(id, 0, [event()]);
    await store.append(id, 'any', [event()]);
    await store.append(id, 'stream_exists', [event()]);
    const conflict = await store.append(id, 1, [event()]).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(StreamVersionConflictError);
    expect(conflict).toMatchObject({ code: 'stream_version_conflict', actual: 3, expected: 1 });
    await expect(store.append(id, 'no_stream', [event()])).rejects.toMatchObject({ actual: 3 });
    await store.append(id, 3, [event()]);
    expect(await store.streamVersion(id)).toBe(4);
    // With ids of the client's (checked for retries first) and with several events the same rules hold.
    await expect(store.append(id, 2, [event('ThingHappened', { n: 1 }, { id: randomUUID() })])).rejects.toMatchObject({ actual: 4, expected: 2 });
    await expect(store.append(id, 'no_stream', [event(), event()])).rejects.toMatchObject({ actual: 4 });
    expect(await store.streamVersion(id)).toBe(4);
  });

  it('does not draw a position for an append that fails its version check', async () => {
    const id = stream();
    await store.append(id, 'no_stream', [event()]);
    const before = await sequenceValue();
    await expect(store.append(id, 0, [event(), event()])).rejects.toBeInstanceOf(StreamVersionConflictError);
    await expect(store.append(id, 'no_stream', [event()])).rejects.toBeInstanceOf(StreamVersionConflictError);
    expect(await sequenceValue()).toBe(before);
  });

  it('rejects input the database could not store faithfully, writing nothing', async () => {
    const id = stream();
    await expect(store.append(id, 'any', [event('X', { text: 'nul \u0000 byte' })])).rejects.toMatchObject({ code: 'invalid_text' });
    await expect(store.append(id, 'any', [])).rejects.toMatchObject({ kind: 'validation' });
    await expect(store.append(id, 'any', [event('X', {}, { id: 'not-a-uuid' })])).rejects.toMatchObject({ kind: 'validation' });
    await expect(store.append(id, 'any', [event('X', {}, { effectiveAt: new Date('nope') })])).rejects.toMatchObject({ kind: 'validation' });
    expect(await store.streamVersion(id)).toBe(0);
  });
});

describe('appends made together', () => {
  it('go as one statement, each with its own version check, answer and hash chain', async () => {
    const [a, b, behind, c, d] = [stream('together'), stream('together'), stream('together'), stream('together'), stream('together')];
    await store.append(behind, 'no_stream', [event()]);
    const before = await sequenceValue();
    // Five callers in one tick, as a worker's deliveries or writers in step make them.
    const answers = await Promise.allSettled([
      store.append(a, 'no_stream', [event('A')]),
      store.append(b, 'any', [event('B')]),
      store.append(behind, 5, [event('Late')]),
      store.append(c, 'no_stream', [event('C', { awkward: 'tab\there "quoted" ü 💾' })]),
      store.append(d, 'no_stream', [event('D')]),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((answers[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'stream_version_conflict', actual: 1, expected: 5 });
    const written = await Promise.all([a, b, c, d].map(async (id) => (await store.readStream(id))[0]!));
    expect(new Set(written.map((e) => e.transactionId)).size).toBe(1);
    expect(written.map((e) => [e.type, e.streamVersion])).toEqual([['A', 1], ['B', 1], ['C', 1], ['D', 1]]);
    const fulfilled = answers.filter((answer): answer is PromiseFulfilledResult<Awaited<ReturnType<EventStore['append']>>> => answer.status === 'fulfilled');
    expect(fulfilled.map((answer) => answer.value.events[0])).toEqual(
      written.map((e) => ({ id: e.id, position: e.position, streamVersion: e.streamVersion, recordedAt: e.recordedAt })),
    );
    // Positions only for the appends written.
    expect(await sequenceValue()).toBe(before + 4);
    await store.append(a, 1, [event('A2')]);
    expect(await store.readStream(behind)).toHaveLength(1);
    expect(await verifyIntegrity(db, () => new Date())).toMatchObject({ ok: true, brokenCount: 0 });
  });

  it('refused by the server, fail alone; two on one stream meet at its version', async () => {
    const [good, bad, other, shared] = [stream('together'), stream('together'), stream('together'), stream('together')];
    const answers = await Promise.allSettled([
      store.append(good, 'no_stream', [event('Good')]),
      store.append(bad, 'no_stream', [event('Bad', { text: 'nul \u0000 byte' })]),
      store.append(other, 'no_stream', [event('Other')]),
      store.append(shared, 'no_stream', [event('First')]),
      store.append(shared, 'no_stream', [event('Second')]),
    ]);
    expect(answers.slice(0, 3).map((answer) => answer.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((answers[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'invalid_text' });
    expect(await store.streamVersion(bad)).toBe(0);
    expect((await store.readStream(good)).map((e) => e.type)).toEqual(['Good']);
    // Exactly one of the two no_stream appends to one stream wins; the other learns the version it lost to.
    const onShared = answers.slice(3);
    expect(onShared.filter((answer) => answer.status === 'fulfilled')).toHaveLength(1);
    expect(onShared.find((answer) => answer.status === 'rejected')).toMatchObject({ reason: { code: 'stream_version_conflict', actual: 1 } });
    expect(await store.readStream(shared)).toHaveLength(1);
    expect(await verifyIntegrity(db, () => new Date())).toMatchObject({ ok: true, brokenCount: 0 });
  });
});

describe('idempotency', () => {
  it('answers a retried append with the original result and writes nothing', async () => {
    const id = stream();
    const events = [event('A', { x: 1 }, { id: randomUUID() }), event('B', { y: [1, 2] }, { id: randomUUID() })];
    const first = await store.append(id, 'no_stream', events);
    const sequenceBefore = await sequenceValue();
    const retry = await store.append(id, 'no_stream', events);
    expect(retry.duplicate).toBe(true);
    expect(retry.events).toEqual(first.events);
    expect(retry.streamVersion).toBe(2);
    expect(await sequenceValue()).toBe(sequenceBefore);
    expect(await store.readStream(id)).toHaveLength(2);
  });

  it('treats the same id with different content as a conflict', async () => {
    const eventId = randomUUID();
    const id = stream();
    await store.append(id, 'any', [event('A', { x: 1 }, { id: eventId })]);
    await expect(store.append(id, 'any', [event('A', { x: 2 }, { id: eventId })])).rejects.toBeInstanceOf(EventIdConflictError);
    await expect(store.append(stream(), 'any', [event('A', { x: 1 }, { id: eventId })])).rejects.toMatchObject({
      code: 'event_id_conflict',
      eventId,
    });
    expect(await store.readStream(id)).toHaveLength(1);
  });

  it('turns concurrent first attempts with one id into one event', async () => {
    const id = stream();
    const same = event('A', { x: 1 }, { id: randomUUID() });
    const results = await Promise.all(Array.from({ length: 8 }, () => store.append(id, 'any', [same])));
    expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    expect(new Set(results.map((result) => result.events[0]!.position)).size).toBe(1);
    expect(await store.readStream(id)).toHaveLength(1);
  });
});

describe('concurrency', () => {
  it('8 writers racing on one stream: one winner per version, gapless versions, positions in version order', async () => {
    const id = stream('race');
    const target = 100;
    const startPosition = await sequenceValue();
    let conflicts = 0;
    let written = 0;
    const writer = async (name: number) => {
      let version = await store.streamVersion(id);
      while (written < target && version < target) {
        try {
          version = (await store.append(id, version, [event('Raced', { writer: name, version })])).streamVersion;
          written += 1;
        } catch (error) {
          if (!(error instanceof StreamVersionConflictError)) throw error;
          expect(error.actual).toBeGreaterThan(version);
          version = error.actual;
          conflicts += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, index) => writer(index)));
    const events = await store.readStream(id, 1, 10_000);
    expect(conflicts).toBeGreaterThan(0);
    expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    // Each winner wrote the version it read: exactly one winner per version.
    for (const e of events) expect(e.data.version).toBe(e.streamVersion - 1);
    // A loser of a race may have drawn a position before the unique key stopped it: positions may skip, never
    // run backwards within the stream.
    const positions = events.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(positions[0]).toBeGreaterThan(startPosition);
    expect(await sequenceValue()).toBeLessThanOrEqual(startPosition + events.length + conflicts);
  });
});

describe('concurrency with "any"', () => {
  it('8 writers appending with expected version "any" to one stream all succeed, one version each', async () => {
    const id = stream('any-race');
    const results = await Promise.all(Array.from({ length: 40 }, (_, n) => store.append(id, 'any', [event('Any', { n })])));
    const events = await store.readStream(id, 1, 1000);
    expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.streamVersion)).size).toBe(40);
    expect(await verifyIntegrity(db, () => new Date())).toMatchObject({ ok: true });
  });
});

describe('bulk import', () => {
  it('imports many streams in one transaction, in order, chained like appends; later appends continue the chain', async () => {
    const existing = stream('existing');
    await store.append(existing, 'no_stream', [event('Before', { n: 0 })]);
    const fresh = [stream('import'), stream('import "quoted" \\ ü')];
    const tricky = { text: 'tab\there\nnew line \\ backslash "quotes" ünïcödé 💾', nested: { list: [1, 2.5, null, true] } };
    const result = await store.import([
      { streamId: fresh[0]!, expected: 'no_stream', events: [event('A', { n: 1 }), event('A', tricky), event('A', { n: 3 })] },
      { streamId: existing, expected: 1, events: [event('B', { n: 4 }), event('B', { n: 5 })] },
      {
        streamId: fresh[1]!,
        expected: 'any',
        events: [
          event('C', { n: 6 }),
          // The epoch itself and an instant before it, a schema version, and quotes and non-ASCII outside the data.
          event('Quoted "C"', tricky, { effectiveAt: new Date(0), schemaVersion: 3, metadata: { actor: 'user:spec@example.com', source: { title: 'Règle 中文 "q"' } } }),
          event('C', { n: 8 }, { effectiveAt: new Date('1960-02-29T12:34:56.789Z') }),
        ],
      },
    ]);
    expect(result).toMatchObject({ imported: 8, duplicate: false });
    expect(result.lastPosition - result.firstPosition).toBeGreaterThanOrEqual(7);

    const first = await store.readStream(fresh[0]!);
    expect(first.map((e) => [e.streamVersion, e.data])).toEqual([[1, { n: 1 }], [2, tricky], [3, { n: 3 }]]);
    expect(first.map((e) => e.position)).toEqual([...first.map((e) => e.position)].sort((a, b) => a - b));
    expect(new Set(first.map((e) => e.recordedAt.getTime())).size).toBe(1);
    expect((await store.readStream(existing)).map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    expect((await store.readStream(fresh[1]!)).map((e) => [e.type, e.schemaVersion, e.effectiveAt.toISOString(), e.metadata.source?.title])).toEqual([
      ['C', 1, '2025-04-09T00:00:00.000Z', undefined],
      ['Quoted "C"', 3, '1970-01-01T00:00:00.000Z', 'Règle 中文 "q"'],
      ['C', 1, '1960-02-29T12:34:56.789Z', undefined],
    ]);

    await store.append(existing, 3, [event('After', { n: 7 })]);
    expect(await verifyIntegrity(db, () => new Date())).toMatchObject({ ok: true, brokenCount: 0 });
  });

  it('answers a retried import as a duplicate and refuses conflicts and wrong versions, writing nothing', async () => {
    const streamId = stream('import-retry');
    const events = [event('A', { n: 1 }, { id: uuidv7() }), event('A', { n: 2 }, { id: uuidv7() })];
    const original = await store.import([{ streamId, expected: 'no_stream', events }]);
    expect(await store.import([{ streamId, expected: 'no_stream', events }])).toMatchObject({
      imported: 0,
      duplicate: true,
      firstPosition: original.firstPosition,
    });
    const before = await sequenceValue();
    const count = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM events`)).rows[0]!.n);
    const total = await count();

    await expect(store.import([{ streamId, expected: 'no_stream', events: [{ ...events[0]!, data: { n: 99 } }, events[1]!] }])).rejects.toBeInstanceOf(EventIdConflictError);
    const other = stream('import-other');
    const wrong = store.import([
      { streamId: other, expected: 'no_stream', events: [event()] },
      { streamId, expected: 5, events: [event()] },
    ]);
    await expect(wrong).rejects.toBeInstanceOf(StreamVersionConflictError);
    await expect(wrong).rejects.toMatchObject({ streamId, actual: 2 });
    await expect(store.import([{ streamId: other, expected: 'stream_exists', events: [event()] }])).rejects.toMatchObject({ streamId: other, actual: -1 });
    const id = uuidv7();
    await expect(
      store.import([
        { streamId: stream(), expected: 'any', events: [event('A', {}, { id })] },
        { streamId: stream(), expected: 'any', events: [event('A', {}, { id })] },
      ]),
    ).rejects.toMatchObject({ code: 'invalid_field' });
    expect(await count()).toBe(total);
    expect(await sequenceValue()).toBe(before);
    expect(await store.streamVersion(other)).toBe(0);
  });
});

describe('reading the global log', () => {
  async function drain(after: Checkpoint, seen: StoredEvent[]): Promise<Checkpoint> {
    let checkpoint = after;
    for (;;) {
      const batch = await store.readAll(checkpoint, 50);
      if (batch.length === 0) return checkpoint;
      seen.push(...batch);
      checkpoint = checkpointOf(batch[batch.length - 1]!);
    }
  }

  it('never skips an event whose transaction commits after a later position', async () => {
    const checkpointBefore = await drain(START, []);
    const slow = new Client({ connectionString: testDb.appUrl });
    await slow.connect();
    const seen: StoredEvent[] = [];
    const naive: number[] = [];
    const naiveAfter = (await sequenceValue()) ;
    try {
      await slow.query('BEGIN');
      const slowStore = new EventStore(slow, new Clock());
      const slowResult = await slowStore.append(stream('slow'), 'any', [event('Slow')], slow);
      const fast = await store.append(stream('fast'), 'any', [event('Fast')]);
      expect(fast.events[0]!.position).toBeGreaterThan(slowResult.events[0]!.position);

      const checkpoint = await drain(checkpointBefore, seen);
      // A reader trusting positions alone already sees the later position and moves past the earlier one.
      const visible = await owner.query<{ global_position: string }>(
        `SELECT global_position FROM events WHERE global_position > $1 ORDER BY global_position`,
        [naiveAfter],
      );
      naive.push(...visible.rows.map((row) => Number(row.global_position)));
      await slow.query('COMMIT');
      await drain(checkpoint, seen);

      const ids = seen.map((e) => e.id);
      expect(ids).toEqual(expect.arrayContaining([slowResult.events[0]!.id, fast.events[0]!.id]));
      expect(new Set(ids).size).toBe(ids.length);
      expect(naive).toEqual([fast.events[0]!.position]);
    } finally {
      await slow.end();
    }
  });

  it('a reader running while 8 writers commit out of order, some held open, sees every event once', async () => {
    let checkpoint = await drain(START, []);
    const seen: StoredEvent[] = [];
    const appended: string[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        checkpoint = await drain(checkpoint, seen);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      checkpoint = await drain(checkpoint, seen);
    })();
    const writer = async (name: number) => {
      const client = new Client({ connectionString: testDb.appUrl });
      await client.connect();
      const writerStore = new EventStore(client, new Clock());
      try {
        for (let i = 0; i < 15; i += 1) {
          await client.query('BEGIN');
          const result = await writerStore.append(stream(`w${name}`), 'any', [event('Written', { name, i }), event('Written', { name, i, second: true })], client);
          // Hold some transactions open so later positions commit first.
          if ((name + i) % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 20 + ((name * 7 + i) % 40)));
          await client.query('COMMIT');
          appended.push(...result.events.map((e) => e.id));
        }
      } finally {
        await client.end();
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, index) => writer(index)));
    writing = false;
    await reader;
    const seenIds = seen.map((e) => e.id);
    expect(new Set(seenIds).size).toBe(seenIds.length);
    expect(new Set(seenIds)).toEqual(new Set(appended));
  });
});

describe('reading whole transactions', () => {
  it('leaves a transaction the limit would cut for the next read, and reads one larger than the limit whole', async () => {
    const head = await store.head();
    const from = (await store.readAll(START, 1_000_000)).at(-1);
    const start = from ? checkpointOf(from) : START;
    const first = await store.append(stream('whole'), 'no_stream', [event(), event(), event()]);
    const second = await store.append(stream('whole'), 'no_stream', [event(), event()]);
    expect(head.position).toBeLessThan(first.events[0]!.position);

    const cut = await store.readWholeTransactions(start, 4);
    expect(cut.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    const whole = await store.readWholeTransactions(start, 2);
    expect(whole.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
    const rest = await store.readWholeTransactions(checkpointOf(whole.at(-1)!), 2);
    expect(rest.map((e) => e.id)).toEqual(second.events.map((e) => e.id));

    // Headers only: the same events, cut the same way, with nothing but where they sit and what they are.
    const header = ({ id, position, type, transactionId }: EventHeader) => ({ id, position, type, transactionId });
    for (const [after, limit] of [[start, 4], [start, 2], [checkpointOf(whole.at(-1)!), 2]] as const) {
      const headers = await store.readWholeTransactions(after, limit, undefined, EVENT_HEADERS);
      expect(headers).toEqual((await store.readWholeTransactions(after, limit)).map(header));
      expect(Object.keys(headers[0]!).sort()).toEqual(['id', 'position', 'transactionId', 'type']);
    }
  });
});

describe('reading order', () => {
  it('orders transactions as numbers, not as text (9 before 10), so no checkpoint passes over an event', async () => {
    const scratch = await createTestDatabase('order');
    const ownerDb = await Database.connect({ url: scratch.ownerUrl, poolSize: 1, applicationName: 'order-spec' });
    try {
      for (const [position, txid] of [[1, '10'], [2, '9'], [3, '100']] as const) {
        await ownerDb.query(
          `INSERT INTO events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
                              recorded_at, effective_at, transaction_id, hash)
           VALUES ($1, gen_random_uuid(), 'order', $1, 'T', 1, '{}', '{"actor": "x"}', now(), now(), $2::xid8, '\\x00')`,
          [position, txid],
        );
      }
      // Small ids: every real cluster's snapshot xmin is past them, so all three are readable.
      const ordered = new EventStore(ownerDb, new Clock());
      const first = await ordered.readAll(START, 1);
      expect(first.map((e) => e.transactionId)).toEqual(['9']);
      const rest = await ordered.readAll(checkpointOf(first[0]!), 10);
      expect(rest.map((e) => e.transactionId)).toEqual(['10', '100']);
    } finally {
      await ownerDb.close();
      await scratch.drop();
    }
  });
});

describe('immutability', () => {
  let position: number;
  beforeAll(async () => {
    const result = await store.append(stream('immutable'), 'any', [event()]);
    position = result.events[0]!.position;
  });

  it.each([
    ['UPDATE', `UPDATE events SET type = 'Changed' WHERE global_position = $1`],
    ['DELETE', `DELETE FROM events WHERE global_position = $1`],
  ])('the database refuses %s, even for the owner', async (_label, statement) => {
    await expect(owner.query(statement, [position])).rejects.toMatchObject({ code: 'CTIMM' });
  });

  it('the database refuses TRUNCATE, even for the owner', async () => {
    await expect(owner.query(`TRUNCATE events CASCADE`)).rejects.toMatchObject({ code: 'CTIMM' });
  });

  it('the runtime role has no UPDATE, DELETE or TRUNCATE privilege on events at all', async () => {
    await expect(db.query(`UPDATE events SET type = 'Changed' WHERE global_position = $1`, [position])).rejects.toMatchObject({ code: '42501' });
    await expect(db.query(`DELETE FROM events WHERE global_position = $1`, [position])).rejects.toMatchObject({ code: '42501' });
    await expect(db.query(`TRUNCATE events`)).rejects.toMatchObject({ code: '42501' });
  });
});

describe('tamper evidence', () => {
  it('verifies a clean log and reports its head', async () => {
    await store.append(stream('verify'), 'any', [event(), event()]);
    const report = await verifyIntegrity(db, () => new Date());
    expect(report.ok).toBe(true);
    expect(report.firstBroken).toBeNull();
    expect(report.head.position).toBe(await sequenceValue());
    expect(report.head.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await verifyIntegrity(db, () => new Date())).head).toEqual(report.head);
  });

  // Each case flips one byte (or one unit) of one column of one stored event, as a superuser bypassing the trigger.
  const tamperings: Array<[string, string]> = [
    ['data', `data = jsonb_set(data, '{n}', to_jsonb(coalesce((data->>'n')::int, 0) + 1))`],
    ['type', `type = overlay(type placing chr(ascii(substr(type, 1, 1)) # 1) from 1 for 1)`],
    ['metadata', `metadata = jsonb_set(metadata, '{actor}', '"user:mallory@example.com"')`],
    ['effective_at', `effective_at = effective_at + interval '1 microsecond'`],
    ['recorded_at', `recorded_at = recorded_at - interval '1 second'`],
    ['hash', `hash = set_byte(hash, 0, get_byte(hash, 0) # 1)`],
    ['stream_id', `stream_id = stream_id || 'x'`],
    ['event_id', `event_id = gen_random_uuid()`],
  ];

  it.each(tamperings)('reports a changed %s at exactly that position', async (_column, assignment) => {
    // A database of its own per case, so one tampering does not mask the next.
    const isolated = await createTestDatabase('tamper');
    const isolatedDb = await Database.connect({ url: isolated.ownerUrl, poolSize: 2, applicationName: 'tamper' });
    try {
      const isolatedStore = new EventStore(isolatedDb, new Clock());
      for (let i = 0; i < 5; i += 1) {
        await isolatedStore.append(`s-${i % 2}`, 'any', [event('ThingHappened', { n: i }), event('Other', { n: i })]);
      }
      const positions = (await isolatedDb.query<{ p: string }>(`SELECT global_position AS p FROM events ORDER BY 1`)).rows.map((r) => Number(r.p));
      const victim = positions[3 + (tamperings.findIndex(([column]) => column === _column) % 5)]!;
      const client = new Client({ connectionString: isolated.ownerUrl });
      await client.connect();
      try {
        await client.query(`SET session_replication_role = replica`);
        const changed = await client.query(`UPDATE events SET ${assignment} WHERE global_position = $1`, [victim]);
        expect(changed.rowCount).toBe(1);
      } finally {
        await client.end();
      }
      const report = await verifyIntegrity(isolatedDb, () => new Date());
      expect(report.ok).toBe(false);
      expect(report.firstBroken?.position).toBe(victim);
    } finally {
      await isolatedDb.close();
      await isolated.drop();
    }
  });

  it('reports a deleted event at the position of the event that lost its predecessor', async () => {
    const isolated = await createTestDatabase('tamper');
    const isolatedDb = await Database.connect({ url: isolated.ownerUrl, poolSize: 2, applicationName: 'tamper' });
    try {
      const isolatedStore = new EventStore(isolatedDb, new Clock());
      const result = await isolatedStore.append('s', 'any', [event(), event(), event()]);
      const client = new Client({ connectionString: isolated.ownerUrl });
      await client.connect();
      await client.query(`SET session_replication_role = replica`);
      await client.query(`DELETE FROM events WHERE global_position = $1`, [result.events[1]!.position]);
      await client.end();
      const report = await verifyIntegrity(isolatedDb, () => new Date());
      expect(report.firstBroken).toMatchObject({ position: result.events[2]!.position, reason: 'missing_predecessor' });
    } finally {
      await isolatedDb.close();
      await isolated.drop();
    }
  });

  it('ids are time-ordered UUIDv7 when the client supplies none', () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a < b).toBe(true);
    expect(a[14]).toBe('7');
    // Many in one millisecond, across refills of the random pool: all distinct, all version 7 with the RFC variant.
    const many = Array.from({ length: 2000 }, () => uuidv7(1_700_000_000_000));
    expect(new Set(many).size).toBe(2000);
    expect(many.every((id) => UUID_PATTERN.test(id) && id[14] === '7' && '89ab'.includes(id[19]!))).toBe(true);
  });
});
