import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fact versions no longer copy their data and source: both are read from the log when a fact is read, from the fact's
 * own event or, for a corrected version, from the `data` of the correction it was last corrected with (`data_from`).
 * A kilobyte of copied JSON per version made writing them most of the policy projection's work (and a rebuild's),
 * and doubled what the log already holds.
 *
 * A corrected version's data came from the last of its corrections (`corrected_by`, in the order applied) that
 * brought data, which is what `data_from` names.
 */
export class FactDataReadFromTheLog1765600000000 implements MigrationInterface {
  name = 'FactDataReadFromTheLog1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE policy_facts ADD COLUMN data_from uuid;
      UPDATE policy_facts f
         SET data_from = (SELECT u.id FROM unnest(f.corrected_by) WITH ORDINALITY AS u(id, n)
                            JOIN events c ON c.event_id = u.id
                           WHERE c.data ? 'data'
                           ORDER BY u.n DESC LIMIT 1)
       WHERE f.corrected_by <> '{}';
      ALTER TABLE policy_facts DROP COLUMN data, DROP COLUMN source;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE policy_facts ADD COLUMN data jsonb, ADD COLUMN source jsonb;
      UPDATE policy_facts f
         SET data = coalesce((SELECT c.data -> 'data' FROM events c WHERE c.event_id = f.data_from), e.data),
             source = coalesce(nullif(e.metadata -> 'source', 'null'), '{}')
        FROM events e
       WHERE e.event_id = f.event_id;
      ALTER TABLE policy_facts ALTER COLUMN data SET NOT NULL, ALTER COLUMN source SET NOT NULL, DROP COLUMN data_from;
    `);
  }
}
