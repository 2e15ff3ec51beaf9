import { Database } from '@chiptrail/db';
import { QueueBackend } from '@chiptrail/queue';
import { Clock } from '@chiptrail/runtime';

export interface ProjectionHealth {
  readonly name: string;
  readonly position: number;
  readonly lag: number;
  readonly updatedAt: string;
  readonly stalled: boolean;
}

export interface HealthReport {
  readonly state: 'ok' | 'degraded' | 'down';
  readonly checkedAt: string;
  readonly database: { readonly up: boolean; readonly latencyMs?: number; readonly error?: string };
  readonly queue: { readonly backend: 'redis' | 'postgres'; readonly up: boolean; readonly error?: string };
  readonly projections: readonly ProjectionHealth[];
  /** Age of the oldest open writing transaction: projections cannot read past it. */
  readonly oldestOpenTransactionSeconds: number | null;
  readonly down: readonly string[];
}

const LAG_COUNT_CAP = 100_000;

export class HealthCheck {
  constructor(
    private readonly db: Database,
    private readonly queues: QueueBackend,
    private readonly clock: Clock,
    /** A projection is stalled when it has events to read but has not moved for this long. */
    private readonly stalledAfterMs = 30_000,
  ) {}

  async run(): Promise<HealthReport> {
    const [database, queue] = await Promise.all([this.database(), this.queues.ping()]);
    let projections: ProjectionHealth[] = [];
    let oldest: number | null = null;
    if (database.up) {
      [projections, oldest] = await Promise.all([this.projections(), this.oldestTransaction()]).catch(
        () => [[], null] as [ProjectionHealth[], null],
      );
    }
    const down = [...(database.up ? [] : ['database']), ...(queue.up ? [] : [`queue (${queue.kind})`])];
    const state = down.length > 0 ? 'down' : projections.some((p) => p.stalled) ? 'degraded' : 'ok';
    return {
      state,
      checkedAt: this.clock.now().toISOString(),
      database,
      queue: { backend: queue.kind, up: queue.up, ...(queue.error ? { error: queue.error } : {}) },
      projections,
      oldestOpenTransactionSeconds: oldest,
      down,
    };
  }

  private async database(): Promise<HealthReport['database']> {
    const started = Date.now();
    try {
      await Promise.race([
        this.db.query('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2000 ms')), 2000)),
      ]);
      return { up: true, latencyMs: Date.now() - started };
    } catch (error) {
      return { up: false, error: (error as Error).message };
    }
  }

  private async projections(): Promise<ProjectionHealth[]> {
    const { rows } = await this.db.query<{ name: string; position: string; updated_at: Date; lag: string }>(
      `SELECT c.name, c.last_position AS position, c.updated_at,
              (SELECT count(*) FROM (SELECT 1 FROM events e
                  WHERE (e.transaction_id, e.global_position) > (c.last_txid, c.last_position)
                  LIMIT ${LAG_COUNT_CAP}) pending) AS lag
         FROM projection_checkpoints c ORDER BY c.name`,
    );
    const now = this.clock.now().getTime();
    return rows.map((row) => {
      const lag = Number(row.lag);
      return {
        name: row.name,
        position: Number(row.position),
        lag,
        updatedAt: row.updated_at.toISOString(),
        stalled: lag > 0 && now - row.updated_at.getTime() > this.stalledAfterMs,
      };
    });
  }

  private async oldestTransaction(): Promise<number | null> {
    const { rows } = await this.db.query<{ seconds: number | null }>(
      `SELECT extract(epoch FROM (clock_timestamp() - min(xact_start)))::float8 AS seconds
         FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname = current_database()`,
    );
    return rows[0]?.seconds ?? null;
  }
}
