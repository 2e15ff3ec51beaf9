import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Request rate limits (sign-in) counted in PostgreSQL, so every api replica shares one count per client address.
 * One row per (throttler, address): a fixed window of hits, and a block that outlives the window.
 */
export class RateLimits1764800000000 implements MigrationInterface {
  name = 'RateLimits1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rate_limits (
        key            text PRIMARY KEY,
        hits           integer NOT NULL,
        window_ends_at timestamptz NOT NULL,
        blocked_until  timestamptz
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rate_limits`);
  }
}
