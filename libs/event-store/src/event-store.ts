import { ConflictError, ValidationError } from '@chiptrail/domain';
import { hash } from 'node:crypto';
import { DatabaseError } from 'pg';
import { Database, type Sql, copyBinaryWritten, pgErrorCode } from '@chiptrail/db';
import { Clock, uuidv7, UUID_PATTERN } from '@chiptrail/runtime';
import type { AppendNotifier } from './append-notifier';
import { jsonbText } from './jsonb-text';

export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

export interface Provenance {
  readonly url?: string;
  readonly title?: string;
  readonly publishedAt?: string;
  readonly confidence?: 'high' | 'medium' | 'low';
  readonly [key: string]: unknown;
}

export interface EventMetadata {
  /** Who recorded the event: `user:<email>`, `api-key:<id>`, `system:<component>`. */
  readonly actor: string;
  readonly source?: Provenance;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly [key: string]: unknown;
}

export interface EventToAppend {
  /** Client-chosen id makes retries idempotent; generated when absent. */
  readonly id?: string;
  readonly type: string;
  readonly schemaVersion?: number;
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: EventMetadata;
  /** Valid time: when the fact holds in the world. May lie in the past or the future. */
  readonly effectiveAt: Date;
}

/** Where an event sits in the log and what kind it is: all a reader that takes bodies from the table in SQL needs. */
export interface EventHeader {
  readonly id: string;
  readonly position: number;
  readonly type: string;
  readonly transactionId: string;
}

export interface StoredEvent extends EventHeader {
  readonly streamId: string;
  readonly streamVersion: number;
  readonly schemaVersion: number;
  readonly data: Record<string, unknown>;
  readonly metadata: EventMetadata;
  /** Transaction time: when the store accepted the event (server clock, never client-supplied). */
  readonly recordedAt: Date;
  readonly effectiveAt: Date;
  readonly hash: string;
}

export interface AppendResult {
  readonly streamId: string;
  /** The stream's version after this append: pass it as the expected version of the next one. */
  readonly streamVersion: number;
  readonly events: ReadonlyArray<{ id: string; position: number; streamVersion: number; recordedAt: Date }>;
  /** True when every event was already stored with the same content: nothing was written. */
  readonly duplicate: boolean;
}

/** Many streams at once (see `EventStore.import`): each with the version it must be at, like `append`. */
export interface StreamAppend {
  readonly streamId: string;
  readonly expected: ExpectedVersion;
  readonly events: readonly EventToAppend[];
}

export interface ImportResult {
  readonly imported: number;
  readonly firstPosition: number;
  readonly lastPosition: number;
  readonly recordedAt: Date;
  /** True when every event was already stored with the same content (a retried import): nothing was written. */
  readonly duplicate: boolean;
}

/** Where a reader of the global log stands: (transaction id, position), compared in that order. */
export interface Checkpoint {
  readonly txid: string;
  readonly position: number;
}

export const START: Checkpoint = { txid: '0', position: 0 };

export class StreamVersionConflictError extends ConflictError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(
      'stream_version_conflict',
      actual < 0
        ? `Stream ${streamId} does not exist, but version ${String(expected)} was expected.`
        : `Stream ${streamId} is at version ${actual}, but version ${String(expected)} was expected.`,
      { streamId, expectedVersion: expected, actualVersion: actual },
    );
  }
}

export class EventIdConflictError extends ConflictError {
  constructor(readonly eventId: string) {
    super('event_id_conflict', `Event id ${eventId} was already used for an event with different content.`, { eventId });
  }
}

const MAX_EVENTS_PER_APPEND = 10_000;
const EXPECTED_CODES: Record<Exclude<ExpectedVersion, number>, number> = { any: -1, no_stream: -2, stream_exists: -3 };

const APPEND_SQL = `SELECT event_id, global_position, stream_version, recorded_at, duplicate
  FROM append_events($1, $2, $3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[], $8::timestamptz[], $9)`;

/** One event with the client's id: the function checks first whether it is a retry of one already stored. */
const APPEND_ONE_WITH_ID_SQL = `SELECT event_id, global_position, stream_version, recorded_at, duplicate
  FROM append_event($1, $2, $3::uuid, $4, $5::int, $6::jsonb, $7::jsonb, $8::timestamptz, true)`;

