import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * /health and /metrics report the oldest open writing transaction (projections cannot read past it). The runtime
 * role sees other roles' transactions in pg_stat_activity only as a member of pg_read_all_stats; granting it needs
 * a superuser or CREATEROLE owner, so where the migration owner lacks that the report covers the app's own sessions.
 */
export class MonitoringGrants1764900000000 implements MigrationInterface {
  name = 'MonitoringGrants1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        GRANT pg_read_all_stats TO chiptrail_runtime;
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'pg_read_all_stats not granted to chiptrail_runtime: /health sees only the app''s own transactions';
      END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DO $$ BEGIN REVOKE pg_read_all_stats FROM chiptrail_runtime; EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;`);
  }
}
