import { MigrationInterface, QueryRunner } from 'typeorm';

const GIN_INDEXES = ['policy_facts_current_chips_idx', 'policy_facts_current_companies_idx', 'status_changes_caused_by_idx', 'event_catalog_chips_idx'];

/**
 * GIN indexes queue new entries in a pending list (fastupdate) until a vacuum or 4 MB of them, and every search scans
 * that list whole. The policy projection searches its facts by chip and company in every batch and the alert
 * dispatcher searches change records by event for every event, while both insert steadily: after a 300 k-event
 * import a search for 400 chips took 1.7 s on 114 k pending entries, 2 ms once they were merged. Entries now go
 * straight into the index (these arrays hold one or two values, so that costs little), and what is pending is merged.
 */
export class GinWithoutPendingLists1765100000000 implements MigrationInterface {
  name = 'GinWithoutPendingLists1765100000000';

  async up(q: QueryRunner): Promise<void> {
    for (const index of GIN_INDEXES) {
      await q.query(`ALTER INDEX ${index} SET (fastupdate = off)`);
      await q.query(`SELECT gin_clean_pending_list('${index}'::regclass)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of GIN_INDEXES) await q.query(`ALTER INDEX ${index} RESET (fastupdate)`);
  }
}
