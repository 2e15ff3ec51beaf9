import type { Database, Sql } from '@chiptrail/db';
import { START, type Checkpoint, type EventHeader, type EventStore } from '@chiptrail/event-store';
import { PROJECTIONS_CHANNEL, ensureCheckpoint } from './projection-runner';
import { applyEventsTo, readEventsFor, type Projection, type ShapedProjection, type StagedBatch } from './projection';

export interface RebuildProgress {
  readonly projection: string;
  readonly handled: number;
  readonly total: number;
  readonly eventsPerSecond: number;
  readonly etaSeconds: number | null;
}

const BATCH = 5000;

/**
 * Replays the whole log into fresh copies of the projection's tables (in a schema of their own, through
 * `search_path`, so handlers run unchanged), then swaps them in and moves the checkpoint in one transaction.
 * The live read model keeps serving until the swap. Needs the owner role (it creates and drops tables).
 */
export async function rebuildProjection(
  db: Database,
  store: EventStore,
  projection: Projection,
  onProgress: (progress: RebuildProgress) => void = () => undefined,
  now: () => number = Date.now,
  /** Events a batch reads at least (whole transactions); the default suits logs of millions. */
  batchSize?: number,
): Promise<{ handled: number; seconds: number }> {
  const schema = `rebuild_${projection.name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  const live = await db.query<{ schema: string }>(`SELECT current_schema() AS schema`);
  const liveSchema = live.rows[0]!.schema;
  await ensureCheckpoint(db, projection.name);

  const { deferred, searched } = await db.transaction(async (tx) => {
    await tx.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await tx.query(`CREATE SCHEMA ${schema}`);
    for (const table of projection.tables) {
      await tx.query(`CREATE TABLE ${schema}.${table} (LIKE ${liveSchema}.${table} INCLUDING ALL)`);
    }
    const copies = await indexShapes(tx, schema, projection.tables);
    if (!projection.indexesReadWhileApplying) return { deferred: [], searched: copies.some((index) => !index.primary) };
    const kept = new Set(projection.indexesReadWhileApplying);
    const live = await indexShapes(tx, liveSchema, projection.tables);
    const later = copies.filter(
      (copy) => !live.some((index) => index.table === copy.table && index.shape === copy.shape && kept.has(index.name)),
    );
    // Kept while applying, a unique index on random ids (the event catalog's event_id) cost a fifth of its rebuild;
    // built at the end from sorted input it takes a few percent.
    for (const index of later) {
      await tx.query(index.constraint ? `ALTER TABLE ${schema}.${index.table} DROP CONSTRAINT ${index.constraint}` : `DROP INDEX ${schema}.${index.name}`);
    }
    return { deferred: later, searched: copies.some((index) => !index.primary && !later.includes(index)) };
  });

  const total = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM events`)).rows[0]?.n ?? 0);
  const started = now();
  let checkpoint: Checkpoint = START;
  let handled = 0;
  const batch = batchSize ?? (projection.batchSize ? Math.max(projection.batchSize, BATCH) : BATCH);

  /** Points the transaction at the fresh tables. */
  const begin = (tx: Sql, commit: 'flushed' | 'unflushed') =>
    // Nobody reads the fresh tables before the swap, whose own commit is flushed, and with it everything before it.
    tx.query(`SELECT set_config('search_path', $1, true), set_config('synchronous_commit', $2, true)`, [
      `${schema}, ${liveSchema}`,
      commit === 'flushed' ? 'on' : 'off',
    ]);
  const moveTo = (events: readonly EventHeader[]) => {
    const last = events[events.length - 1]!;
    checkpoint = { txid: last.transactionId, position: last.position };
    handled += events.length;
  };

  /** Applies events read after `checkpoint` into the fresh tables, and moves past them. */
  const applyRead = async (tx: Sql, events: readonly EventHeader[], commit: 'flushed' | 'unflushed'): Promise<void> => {
    await begin(tx, commit);
    await applyEventsTo(projection, events, tx);
    moveTo(events);
  };

  /**
   * For a projection that stages its batches: works out `events` on top of `previous` in a transaction of their own,
   * and writes them once `before` (the batch before's writing) is done. Gives the staged batch as soon as it is.
   */
  const stageThenWrite = (stage: NonNullable<ShapedProjection['stage']>, events: readonly EventHeader[], previous: StagedBatch | undefined, before: Promise<void>) => {
    let staged!: (batch: StagedBatch | undefined) => void;
    const ready = new Promise<StagedBatch | undefined>((resolve) => (staged = resolve));
    const written = db.transaction(async (tx) => {
      await begin(tx, 'unflushed');
      const batch = await stage.call(projection, events, tx, previous);
      staged(batch);
      await before;
      await batch?.flush();
    });
    // Unwatched until the next batch's or the end's turn; a failure still reaches whoever awaits it.
    written.catch(() => undefined);
    return { staged: Promise.race([ready, written.then(() => ready)]), written };
  };

  const report = () => {
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const rate = handled / seconds;
    onProgress({
      projection: projection.name,
      handled,
      total: Math.max(total, handled),
      eventsPerSecond: rate,
      etaSeconds: rate > 0 ? Math.max(total - handled, 0) / rate : null,
    });
  };

  // Only lookups by other indexes than primary keys need statistics to be planned well.
  const analyse = searched ? await analyseStatement(db, schema, projection.tables) : undefined;
  let analysedAt = 0;
  let analysing: Promise<unknown> = Promise.resolve();
  // The next batch is read (on another connection) while this one is applied: reading and writing overlap. A
  // projection that stages its batches is written one batch behind: while batch n is written, batch n + 1 is worked
  // out in memory on top of it (the tables show it only once it commits). Batch n + 1 waits for batch n - 1 to be
  // written, so the tables hold everything batch n does not.
  let reading = readEventsFor(store, projection, checkpoint, batch);
  const stage = projection.reads ? projection.stage : undefined;
  let previous: StagedBatch | undefined;
  let writtenBefore: Promise<void> = Promise.resolve();
  let written: Promise<void> = Promise.resolve();
  for (;;) {
    const events = await reading;
    if (events.length === 0) break;
    const last = events[events.length - 1]!;
    reading = readEventsFor(store, projection, { txid: last.transactionId, position: last.position }, batch);
    reading.catch(() => undefined);
    if (stage) {
      await writtenBefore;
      const next = stageThenWrite(stage, events, previous, written);
      previous = (await next.staged) ?? previous;
      [writtenBefore, written] = [written, next.written];
      moveTo(events);
    } else {
      await db.transaction((tx) => applyRead(tx, events, 'unflushed'));
    }
    report();
    // Fresh tables have no statistics, and without them the planner takes a projection's lookups for scans of
    // everything (300 k events in: a bitmap over every current fact instead of the GIN entries of 400 chips, 1.3 s
    // a batch). Analysed as they double, they cost a handful of samples, taken on a connection of their own while
    // the next batches are applied (sampling took 4 % of a 1 M-event rebuild when the batches waited for it).
    if (analyse && handled >= analysedAt * 2) {
      await analysing;
      // Once the batch that doubled them is written (a staged batch is written behind the loop).
      analysing = written.then(() => db.query(analyse));
      analysing.catch(() => undefined);
      analysedAt = handled;
    }
  }
  await written;
  await analysing;
  // Built side by side, each on a connection of its own: a build keeps one core busy (GIN builds are not parallel),
  // and built one after another they left the other idle for a second at the end of a 1 M-event rebuild.
  const built = await Promise.allSettled(
    deferred.map((index) =>
      db.query(
        index.constraint
          ? `ALTER TABLE ${schema}.${index.table} ADD CONSTRAINT ${index.constraint} ${index.constraintDefinition}`
          : index.shape.replace(/^CREATE (UNIQUE )?INDEX ON/, `CREATE $1INDEX ON ${schema}.${index.table}`),
      ),
    ),
  );
  const failed = built.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;

  await db.transaction(async (tx) => {
    // The checkpoint row first, in the order runners take it: the live runner's open batch finishes, its next one
    // waits for the swap. Then the tables, so no reader sees them half-swapped.
    await tx.query(`SELECT 1 FROM projection_checkpoints WHERE name = $1 FOR UPDATE`, [projection.name]);
    await tx.query(`LOCK TABLE ${projection.tables.map((t) => `${liveSchema}.${t}`).join(', ')} IN ACCESS EXCLUSIVE MODE`);
    for (let events = await readEventsFor(store, projection, checkpoint, batch, tx); events.length > 0; events = await readEventsFor(store, projection, checkpoint, batch, tx)) {
      await applyRead(tx, events, 'flushed');
      report();
    }
    await tx.query(`SELECT set_config('search_path', $1, true)`, [liveSchema]);
    const liveIndexes = await indexShapes(tx, liveSchema, projection.tables);
    for (const table of projection.tables) {
      await tx.query(`DROP TABLE ${liveSchema}.${table}`);
      await tx.query(`ALTER TABLE ${schema}.${table} SET SCHEMA ${liveSchema}`);
    }
    // Copies get generated index names; give them back the names the migrations chose.
    for (const index of await indexShapes(tx, liveSchema, projection.tables)) {
      const original = liveIndexes.find((candidate) => candidate.table === index.table && candidate.shape === index.shape);
      if (original && original.name !== index.name) {
        await tx.query(`ALTER INDEX ${liveSchema}.${index.name} RENAME TO ${original.name}`);
      }
    }
    await tx.query(`DROP SCHEMA ${schema}`);
    await tx.query(
      `UPDATE projection_checkpoints
          SET last_txid = $2::xid8, last_position = $3, events_handled = $4, updated_at = clock_timestamp()
        WHERE name = $1`,
      [projection.name, checkpoint.txid, checkpoint.position, handled],
    );
    await tx.query(`SELECT pg_notify($1, $2)`, [PROJECTIONS_CHANNEL, projection.name]);
  });
  report();
  return { handled, seconds: (now() - started) / 1000 };
}

