import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A chip's timeline and a status lookup's "not found" answer start from the chip's registration (its vendor, when it
 * was first recorded), found by the `chip` column, which nothing indexed: both scanned every fact version, 16 ms at
 * 88 k facts and growing with the log. Only registrations and spec updates have a chip, so the index is small.
 */
export class PolicyFactsChipIndex1765400000000 implements MigrationInterface {
  name = 'PolicyFactsChipIndex1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX policy_facts_chip_idx ON policy_facts (chip) WHERE chip IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX policy_facts_chip_idx`);
  }
}