/**
 * New events (no client id, so no idempotency check), one per append and one append per stream, `count` appends in
 * one statement: the same rules as append_event, each append's on its own row. Its position, time and transaction
 * are drawn in a lateral subquery whose filter is the version check, so a mismatch draws nothing and its missing row
 * tells the store to report the conflict; carried through materialized CTEs instead, each row's data and metadata were
 * copied twice (8 % more of the machine's CPU for one writer's appends, interleaved runs). Run through the plpgsql
 * function, an append cost the server 1–13 % more CPU (the function call, its three statements and returning a set;
 * perf task-clock of each backend over 9,000 interleaved appends, five runs). The digest is event_digest_payload's
 * expression written out: calling the plpgsql function cost each append 6–25 µs more of the server's CPU (8 writers,
 * CPU time of the backends per append, repeated runs); the specs verify appended events against the function. Only
 * what the caller lacks comes back, the time as epoch milliseconds: parsing a timestamp and three columns more cost
 * the client about 8 µs per append.
 */
function appendNewEventsSql(count: number): string {
  const rows = Array.from({ length: count }, (_, index) => {
    const p = (n: number) => `$${index * 8 + n}`;
    // The first row's casts type the columns; the later rows' parameters take their types from them.
    return index === 0
      ? `(${p(1)}::text, ${p(2)}::bigint, ${p(3)}::uuid, ${p(4)}::text, ${p(5)}::int, ${p(6)}::jsonb, ${p(7)}::jsonb, ${p(8)}::timestamptz)`
      : `(${[1, 2, 3, 4, 5, 6, 7, 8].map(p).join(', ')})`;
  });
  return `INSERT INTO events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
                      recorded_at, effective_at, transaction_id, hash)
  SELECT n.position, a.event_id, a.stream_id, n.version, a.type, a.schema_version, a.data, a.metadata, n.now, a.effective_at, n.txid,
         sha256(n.head || convert_to(jsonb_build_array(
           n.position, a.event_id, a.stream_id, n.version, a.type, a.schema_version, a.data, a.metadata,
           (extract(epoch FROM n.now) * 1000000)::bigint, (extract(epoch FROM a.effective_at) * 1000000)::bigint, n.txid::text
         )::text, 'UTF8'))
    FROM (VALUES ${rows.join(',\n                 ')}) a (stream_id, expected, event_id, type, schema_version, data, metadata, effective_at)
    LEFT JOIN LATERAL (SELECT e.stream_version, e.hash FROM events e WHERE e.stream_id = a.stream_id
                        ORDER BY e.stream_version DESC LIMIT 1) last ON true
    CROSS JOIN LATERAL (
      SELECT coalesce(last.stream_version, 0) + 1 AS version, coalesce(last.hash, '\\x'::bytea) AS head,
             nextval('events_position_seq') AS position, clock_timestamp() AS now, pg_current_xact_id() AS txid
       WHERE a.expected = -1 OR (a.expected = -2 AND last.stream_version IS NULL)
          OR (a.expected = -3 AND last.stream_version IS NOT NULL) OR coalesce(last.stream_version, 0) = a.expected
    ) n
  RETURNING stream_id, global_position, stream_version, floor(extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms`;
}

/** At most this many appends share a statement (eight parameters each). */
const MAX_GROUP = 100;

const appendNewEventsStatements: string[] = [];

function appendNewEvents(count: number): { name: string; text: string } {
  return { name: `append_new_events_${count}`, text: (appendNewEventsStatements[count] ??= appendNewEventsSql(count)) };
}

const APPEND_NEW_ONE = appendNewEvents(1);

/** The parameters of one new event's append, in the order appendNewEventsSql takes them. */
type NewEventValues = [streamId: string, expected: number, id: string, type: string, schemaVersion: number, data: string, metadata: string, effectiveAt: string];

