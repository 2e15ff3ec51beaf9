import type { Client } from 'pg';
import type { StatusAnswer, StatusInterval } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import { PROJECTIONS_CHANNEL } from '@chiptrail/projections';
import type { Logger } from '@chiptrail/runtime';
import type { ChipKnowledge, ChipKnowledgeReader } from './chip-knowledge';

/** About 70 KB a chip (its facts and the timelines asked for): 10,000 chips stay under a gigabyte. */
const MAX_ENTRIES = 10_000;

/**
 * What is known now about each chip asked for, in memory, for the hot read path: it answers any valid time for any
 * knowledge time at or after the read model's latest change; older knowledge times are read from the facts.
 *
 * Kept true by the policy projection's NOTIFY at every commit (LISTEN on a connection of its own): a notification
 * empties the cache, and a load that raced with one is not kept (generations). Without a live LISTEN the cache
 * serves nothing. Each api process has its own: nothing here must be unique across replicas.
 */
export class StatusCache {
  private entries = new Map<string, ChipKnowledge>();
  /** Each interval's answer as response JSON, made once: the hot path splices it into the response. */
  private bodies = new WeakMap<StatusInterval, string>();
  private generation = 0;
  private listening = false;
  private client: Client | undefined;
  private stopped = false;
  private reconnect: NodeJS.Timeout | undefined;
  private readonly barriers = new Map<string, () => void>();
  /** Loads under way: requests for a chip that arrive together share one read. */
  private readonly loading = new Map<string, Promise<ChipKnowledge | undefined>>();

  constructor(
    private readonly db: Database,
    private readonly reader: ChipKnowledgeReader,
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

  /** What was known about the chip at `knownAt`, or undefined when the cache cannot vouch for it. */
  async knowledge(chip: string, knownAt: Date): Promise<ChipKnowledge | undefined> {
    if (!this.listening) return undefined;
    const knowledge = this.entries.get(chip) ?? (await this.shared(chip));
    return knowledge && knownAt.getTime() >= knowledge.horizon ? knowledge : undefined;
  }

  /** The answer at `asOf` as known at `knownAt`, or undefined when the cache cannot vouch for it. */
  async answer(chip: string, destination: string, asOf: Date, knownAt: Date): Promise<StatusAnswer | undefined> {
    return (await this.knowledge(chip, knownAt))?.answer(destination, asOf);
  }

  /** The same answer as JSON fields (`"classification":…,"export":…,…`), serialized once per interval. */
  async answerBody(chip: string, destination: string, asOf: Date, knownAt: Date): Promise<string | undefined> {
    const interval = (await this.knowledge(chip, knownAt))?.interval(destination, asOf);
    if (!interval) return undefined;
    let body = this.bodies.get(interval);
    if (body === undefined) {
      body = answerBody(interval.answer);
      this.bodies.set(interval, body);
    }
    return body;
  }

  private shared(chip: string): Promise<ChipKnowledge | undefined> {
    let load = this.loading.get(chip);
    if (!load) {
      load = this.load(chip).finally(() => this.loading.delete(chip));
      this.loading.set(chip, load);
    }
    return load;
  }

  private async load(chip: string): Promise<ChipKnowledge | undefined> {
    const generation = this.generation;
    const knowledge = await this.reader.at(chip, 'current');
    // A notification during the load may mean we read what it replaced: serve it this once, keep nothing.
    if (knowledge && generation === this.generation && this.listening) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(chip, knowledge);
    }
    return knowledge;
  }

  private invalidate(): void {
    this.generation += 1;
    this.entries = new Map();
    this.bodies = new WeakMap();
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

