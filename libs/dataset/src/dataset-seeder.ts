import { parseRecordEventRequest } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { ImportPolicyEvents } from '@chiptrail/policy';
import type { Clock, Logger } from '@chiptrail/runtime';
import curated from '../../../data/curated-dataset.json';

export interface DatasetFile {
  readonly name: string;
  readonly version: number;
  readonly events: ReadonlyArray<{ id: string; ref: string; type: string; effectiveAt?: string; data: unknown; source: unknown }>;
}

export const CURATED_DATASET = curated as DatasetFile;
export const DATASET_ACTOR = 'system:dataset';
const SEED_LOCK = [0x43540002, 1];

/**
 * Loads the curated dataset on the first start of an empty store: every entry is parsed and decided exactly as
 * `POST /api/v1/events` would, and the accepted events are written by one bulk import (all or nothing). Fixed event
 * ids make a second attempt (another replica, a retry) harmless.
 */
export class DatasetSeeder {
  constructor(
    private readonly db: Database,
    private readonly importer: ImportPolicyEvents,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  async seedIfEmpty(dataset: DatasetFile = CURATED_DATASET): Promise<{ seeded: number } | { skipped: string }> {
    const lock = await this.db.dedicatedClient('dataset-seed');
    try {
      await lock.query(`SELECT pg_advisory_lock($1, $2)`, SEED_LOCK);
      const marker = `dataset:${dataset.name}:v${dataset.version}`;
      const done = await lock.query(`SELECT 1 FROM settings WHERE key = $1`, [marker]);
      if (done.rowCount) return { skipped: 'already loaded' };
      // Empty store, or only an interrupted earlier load of this dataset: (re)load. Anything else is the user's.
      const foreign = await lock.query(`SELECT 1 FROM events WHERE metadata->>'actor' <> $1 LIMIT 1`, [DATASET_ACTOR]);
      if (foreign.rowCount) return { skipped: 'the store already holds events' };
      const requests = dataset.events.map((entry) => ({
        ...parseRecordEventRequest({ id: entry.id, type: entry.type, data: entry.data, effectiveAt: entry.effectiveAt, source: entry.source }, this.clock.now()),
        causationId: `${marker}:${entry.ref}`,
      }));
      const seeded = (await this.importer.handle(requests, { actor: DATASET_ACTOR })).imported;
      await lock.query(`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [
        marker,
        this.clock.now().toISOString(),
      ]);
      this.logger.info(`curated dataset loaded: ${seeded} events`, 'Dataset');
      return { seeded };
    } finally {
      await lock.query(`SELECT pg_advisory_unlock($1, $2)`, SEED_LOCK).catch(() => undefined);
      await lock.end();
    }
  }
}