interface WaitingAppend {
  readonly values: NewEventValues;
  readonly resolve: (rows: AppendedRow[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Appends of one new event each, made in the same tick by different callers (a worker recording deliveries, requests
 * answered together, writers in step), go to the server as one statement: one round trip, one transaction and one
 * commit for all of them. Eight writers in step, each paying their own, made 0.7–0.8 × the appends of raw single-row
 * INSERTs; as one statement, 1.1 ×, the machine's CPU per append down from ~480 to ~170 µs. Each append keeps its own
 * version check (a mismatch leaves only its row out) and its own answer. Nothing waits for a statement in flight, so
 * an append held at a stream's unique key (by an import still open) holds up only its own group.
 */
class NewEventAppends {
  private waiting: WaitingAppend[] = [];

  constructor(private readonly db: Sql) {}

  /** The appended row, or none when the stream was not at the expected version. */
  append(values: NewEventValues): Promise<AppendedRow[]> {
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ values, resolve, reject }) === 1) queueMicrotask(() => this.sendWaiting());
    });
  }

  private sendWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    // One append per stream in a statement (its head is read once, before any row is written): a stream's second
    // append goes in a statement of its own, side by side, and meets the first at the stream's unique key, as it
    // would have alone.
    const rounds: WaitingAppend[][] = [];
    const seen = new Map<string, number>();
    for (const append of waiting) {
      const round = seen.get(append.values[0]) ?? 0;
      seen.set(append.values[0], round + 1);
      (rounds[round] ??= []).push(append);
    }
    for (const round of rounds) {
      for (let start = 0; start < round.length; start += MAX_GROUP) void this.send(round.slice(start, start + MAX_GROUP));
    }
  }

  private async send(group: readonly WaitingAppend[]): Promise<void> {
    try {
      const { name, text } = appendNewEvents(group.length);
      const values = group.length === 1 ? group[0]!.values : group.flatMap((append) => append.values);
      const { rows } = await this.db.query<AppendedRow & { stream_id: string }>({ name, text, values });
      for (const append of group) append.resolve(rows.filter((row) => row.stream_id === append.values[0]));
    } catch (error) {
      // The server refused the statement and wrote none of it: one append's content or a race at a unique key. Each
      // goes again alone, for its own answer. Any other failure (the connection) is every append's.
      if (group.length > 1 && error instanceof DatabaseError) {
        for (const append of group) void this.send([append]);
        return;
      }
      for (const append of group) append.reject(error);
    }
  }
}

/** What an append statement returns: append_event(s) all of it, the new-event statement only what the caller lacks. */
type AppendedRow =
  | { event_id: string; global_position: string; stream_version: string; recorded_at: Date; duplicate: boolean; recorded_ms?: undefined }
  | { event_id?: undefined; global_position: string; stream_version: string; recorded_ms: number; recorded_at?: undefined; duplicate?: undefined };

/** How often an append with expected version "any" tries again after losing a race for the next version. */
const ANY_VERSION_ATTEMPTS = 50;

const EVENT_COLUMNS = `event_id, stream_id, stream_version, global_position, type, schema_version, data, metadata,
  recorded_at, effective_at, transaction_id::text AS transaction_id, encode(hash, 'hex') AS hash`;

interface EventRow {
  event_id: string;
  stream_id: string;
  stream_version: string;
  global_position: string;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recorded_at: Date;
  effective_at: Date;
  transaction_id: string;
  hash: string;
}

/** The append-only event log in PostgreSQL. */
export class EventStore {
  private readonly newEvents: NewEventAppends;

  constructor(
    private readonly db: Sql,
    private readonly clock: Clock,
    private readonly notifier?: AppendNotifier,
  ) {
    this.newEvents = new NewEventAppends(db);
  }

