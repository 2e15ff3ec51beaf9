import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Status answers (and the timelines a status change keeps before and after it) are written once by the policy
 * projection and only ever read whole: nothing filters, indexes or compares them in SQL. As jsonb, every row was
 * parsed into a binary document on the way in and printed back to text on every read. As json the server only checks
 * the text and keeps it: COPYing a 30 k-event rebuild's 125 k intervals took 1.4 s instead of 2.0 s, and reading
 * them all 0.23 s instead of 0.77 s. The answers read back the same (node-postgres parses both types). Like any
 * change of a column's type, this rewrites both tables once, holding their lock while it does.
 *
 * The longer ones (status changes, answers citing many events) are compressed with lz4 where the server has it: pglz
 * was a tenth of the server's time in a rebuild, and with lz4 the same status changes were COPYed in 0.38 s instead
 * of 0.57 s at the same size. A server built without lz4 keeps pglz.
 */
export class AnswersStoredAsJson1765300000000 implements MigrationInterface {
  name = 'AnswersStoredAsJson1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE status_intervals ALTER COLUMN answer TYPE json USING answer::json;
      ALTER TABLE status_changes ALTER COLUMN before TYPE json USING before::json, ALTER COLUMN after TYPE json USING after::json;
      DO $$
      BEGIN
        ALTER TABLE status_intervals ALTER COLUMN answer SET COMPRESSION lz4;
        ALTER TABLE status_changes ALTER COLUMN before SET COMPRESSION lz4, ALTER COLUMN after SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'this server has no lz4: answers stay compressed with pglz';
      END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE status_intervals ALTER COLUMN answer SET COMPRESSION default;
      ALTER TABLE status_changes ALTER COLUMN before SET COMPRESSION default, ALTER COLUMN after SET COMPRESSION default;
      ALTER TABLE status_intervals ALTER COLUMN answer TYPE jsonb USING answer::jsonb;
      ALTER TABLE status_changes ALTER COLUMN before TYPE jsonb USING before::jsonb, ALTER COLUMN after TYPE jsonb USING after::jsonb;
    `);
  }
}
