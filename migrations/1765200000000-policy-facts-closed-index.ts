import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each batch of the policy projection starts from the latest knowledge time written so far: the greatest of every
 * fact version's known_from and of every closed version's known_to (a retraction closes a version without opening
 * another). Nothing indexed the closed versions' known_to, so every batch scanned all facts for it: 65 ms at 88 k
 * facts and growing with the log, in each of the thousand batches of a worker catching up on 1 M imported events.
 * A partial index over closed versions answers it from its last entry.
 */
export class PolicyFactsClosedIndex1765200000000 implements MigrationInterface {
  name = 'PolicyFactsClosedIndex1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX policy_facts_closed_idx ON policy_facts (known_to) WHERE known_to <> 'infinity'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX policy_facts_closed_idx`);
  }
}