  /**
   * Appends `events` to `streamId` in one statement and one transaction, if the stream is at `expected`.
   * Pass `tx` to append inside a transaction of the caller's (the caller then wakes readers after its commit).
   */
  async append(
    streamId: string,
    expected: ExpectedVersion,
    events: readonly EventToAppend[],
    tx?: Sql,
  ): Promise<AppendResult> {
    validateAppend(streamId, expected, events);
    const clientIds = events.some((event) => event.id !== undefined);
    const ids = events.map((event) => event.id ?? uuidv7(this.clock.now().getTime()));
    const expectedCode = typeof expected === 'number' ? expected : EXPECTED_CODES[expected];
    const one = events.length === 1 ? (events[0] as EventToAppend) : undefined;
    // One event (the usual case) goes without arrays, which cost both sides a round of escaping and parsing.
    const oneValues = one && ([streamId, expectedCode, ids[0], one.type, one.schemaVersion ?? 1, JSON.stringify(one.data), JSON.stringify(one.metadata), one.effectiveAt.toISOString()] as NewEventValues);
    // Query objects as plain literals, and only for the path that sends one: built by spreading, and built for the
    // grouped path too, they were about half of what the store added to its bare statement's Node CPU (one writer,
    // interleaved with the bare statement on the same connection pool).
    const grouped = oneValues !== undefined && !clientIds && !tx;
    const query = grouped
      ? undefined
      : oneValues
        ? clientIds
          ? { name: 'append_event', text: APPEND_ONE_WITH_ID_SQL, values: oneValues }
          : { name: APPEND_NEW_ONE.name, text: APPEND_NEW_ONE.text, values: oneValues }
        : {
            name: 'append_events',
            text: APPEND_SQL,
            values: [
              streamId,
              expectedCode,
              ids,
              events.map((event) => event.type),
              events.map((event) => event.schemaVersion ?? 1),
              events.map((event) => JSON.stringify(event.data)),
              events.map((event) => JSON.stringify(event.metadata)),
              events.map((event) => event.effectiveAt.toISOString()),
              clientIds,
            ],
          };
    const run = async (): Promise<AppendedRow[]> =>
      query ? (await (tx ?? this.db).query<AppendedRow>(query)).rows : this.newEvents.append(oneValues as NewEventValues);
    let rows;
    for (let attempt = 1; ; attempt += 1) {
      try {
        rows = await run();
        break;
      } catch (error) {
        const constraint = pgErrorCode(error) === '23505' ? String((error as { constraint?: string }).constraint ?? '') : '';
        // Two first-time appends of one event id race past the duplicate check; the unique key stops the second.
        // Trying again turns that into the idempotent answer or a clean conflict.
        const idRace = constraint === 'events_event_id_key' && clientIds && attempt === 1;
        // Two appends raced for the stream's next version and this one lost at the unique key.
        const versionRace = constraint === 'events_stream_version_key';
        if (tx || !(idRace || (versionRace && expected === 'any' && attempt < ANY_VERSION_ATTEMPTS))) {
          if (versionRace) {
            const actual = await this.streamVersion(streamId);
            throw new StreamVersionConflictError(streamId, expected, actual === 0 ? -1 : actual);
          }
          throw translate(error, streamId, expected);
        }
        // Many writers on one hot stream: spread the retries so the same ones do not collide again.
        if (versionRace) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 10) * 2));
      }
    }
    if (rows.length === 0) {
      const actual = await this.streamVersion(streamId, tx);
      throw new StreamVersionConflictError(streamId, expected, actual === 0 ? -1 : actual);
    }
    const appended = rows.map((row, index) => ({
      id: row.event_id ?? (ids[index] as string),
      position: Number(row.global_position),
      streamVersion: Number(row.stream_version),
      recordedAt: row.recorded_at ?? new Date(row.recorded_ms as number),
    }));
    const duplicate = rows.every((row) => row.duplicate === true);
    if (!duplicate && !tx) this.notifier?.appended();
    return {
      streamId,
      streamVersion: Math.max(...appended.map((event) => event.streamVersion)),
      events: appended,
      duplicate,
    };
  }

  /**
   * Imports many streams in one transaction, at the speed of COPY: the store reads each stream's head, draws the
   * positions, computes every hash in process (the very bytes `event_digest` hashes, see jsonb-text.ts) and COPYs
   * the finished rows into the log. Same rules as `append`: expected versions, idempotent retries (an import whose
   * events are all stored already answers `duplicate`), per-stream hash chains. A whole import commits or none of it.
   */
  async import(appends: readonly StreamAppend[]): Promise<ImportResult> {
    if (appends.length === 0) throw ValidationError.field('streams', 'an import needs at least one stream.');
    const streams = new Set<string>();
    const ids = new Set<string>();
    const now = this.clock.now().getTime();
    const rows: Array<{ append: StreamAppend; event: EventToAppend; id: string }> = [];
    appends.forEach((append, index) => {
      validateAppend(append.streamId, append.expected, append.events, Number.MAX_SAFE_INTEGER);
      if (streams.has(append.streamId)) throw ValidationError.field(`streams.${index}`, `stream ${append.streamId} appears twice; give all its events at once.`);
      streams.add(append.streamId);
      for (const event of append.events) {
        const id = (event.id ?? uuidv7(now)).toLowerCase();
        if (ids.has(id)) throw ValidationError.field(`streams.${index}`, `event id ${id} appears twice in one import.`);
        ids.add(id);
        rows.push({ append, event, id });
      }
    });
    if (!(this.db instanceof Database)) throw new Error('EventStore.import needs the database itself, not a transaction.');
    const db = this.db;
    let written: ImportResult;
    try {
      written = await db.transaction(async (tx) => {
        // Statement limits suit requests, not a million-event load.
        await tx.query(`SET LOCAL statement_timeout = 0`);
        const { rows: [clock] } = await tx.query<{ txid: string; micros: string; at: Date }>(
          `SELECT pg_current_xact_id()::text AS txid, (extract(epoch FROM t) * 1000000)::bigint::text AS micros, t AS at
             FROM (SELECT date_trunc('milliseconds', clock_timestamp()) AS t) now`,
        );
        const heads = await this.heads([...streams], tx);
        for (const append of appends) {
          const head = heads.get(append.streamId) ?? { version: 0, hash: Buffer.alloc(0) };
          if (!versionMatches(append.expected, head.version)) {
            throw new StreamVersionConflictError(append.streamId, append.expected, head.version === 0 ? -1 : head.version);
          }
        }
        const positions = await this.drawPositions(rows.length, tx);
        const txid = Number(clock!.txid);
        await copyBinaryWritten(
          tx,
          `COPY events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
             recorded_at, effective_at, transaction_id, hash) FROM STDIN WITH (FORMAT binary)`,
          function* (out) {
            let index = 0;
            // Each event's payload (what its hash covers) is encoded once, into one buffer, and hashed there in one
            // call; its data and metadata go into the COPY stream as bytes copied from there. Built as one string and
            // written twice (payload, then COPY text), the encoding, escaping and flattening cost more than hashing.
            let step = Buffer.allocUnsafe(64 * 1024);
            for (const append of appends) {
              const head = heads.get(append.streamId) ?? { version: 0, hash: Buffer.alloc(0) };
              const stream = JSON.stringify(append.streamId);
              let previous = head.hash;
              let version = head.version;
              for (const event of append.events) {
                const { id } = rows[index] as { id: string };
                const position = positions[index] as string;
                index += 1;
                version += 1;
                const schemaVersion = event.schemaVersion ?? 1;
                // The canonical text is valid JSON too: it is what the server will store, so it is also what we send.
                const data = jsonbText(event.data);
                const metadata = jsonbText(event.metadata);
                const bytes = 32 + 256 + (stream.length + event.type.length + data.length + metadata.length) * 3;
                if (step.length < bytes) step = Buffer.allocUnsafe(bytes);
                previous.copy(step);
                let at = previous.length;
                at += step.write(`[${position}, "${id}", ${stream}, ${version}, ${JSON.stringify(event.type)}, ${schemaVersion}, `, at);
                const dataAt = at;
                at += step.write(data, at);
                const dataEnd = at;
                at += step.write(', ', at);
                const metadataAt = at;
                at += step.write(metadata, at);
                const metadataEnd = at;
                at += step.write(`, ${clock!.micros}, ${event.effectiveAt.getTime() * 1000}, "${clock!.txid}"]`, at);
                previous = hash('sha256', step.subarray(0, at), 'buffer');
                yield out
                  .row(12)
                  .bigint(Number(position))
                  .uuid(id)
                  .text(append.streamId)
                  .bigint(version)
                  .text(event.type)
                  .integer(schemaVersion)
                  .jsonb(step, dataAt, dataEnd)
                  .jsonb(step, metadataAt, metadataEnd)
                  .timestamp(clock!.at)
                  .timestamp(event.effectiveAt)
                  .bigint(txid)
                  .bytea(previous);
              }
            }
          },
        );
        return { imported: rows.length, firstPosition: Number(positions[0]), lastPosition: Number(positions[positions.length - 1]), recordedAt: clock!.at, duplicate: false };
      });
    } catch (error) {
      // A retried import finds its streams moved on (by itself): whether it is one tells the stored ids.
      if (error instanceof StreamVersionConflictError && appends.some((append) => append.events.some((event) => event.id !== undefined))) {
        const stored = await this.getEvents(rows.slice(0, 1).map((row) => row.id));
        if (stored.size > 0) return this.retriedImport(rows);
        throw error;
      }
      const constraint = pgErrorCode(error) === '23505' ? String((error as { constraint?: string }).constraint ?? '') : '';
      if (constraint === 'events_event_id_key') return this.retriedImport(rows);
      if (constraint === 'events_stream_version_key') {
        const stream = /\(stream_id, stream_version\)=\((.*), \d+\)/.exec(String((error as { detail?: string }).detail ?? ''))?.[1] ?? '(import)';
        const actual = await this.streamVersion(stream);
        throw new StreamVersionConflictError(stream, appends.find((a) => a.streamId === stream)?.expected ?? 'any', actual === 0 ? -1 : actual);
      }
      throw translate(error, '(import)', 'any');
    }
    this.notifier?.appended();
    return written;
  }

  /** Each stream's last version and hash. */
  private async heads(streamIds: readonly string[], sql: Sql): Promise<Map<string, { version: number; hash: Buffer }>> {
    const heads = new Map<string, { version: number; hash: Buffer }>();
    for (let start = 0; start < streamIds.length; start += 10_000) {
      const { rows } = await sql.query<{ stream_id: string; version: string; hash: Buffer }>(
        `SELECT s.stream_id, last.stream_version AS version, last.hash
           FROM unnest($1::text[]) AS s(stream_id)
           CROSS JOIN LATERAL (SELECT e.stream_version, e.hash FROM events e WHERE e.stream_id = s.stream_id
                                ORDER BY e.stream_version DESC LIMIT 1) last`,
        [streamIds.slice(start, start + 10_000)],
      );
      for (const row of rows) heads.set(row.stream_id, { version: Number(row.version), hash: row.hash });
    }
    return heads;
  }

  /** Positions for `count` events, in order (drawn like appends draw them, so concurrent writers interleave safely). */
  private async drawPositions(count: number, sql: Sql): Promise<string[]> {
    const positions: string[] = [];
    for (let drawn = 0; drawn < count; drawn += 100_000) {
      const { rows } = await sql.query<{ position: string }>(
        `SELECT nextval('events_position_seq')::text AS position FROM generate_series(1, $1::int)`,
        [Math.min(100_000, count - drawn)],
      );
      for (const row of rows) positions.push(row.position);
    }
    return positions;
  }

  /** An import that met event ids already stored: the same import again (nothing to do), or a conflict. */
  private async retriedImport(rows: ReadonlyArray<{ append: StreamAppend; event: EventToAppend; id: string }>): Promise<ImportResult> {
    const stored = await this.getEvents(rows.map((row) => row.id));
    const differing = rows.find(({ append, event, id }) => {
      const existing = stored.get(id);
      return (
        !existing ||
        existing.streamId !== append.streamId ||
        existing.type !== event.type ||
        existing.schemaVersion !== (event.schemaVersion ?? 1) ||
        existing.effectiveAt.getTime() !== event.effectiveAt.getTime() ||
        jsonbText(existing.data) !== jsonbText(event.data) ||
        jsonbText(existing.metadata) !== jsonbText(event.metadata)
      );
    });
    if (differing) throw new EventIdConflictError(stored.has(differing.id) ? differing.id : [...stored.keys()][0] ?? differing.id);
    const positions = [...stored.values()].map((event) => event.position);
    return {
      imported: 0,
      firstPosition: Math.min(...positions),
      lastPosition: Math.max(...positions),
      recordedAt: new Date(Math.min(...[...stored.values()].map((event) => event.recordedAt.getTime()))),
      duplicate: true,
    };
  }

  async readStream(streamId: string, fromVersion = 1, limit = 1000, sql: Sql = this.db): Promise<StoredEvent[]> {
    const { rows } = await sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2
        ORDER BY stream_version LIMIT $3`,
      [streamId, fromVersion, limit],
    );
    return rows.map(toStoredEvent);
  }

  /** Every event of the given streams that exist, by stream, in version order (for loading many at once). */
  async readStreams(streamIds: readonly string[], sql: Sql = this.db): Promise<Map<string, StoredEvent[]>> {
    const byStream = new Map<string, StoredEvent[]>();
    for (let start = 0; start < streamIds.length; start += 10_000) {
      const { rows } = await sql.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ANY ($1::text[]) ORDER BY stream_id, stream_version`,
        [streamIds.slice(start, start + 10_000)],
      );
      for (const row of rows) {
        const event = toStoredEvent(row);
        const list = byStream.get(event.streamId);
        if (list) list.push(event);
        else byStream.set(event.streamId, [event]);
      }
    }
    return byStream;
  }

  /** The events with the given ids that exist (ids that are not UUIDs simply are not found). */
  async getEvents(ids: readonly string[], sql: Sql = this.db): Promise<Map<string, StoredEvent>> {
    const found = new Map<string, StoredEvent>();
    const valid = ids.filter((id) => UUID_PATTERN.test(id)).map((id) => id.toLowerCase());
    for (let start = 0; start < valid.length; start += 10_000) {
      // One index probe per id, whatever the statistics say. During a bulk import they lag far behind the table, and
      // `event_id = ANY (…)` with thousands of ids was planned as a (parallel) scan of the whole log once per batch:
      // quadratic, and it took the core the import needs. LIMIT 1 keeps the subquery from being flattened into a join
      // the planner could hash the same way.
      const { rows } = await sql.query<EventRow>(
        `SELECT e.* FROM unnest($1::uuid[]) AS wanted(id)
           CROSS JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = wanted.id LIMIT 1) e`,
        [valid.slice(start, start + 10_000)],
      );
      for (const row of rows) found.set(row.event_id, toStoredEvent(row));
    }
    return found;
  }

  async streamVersion(streamId: string, sql: Sql = this.db): Promise<number> {
    const { rows } = await sql.query<{ version: string | null }>(`SELECT max(stream_version) AS version FROM events WHERE stream_id = $1`, [streamId]);
    return Number(rows[0]?.version ?? 0);
  }

  async getEvent(id: string, sql: Sql = this.db): Promise<StoredEvent | undefined> {
    if (!UUID_PATTERN.test(id)) return undefined;
    const { rows } = await sql.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE event_id = $1`, [id]);
    return rows[0] ? toStoredEvent(rows[0]) : undefined;
  }

  /**
   * Reads the global log after `after`, never skipping an event that commits later.
   *
   * Positions are drawn before commit, so a reader that trusted positions alone could pass over a position whose
   * transaction commits after a later one. Each event therefore carries the id of the transaction that wrote it,
   * and we read only transactions older than the oldest one still running (the snapshot's xmin), in transaction
   * order: everything below xmin has either committed or vanished, so nothing can appear behind the checkpoint.
   */
  async readAll(after: Checkpoint, limit: number, sql: Sql = this.db): Promise<StoredEvent[]> {
    return this.readAfter(WHOLE_EVENTS, after, limit, sql);
  }

  /**
   * Like readAll, but never ends inside a transaction: the trailing part of a transaction the limit cut is left for
   * the next read, and a single transaction larger than the limit is read whole. Readers that treat one append as
   * one change (the policy projection) then see the same groups whatever their batch size.
   * `read` says what of each event is read (whole events by default; EVENT_HEADERS reads no bodies).
   */
  async readWholeTransactions(after: Checkpoint, limit: number, sql?: Sql): Promise<StoredEvent[]>;
  async readWholeTransactions<T extends EventHeader>(after: Checkpoint, limit: number, sql: Sql | undefined, read: ReadShape<T>): Promise<T[]>;
  async readWholeTransactions(after: Checkpoint, limit: number, sql: Sql = this.db, read: ReadShape<EventHeader> = WHOLE_EVENTS): Promise<EventHeader[]> {
    const events = await this.readAfter(read, after, limit, sql);
    if (events.length < limit) return events;
    const last = events[events.length - 1]!;
    const cut = events.findIndex((event) => event.transactionId === last.transactionId);
    if (cut > 0) return events.slice(0, cut);
    const { rows } = await sql.query<Record<string, unknown>>({
      name: `${read.name}_transaction_rest`,
      text: `SELECT ${read.columns} FROM events
              WHERE transaction_id = $1::xid8 AND global_position > $2::bigint
              ORDER BY events.global_position`,
      values: [last.transactionId, last.position],
    });
    return [...events, ...rows.map(read.map)];
  }

  private async readAfter<T extends EventHeader>(read: ReadShape<T>, after: Checkpoint, limit: number, sql: Sql): Promise<T[]> {
    const { rows } = await sql.query<Record<string, unknown>>({
      name: `${read.name}_after`,
      text: `SELECT ${read.columns} FROM events
              WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
                AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              -- Qualified: the select list names its text rendering transaction_id too, and sorting by that would
              -- sort the whole log instead of reading the (transaction_id, global_position) index.
              ORDER BY events.transaction_id, events.global_position
              LIMIT $3`,
      values: [after.txid, after.position, limit],
    });
    return rows.map(read.map);
  }

  /** The newest position and transaction in the log, visible or not yet safe to read. */
  async head(sql: Sql = this.db): Promise<{ position: number; safeTxid: string }> {
    const { rows } = await sql.query<{ position: string | null; xmin: string }>(
      `SELECT (SELECT max(global_position) FROM events) AS position,
              pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`,
    );
    return { position: Number(rows[0]?.position ?? 0), safeTxid: rows[0]?.xmin ?? '0' };
  }
}

/**
 * What a log read selects from `events` and how it maps a row; `name` names its prepared statements. The columns
 * must include the header's (event_id, global_position, type, transaction_id as text).
 */
export interface ReadShape<T extends EventHeader> {
  readonly name: string;
  readonly columns: string;
  readonly map: (row: Record<string, unknown>) => T;
}

const WHOLE_EVENTS: ReadShape<StoredEvent> = { name: 'read_events', columns: EVENT_COLUMNS, map: (row) => toStoredEvent(row as unknown as EventRow) };

export const EVENT_HEADER_COLUMNS = `event_id, global_position, type, transaction_id::text AS transaction_id`;

function eventHeaderOf(row: Record<string, unknown>): EventHeader {
  return { id: row.event_id as string, position: Number(row.global_position), type: row.type as string, transactionId: row.transaction_id as string };
}

/** Headers only, no bodies: for readers that take what they need from the events table in SQL. */
export const EVENT_HEADERS: ReadShape<EventHeader> = { name: 'read_headers', columns: EVENT_HEADER_COLUMNS, map: eventHeaderOf };

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    position: Number(row.global_position),
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at,
    effectiveAt: row.effective_at,
    transactionId: row.transaction_id,
    hash: row.hash,
  };
}

export function checkpointOf(event: StoredEvent): Checkpoint {
  return { txid: event.transactionId, position: event.position };
}

function versionMatches(expected: ExpectedVersion, version: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return version === 0;
  if (expected === 'stream_exists') return version > 0;
  return version === expected;
}

function validateAppend(streamId: string, expected: ExpectedVersion, events: readonly EventToAppend[], maxEvents = MAX_EVENTS_PER_APPEND): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200) {
    throw ValidationError.field('streamId', 'must be 1 to 200 characters.');
  }
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw ValidationError.field('expectedVersion', 'must be a version number (0 or more), "any", "no_stream" or "stream_exists".');
  }
  if (events.length === 0) throw ValidationError.field('events', 'an append needs at least one event.');
  if (events.length > maxEvents) {
    throw ValidationError.field('events', `at most ${maxEvents} events per append.`);
  }
  let seen: Set<string> | undefined;
  events.forEach((event, index) => {
    if (event.id !== undefined) {
      seen ??= new Set();
      if (!UUID_PATTERN.test(event.id)) throw ValidationError.field(`events.${index}.id`, 'must be a UUID.');
      const id = event.id.toLowerCase();
      if (seen.has(id)) throw ValidationError.field(`events.${index}.id`, 'appears twice in one append.');
      seen.add(id);
    }
    if (!(event.effectiveAt instanceof Date) || Number.isNaN(event.effectiveAt.getTime())) {
      throw ValidationError.field(`events.${index}.effectiveAt`, 'must be a valid timestamp.');
    }
    if (typeof event.metadata?.actor !== 'string' || event.metadata.actor === '') {
      throw ValidationError.field(`events.${index}.metadata.actor`, 'every event needs an actor.');
    }
  });
}

function translate(error: unknown, streamId: string, expected: ExpectedVersion): unknown {
  const code = pgErrorCode(error);
  const detail = (error as { detail?: string }).detail ?? '';
  if (code === 'CTVER') return new StreamVersionConflictError(streamId, expected, Number(detail));
  if (code === 'CTIDC') return new EventIdConflictError(detail || 'unknown');
  if (code === '22P05' || code === '22021' || code === '22P02') {
    return new ValidationError('invalid_text', 'Text contains characters PostgreSQL cannot store (such as \\u0000).');
  }
  return error;
}
