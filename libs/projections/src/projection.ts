import type { Sql } from '@chiptrail/db';
import type { Checkpoint, EventHeader, EventStore, ReadShape, StoredEvent } from '@chiptrail/event-store';

/**
 * A named read model fed from the global log. `apply` gets each batch inside the transaction that also moves the
 * projection's checkpoint, so a batch is applied exactly once or not at all.
 *
 * Handlers must write only to `tables`, with unqualified names (a rebuild points `search_path` at fresh copies),
 * and must derive everything from the events (no wall clock), so a rebuild reproduces the live read model.
 */
interface ProjectionShape {
  readonly name: string;
  readonly tables: readonly string[];
  readonly batchSize?: number;
  /** False for processors of the log that act on the world (the alert dispatcher): replaying them is not a rebuild. */
  readonly rebuildable?: boolean;
  /** The projection this one builds on: it reads no further than that one's checkpoint and wakes when it moves. */
  readonly follows?: string;
  /**
   * The indexes `apply` reads or writes by: lookups, the rows UPDATE and DELETE find, ON CONFLICT's arbiters (primary
   * keys too). A rebuild keeps these on the fresh tables from the start and builds the others, unique constraints and
   * primary keys included, once the log is replayed, as bulk loads do (a duplicate then fails the rebuild there);
   * without this list it keeps them all.
   */
  readonly indexesReadWhileApplying?: readonly string[];
}

/** A batch applied in memory and not yet written (see ShapedProjection.stage). */
export interface StagedBatch {
  flush(): Promise<void>;
}

export interface EventProjection extends ProjectionShape {
  readonly reads?: undefined;
  apply(events: readonly StoredEvent[], tx: Sql): Promise<void>;
}

/**
 * Reads only what it needs of each event (`reads`, see ReadShape) and may take the rest from the events table in
 * SQL: runners and rebuilds then parse and send no more of the bodies than that.
 */
export interface ShapedProjection<T extends EventHeader = EventHeader> extends ProjectionShape {
  readonly reads: ReadShape<T>;
  apply(events: readonly T[], tx: Sql): Promise<void>;
  /**
   * `apply` in two steps, for a rebuild to write one batch while it works out the next: applies the batch in memory
   * (undefined: nothing to write), taking what `previous` staged but has not written yet from it, not from the tables.
   */
  stage?(events: readonly T[], tx: Sql, previous: StagedBatch | undefined): Promise<StagedBatch | undefined>;
}

export type Projection = EventProjection | ShapedProjection;

/** The next batch after `after`, in whole transactions, as the projection reads it. */
export function readEventsFor(store: EventStore, projection: Projection, after: Checkpoint, limit: number, sql?: Sql): Promise<readonly EventHeader[]> {
  return projection.reads ? store.readWholeTransactions(after, limit, sql, projection.reads) : store.readWholeTransactions(after, limit, sql);
}

/** Applies a batch `readEventsFor` read for this projection. */
export function applyEventsTo(projection: Projection, events: readonly EventHeader[], tx: Sql): Promise<void> {
  // readEventsFor read whole events for every projection that names no shape.
  return projection.reads ? projection.apply(events, tx) : projection.apply(events as readonly StoredEvent[], tx);
}
