import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Status answers are derived from the policy facts when asked, no longer stored: the policy projection kept every
 * (chip, destination) timeline on both time axes with a self-contained answer per interval (at 100 k imported events,
 * 417 k intervals and 455 MB of answers, five times the log; a band-wide correction at 4,000 chips ran the worker out
 * of memory), and a status change's timelines before and after for the alert dispatcher. The dispatcher now compares
 * what the facts show just before and at each append; all it needs stored is when each event became known and which
 * chips it may concern (`knowledge_changes`), which this migration carries over from the status changes kept so far
 * (events that changed no status need none).
 */
export class StatusDerivedAtReadTime1765500000000 implements MigrationInterface {
  name = 'StatusDerivedAtReadTime1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE knowledge_changes (
        event_id  uuid PRIMARY KEY,
        known_at  timestamptz NOT NULL,
        chips     text[] NOT NULL
      );
      INSERT INTO knowledge_changes (event_id, known_at, chips)
      SELECT c.event_id, min(s.known_at), array_agg(DISTINCT s.chip ORDER BY s.chip)
        FROM status_changes s CROSS JOIN LATERAL unnest(s.caused_by) AS c(event_id)
       GROUP BY c.event_id;
      DROP TABLE status_changes, status_intervals;
    `);
  }

  /** The old tables come back empty: `npm run projections:rebuild` fills them again. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE status_intervals (
        chip          text NOT NULL,
        destination   text NOT NULL,
        valid_from    timestamptz NOT NULL,
        valid_to      timestamptz NOT NULL,
        known_from    timestamptz NOT NULL,
        known_to      timestamptz NOT NULL DEFAULT 'infinity',
        export_status text NOT NULL,
        import_status text NOT NULL,
        answer        json NOT NULL,
        PRIMARY KEY (chip, destination, known_from, valid_from)
      );
      CREATE INDEX status_intervals_current_idx ON status_intervals (chip, destination, valid_from) WHERE known_to = 'infinity';
      CREATE TABLE status_changes (
        chip         text NOT NULL,
        destination  text NOT NULL,
        known_at     timestamptz NOT NULL,
        caused_by    uuid[] NOT NULL,
        before       json NOT NULL,
        after        json NOT NULL,
        PRIMARY KEY (chip, destination, known_at)
      );
      CREATE INDEX status_changes_caused_by_idx ON status_changes USING gin (caused_by) WITH (fastupdate = off);
      DROP TABLE knowledge_changes;
    `);
  }
}
