import { MigrationInterface, QueryRunner } from 'typeorm';

/** Feeds, their fetch log, and the items they bring (the curators' inbox). Configuration, not events. */
export class Feeds1764500000000 implements MigrationInterface {
  name = 'Feeds1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE feeds (
        id                     uuid PRIMARY KEY,
        url                    text NOT NULL,
        name                   text NOT NULL,
        kind                   text NOT NULL CHECK (kind IN ('auto', 'rss', 'atom', 'rdf', 'federal_register')),
        default_authority      text,
        poll_interval_seconds  integer NOT NULL CHECK (poll_interval_seconds >= 1),
        enabled                boolean NOT NULL DEFAULT true,
        created_at             timestamptz NOT NULL,
        updated_at             timestamptz NOT NULL,
        deleted_at             timestamptz,
        etag                   text,
        last_modified          text,
        last_fetched_at        timestamptz,
        last_success_at        timestamptz,
        last_status            text,
        last_error             text,
        consecutive_errors     integer NOT NULL DEFAULT 0,
        next_poll_at           timestamptz,
        healthy                boolean NOT NULL DEFAULT true,
        polling_until          timestamptz
      );
      CREATE INDEX feeds_active_idx ON feeds (created_at) WHERE deleted_at IS NULL;

      CREATE TABLE feed_fetches (
        id              uuid PRIMARY KEY,
        feed_id         uuid NOT NULL REFERENCES feeds (id),
        started_at      timestamptz NOT NULL,
        duration_ms     integer NOT NULL,
        outcome         text NOT NULL CHECK (outcome IN ('ok', 'not_modified', 'error')),
        http_status     integer,
        error_code      text,
        error           text,
        final_url       text,
        bytes           integer NOT NULL DEFAULT 0,
        items_new       integer NOT NULL DEFAULT 0,
        items_updated   integer NOT NULL DEFAULT 0,
        items_skipped   integer NOT NULL DEFAULT 0
      );
      CREATE INDEX feed_fetches_feed_idx ON feed_fetches (feed_id, started_at DESC);

      CREATE TABLE feed_items (
        id                    uuid PRIMARY KEY,
        feed_id               uuid NOT NULL REFERENCES feeds (id),
        key_hash              text NOT NULL,
        guid                  text,
        title                 text NOT NULL,
        link                  text,
        published_at          timestamptz,
        summary               text,
        content_hash          text NOT NULL,
        first_seen_at         timestamptz NOT NULL,
        updated_at            timestamptz NOT NULL,
        update_count          integer NOT NULL DEFAULT 0,
        changed_after_review  boolean NOT NULL DEFAULT false,
        status                text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'irrelevant')),
        relevant              boolean NOT NULL,
        confidence            real NOT NULL,
        proposed              jsonb,
        evidence              jsonb NOT NULL,
        reasons               jsonb NOT NULL,
        approved_event_id     uuid,
        rejected_reason       text,
        reviewed_by           text,
        reviewed_at           timestamptz,
        CONSTRAINT feed_items_dedupe_key UNIQUE (feed_id, key_hash)
      );
      CREATE INDEX feed_items_inbox_idx ON feed_items (status, first_seen_at DESC);
      CREATE INDEX feed_items_feed_idx ON feed_items (feed_id, status);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE feed_items, feed_fetches, feeds`);
  }
}
