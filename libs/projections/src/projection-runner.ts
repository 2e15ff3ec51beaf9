import type { Client } from 'pg';
import { pgErrorCode, type Database, type Sql } from '@chiptrail/db';
import { EVENTS_CHANNEL, type Checkpoint, type EventStore } from '@chiptrail/event-store';
import type { Logger } from '@chiptrail/runtime';
import { applyEventsTo, readEventsFor, type Projection } from './projection';

/** Namespace of the session advisory locks that elect one leader per projection across all processes. */
export const PROJECTION_LOCK_NAMESPACE = 0x43540001;

export interface RunnerStatus {
  readonly name: string;
  readonly role: 'leader' | 'standby' | 'stopped';
  readonly lastBatchAt: Date | null;
  readonly lastError: string | null;
  readonly eventsHandled: number;
}

class CheckpointMoved extends Error {}

/**
 * Keeps one projection current. Every process may run one; a session advisory lock lets exactly one of them lead
 * while the others stand by and take over when the leader's connection goes away. The checkpoint update is
 * conditional on the checkpoint read at the start of the batch, so even two leaders (a network partition, a rebuild
 * swapping tables) can never apply one batch twice.
 */
export class ProjectionRunner {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wakeSleeper: (() => void) | undefined;
  private woken = false;
  private client: Client | undefined;
  private state: { role: RunnerStatus['role']; lastBatchAt: Date | null; lastError: string | null; handled: number } = {
    role: 'stopped',
    lastBatchAt: null,
    lastError: null,
    handled: 0,
  };

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    readonly projection: Projection,
    private readonly options: { pollMs: number; standbyRetryMs?: number; logger: Logger; afterBatch?: () => void },
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.state.role = 'standby';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.client?.end().catch(() => undefined);
    await this.loop;
    this.state.role = 'stopped';
  }

  status(): RunnerStatus {
    return {
      name: this.projection.name,
      role: this.state.role,
      lastBatchAt: this.state.lastBatchAt,
      lastError: this.state.lastError,
      eventsHandled: this.state.handled,
    };
  }

  /** Applies batches until the log (as far as it is safe to read) is exhausted. */
  async catchUp(): Promise<number> {
    await ensureCheckpoint(this.db, this.projection.name);
    let total = 0;
    for (;;) {
      const applied = await this.runBatch();
      if (applied === 0) return total;
      total += applied;
    }
  }

  private async run(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      let lost = false;
      try {
        const client = await this.db.dedicatedClient(`projection:${this.projection.name}`);
        this.client = client;
        client.on('error', (error) => {
          lost = true;
          this.state.lastError = `connection lost: ${error.message}`;
          this.wake();
        });
        client.on('end', () => {
          lost = true;
          this.wake();
        });
        while (!this.stopped && !lost) {
          const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok`, [
            PROJECTION_LOCK_NAMESPACE,
            this.projection.name,
          ]);
          if (rows[0]?.ok) break;
          await this.sleep(this.options.standbyRetryMs ?? 2000);
        }
        if (this.stopped || lost) continue;
        this.state.role = 'leader';
        const follows = this.projection.follows;
        client.on('notification', (message) => {
          if (message.channel === EVENTS_CHANNEL || message.payload === follows) this.wake();
        });
        await client.query(`LISTEN ${EVENTS_CHANNEL}`);
        if (follows) await client.query(`LISTEN ${PROJECTIONS_CHANNEL}`);
        await ensureCheckpoint(this.db, this.projection.name);
        this.options.logger.info(`projection ${this.projection.name}: leading`, 'ProjectionRunner');
        let failureBackoff = 250;
        while (!this.stopped && !lost) {
          try {
            const applied = await this.runBatch();
            failureBackoff = 250;
            if (applied === 0) await this.sleep(this.options.pollMs);
          } catch (error) {
            this.state.lastError = (error as Error).message;
            this.options.logger.warn(`projection ${this.projection.name}: batch failed: ${(error as Error).message}`, 'ProjectionRunner');
            await this.sleep(failureBackoff);
            // Capped low: the usual cause (the queue or the database away) ends, and alerts should follow soon after.
            failureBackoff = Math.min(failureBackoff * 2, 5_000);
          }
        }
        backoff = 250;
      } catch (error) {
        if (!this.stopped) {
          this.state.lastError = (error as Error).message;
          this.options.logger.warn(`projection ${this.projection.name}: ${(error as Error).message}`, 'ProjectionRunner');
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, 10_000);
        }
      } finally {
        this.state.role = this.stopped ? 'stopped' : 'standby';
        const client = this.client;
        this.client = undefined;
        await client?.end().catch(() => undefined);
      }
    }
  }

  private async runBatch(): Promise<number> {
    try {
      const applied = await this.db.transaction((tx) => applyBatch(tx, this.store, this.projection, this.projection.batchSize ?? 500));
      if (applied > 0) {
        this.state.handled += applied;
        this.state.lastBatchAt = new Date();
        this.state.lastError = null;
        this.options.afterBatch?.();
      }
      return applied;
    } catch (error) {
      // Someone else moved the checkpoint, or PostgreSQL chose this batch as a deadlock victim: read again at once.
      if (error instanceof CheckpointMoved || ['40P01', '40001'].includes(pgErrorCode(error) ?? '')) return 1;
      throw error;
    }
  }

  /** Ends the current (or the next) sleep early: a notification that arrives mid-batch is not lost. */
  private wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopped) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
    });
  }
}

export async function ensureCheckpoint(sql: Sql, name: string): Promise<void> {
  await sql.query(`INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [name]);
}

export async function readCheckpoint(
  sql: Sql,
  name: string,
  lock = false,
): Promise<Checkpoint & { eventsHandled: number }> {
  const { rows } = await sql.query<{ last_txid: string; last_position: string; events_handled: string }>(
    `SELECT last_txid::text, last_position, events_handled FROM projection_checkpoints WHERE name = $1
      ${lock ? 'FOR UPDATE' : ''}`,
    [name],
  );
  const row = rows[0];
  if (!row) return { txid: '0', position: 0, eventsHandled: 0 };
  return { txid: row.last_txid, position: Number(row.last_position), eventsHandled: Number(row.events_handled) };
}

/**
 * One batch in the caller's transaction: lock and read the checkpoint, read after it, apply, move it.
 * The row lock makes competing runners (and a rebuild's swap) queue instead of applying the same events side by
 * side; the conditional update is a second guard should anything move the checkpoint regardless.
 */
export async function applyBatch(tx: Sql, store: EventStore, projection: Projection, batchSize: number): Promise<number> {
  const checkpoint = await readCheckpoint(tx, projection.name, true);
  const limit = projection.follows ? await readCheckpoint(tx, projection.follows) : null;
  const read = await readEventsFor(store, projection, checkpoint, batchSize, tx);
  const events = limit ? read.filter((event) => !isAfter({ txid: event.transactionId, position: event.position }, limit)) : read;
  if (events.length === 0) return 0;
  await applyEventsTo(projection, events, tx);
  const last = events[events.length - 1]!;
  const moved = await tx.query(
    `UPDATE projection_checkpoints
        SET last_txid = $2::xid8, last_position = $3, events_handled = events_handled + $4, updated_at = clock_timestamp()
      WHERE name = $1 AND last_txid = $5::xid8 AND last_position = $6`,
    [projection.name, last.transactionId, last.position, events.length, checkpoint.txid, checkpoint.position],
  );
  if (moved.rowCount !== 1) throw new CheckpointMoved(`checkpoint of ${projection.name} moved during the batch`);
  // Delivered at commit, in commit order: readers that cache a read model (the api's status cache) drop it then.
  await tx.query(`SELECT pg_notify($1, $2)`, [PROJECTIONS_CHANNEL, projection.name]);
  return events.length;
}

/** NOTIFY channel on which every projection batch announces itself (payload: the projection's name). */
export const PROJECTIONS_CHANNEL = 'chiptrail_projections';

/** Checkpoint order: transaction id first, then position. */
export function isAfter(a: Checkpoint, b: Checkpoint): boolean {
  const ta = BigInt(a.txid);
  const tb = BigInt(b.txid);
  return ta > tb || (ta === tb && a.position > b.position);
}