/**
 * ANALYZE of the columns the fresh tables' indexes cover (those kept while applying): the lookups that need planning
 * search by them. Sampling every other column too (arrays' element statistics above all, and the policy projection's
 * cited answers, 3.5 s of a 100 k-event rebuild's 36 s when it held them) took twice as long. Row counts are updated
 * all the same.
 */
async function analyseStatement(db: Database, schema: string, tables: readonly string[]): Promise<string | undefined> {
  const { rows } = await db.query<{ table: string; columns: string }>(
    `SELECT c.relname AS "table", string_agg(DISTINCT quote_ident(a.attname), ', ') AS columns
       FROM pg_index x
       JOIN pg_class c ON c.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (x.indkey)
      WHERE n.nspname = $1 AND c.relname = ANY ($2)
      GROUP BY c.relname`,
    [schema, tables],
  );
  return rows.length > 0 ? `ANALYZE ${rows.map((row) => `${schema}.${row.table} (${row.columns})`).join(', ')}` : undefined;
}

async function indexShapes(tx: Sql, schema: string, tables: readonly string[]) {
  const { rows } = await tx.query<{ table: string; name: string; shape: string; primary: boolean; constraint: string | null; constraintDefinition: string | null }>(
    `SELECT t.relname AS "table", i.relname AS name, x.indisprimary AS primary,
            regexp_replace(pg_get_indexdef(x.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', 'CREATE \\1INDEX ON') AS shape,
            c.conname AS "constraint", pg_get_constraintdef(c.oid) AS "constraintDefinition"
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
      WHERE n.nspname = $1 AND t.relname = ANY ($2)`,
    [schema, tables],
  );
  return rows;
}
