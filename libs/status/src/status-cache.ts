import type { Client } from 'pg';
import { ANY_DESTINATION, type StatusAnswer } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import { PROJECTIONS_CHANNEL } from '@chiptrail/projections';
import type { Logger } from '@chiptrail/runtime';

interface Interval {
  readonly destination: string;
  readonly validFrom: number;
  readonly validTo: number;
  readonly answer: StatusAnswer;
  /** The answer's fields as JSON (without the braces), made once: the hot path splices it into the response. */
  body?: string;
}

interface Entry {
  readonly intervals: readonly Interval[];
  /** The latest knowledge time in the chip's rows: at or after it, current knowledge is the whole answer. */
  readonly knownUntil: number;
}

const MAX_ENTRIES = 50_000;

/**
 * Current knowledge per (chip, destination), in memory, for the hot read path. It answers any valid time for any
 * knowledge time at or after the chip's last change; older knowledge times go to the database.
 *
 * Kept true by the policy projection's NOTIFY at every commit (LISTEN on a connection of its own): a notification
 * empties the cache, and a load that raced with one is not kept (generations). Without a live LISTEN the cache
 * serves nothing. Each api process has its own: nothing here must be unique across replicas.
 */
export class StatusCache {
  private entries = new Map<string, Entry>();
  private generation = 0;
  private listening = false;
  private client: Client | undefined;
  private stopped = false;
  private reconnect: NodeJS.Timeout | undefined;
  private readonly barriers = new Map<string, () => void>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  /** Starts listening (and keeps reconnecting); resolves once the first LISTEN is in place or failed. */
  async start(): Promise<void> {
    await this.connect().catch((error: Error) => this.retry(error));
  }

  /** Nest's shutdown hook for the provider. */
  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listening = false;
    clearTimeout(this.reconnect);
    await this.client?.end().catch(() => undefined);
  }

  /**
   * Waits until every projection commit before this call has reached the cache (PostgreSQL delivers notifications
   * in commit order, so our own marker arriving means all earlier ones have).
   */
  async barrier(): Promise<void> {
    if (!this.listening) return;
    const marker = `barrier:${process.pid}:${Math.random().toString(36).slice(2)}`;
    const seen = new Promise<void>((resolve) => this.barriers.set(marker, resolve));
    await this.db.query(`SELECT pg_notify($1, $2)`, [PROJECTIONS_CHANNEL, marker]);
    await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 5000))]);
    this.barriers.delete(marker);
  }

  /** The answer at `asOf` as known at `knownAt`, or undefined when the cache cannot vouch for it. */
  async answer(chip: string, destination: string, asOf: Date, knownAt: Date): Promise<StatusAnswer | undefined> {
    return (await this.interval(chip, destination, asOf, knownAt))?.answer;
  }

  /** The same answer as JSON fields (`"classification":…,"export":…,…`), serialized once per interval. */
  async answerBody(chip: string, destination: string, asOf: Date, knownAt: Date): Promise<string | undefined> {
    const interval = await this.interval(chip, destination, asOf, knownAt);
    if (!interval) return undefined;
    interval.body ??= answerBody(interval.answer);
    return interval.body;
  }

  private async interval(chip: string, destination: string, asOf: Date, knownAt: Date): Promise<Interval | undefined> {
    if (!this.listening) return undefined;
    const key = `${chip}|${destination}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = await this.load(chip, destination);
      if (!entry) return undefined;
    }
    if (knownAt.getTime() < entry.knownUntil) return undefined;
    const at = asOf.getTime();
    const covering = (wanted: string) => entry.intervals.find((i) => i.destination === wanted && i.validFrom <= at && i.validTo > at);
    return covering(destination) ?? covering(ANY_DESTINATION);
  }

  private async load(chip: string, destination: string): Promise<Entry | undefined> {
    const generation = this.generation;
    const { rows } = await this.db.query<{ destination: string; valid_from: Date | number; valid_to: Date | number; answer: StatusAnswer; known_until: Date | null }>(
      {
        name: 'status_cache_load',
        text: `SELECT s.destination, s.valid_from, s.valid_to, s.answer, w.known_until
                 FROM (SELECT greatest(max(known_from), max(known_to) FILTER (WHERE known_to <> 'infinity')) AS known_until
                         FROM status_intervals WHERE chip = $1) w
                 LEFT JOIN status_intervals s
                   ON s.chip = $1 AND s.destination IN ($2, '${ANY_DESTINATION}') AND s.known_to = 'infinity'`,
        values: [chip, destination],
      },
    );
    const first = rows[0];
    if (!first || first.known_until === null || !first.destination) return undefined;
    const entry: Entry = {
      knownUntil: first.known_until.getTime(),
      intervals: rows.map((row) => ({ destination: row.destination, validFrom: instant(row.valid_from), validTo: instant(row.valid_to), answer: row.answer })),
    };
    // A notification during the load may mean we read what it replaced: serve it this once, keep nothing.
    if (generation === this.generation && this.listening) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(`${chip}|${destination}`, entry);
    }
    return entry;
  }

  private invalidate(): void {
    this.generation += 1;
    this.entries = new Map();
  }

  private async connect(): Promise<void> {
    const client = await this.db.dedicatedClient('status-cache');
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.listening = false;
      this.invalidate();
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (!this.stopped) this.retry(error ?? new Error('connection closed'));
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (message) => {
      const payload = message.payload ?? '';
      const barrier = this.barriers.get(payload);
      if (barrier) return barrier();
      if (payload === 'policy' || payload === '*') this.invalidate();
    });
    await client.query(`LISTEN ${PROJECTIONS_CHANNEL}`);
    // Whatever was committed before LISTEN took hold never reaches us: start empty.
    this.invalidate();
    this.listening = true;
  }

  private retry(error: Error): void {
    if (this.stopped) return;
    this.logger.warn(`status cache off until its LISTEN connection is back: ${error.message}`, 'StatusCache');
    this.reconnect = setTimeout(() => {
      if (!this.stopped) void this.connect().catch((next: Error) => this.retry(next));
    }, 2000);
    this.reconnect.unref();
  }
}

/** The fields of a status answer as they appear in a status response, without the surrounding braces. */
export function answerBody(answer: StatusAnswer): string {
  return JSON.stringify({
    classification: answer.classification,
    export: answer.export,
    import: answer.import,
    investigations: answer.investigations,
  }).slice(1, -1);
}

/** node-postgres gives ±infinity timestamps as ±Infinity numbers. */
function instant(value: Date | number): number {
  return typeof value === 'number' ? value : value.getTime();
}
