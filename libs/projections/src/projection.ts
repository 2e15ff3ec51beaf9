import type { Sql } from '@chiptrail/db';
import type { StoredEvent } from '@chiptrail/event-store';

/**
 * A named read model fed from the global log. `apply` gets each batch inside the transaction that also moves the
 * projection's checkpoint, so a batch is applied exactly once or not at all.
 *
 * Handlers must write only to `tables`, with unqualified names (a rebuild points `search_path` at fresh copies),
 * and must derive everything from the events (no wall clock), so a rebuild reproduces the live read model.
 */
export interface Projection {
  readonly name: string;
  readonly tables: readonly string[];
  readonly batchSize?: number;
  /** False for processors of the log that act on the world (the alert dispatcher): replaying them is not a rebuild. */
  readonly rebuildable?: boolean;
  /** The projection this one builds on: it reads no further than that one's checkpoint and wakes when it moves. */
  readonly follows?: string;
  apply(events: readonly StoredEvent[], tx: Sql): Promise<void>;
}
