import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alerts: the status changes the policy projection observes (its read model, rebuilt with it), subscriptions,
 * and the deliveries the dispatcher creates from the log: one row per (recipient, alert), which is what makes
 * dispatching idempotent.
 */
export class Alerts1764600000000 implements MigrationInterface {
  name = 'Alerts1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE status_changes (
        chip         text NOT NULL,
        destination  text NOT NULL,
        known_at     timestamptz NOT NULL,
        caused_by    uuid[] NOT NULL,
        before       jsonb NOT NULL,
        after        jsonb NOT NULL,
        PRIMARY KEY (chip, destination, known_at)
      );
      CREATE INDEX status_changes_caused_by_idx ON status_changes USING gin (caused_by);

      CREATE TABLE subscriptions (
        id                  uuid PRIMARY KEY,
        owner               text NOT NULL,
        channel             text NOT NULL CHECK (channel IN ('email', 'webhook')),
        target              text NOT NULL,
        filters             jsonb NOT NULL,
        mode                text NOT NULL CHECK (mode IN ('immediate', 'daily')),
        digest_time         text,
        digest_timezone     text,
        status              text NOT NULL CHECK (status IN ('pending', 'active', 'paused', 'disabled', 'unsubscribed', 'deleted')),
        secret              text,
        previous_secret     text,
        previous_secret_until timestamptz,
        failing_since       timestamptz,
        disabled_reason     text,
        created_at          timestamptz NOT NULL,
        updated_at          timestamptz NOT NULL,
        confirmed_at        timestamptz
      );
      CREATE INDEX subscriptions_owner_idx ON subscriptions (owner);
      CREATE INDEX subscriptions_active_idx ON subscriptions (status) WHERE status = 'active';

      CREATE TABLE deliveries (
        id                uuid PRIMARY KEY,
        subscription_id   uuid REFERENCES subscriptions (id),
        recipient         text NOT NULL,
        alert_key         text NOT NULL,
        channel           text NOT NULL CHECK (channel IN ('email', 'webhook')),
        target            text NOT NULL,
        type              text NOT NULL,
        payload           jsonb NOT NULL,
        status            text NOT NULL CHECK (status IN ('pending', 'retrying', 'scheduled', 'digest', 'digested', 'delivered', 'dead', 'skipped')),
        attempts          integer NOT NULL DEFAULT 0,
        next_attempt_at   timestamptz,
        last_attempt_at   timestamptz,
        last_status_code  integer,
        last_error        text,
        digest_id         uuid,
        occurred_at       timestamptz NOT NULL,
        created_at        timestamptz NOT NULL,
        delivered_at      timestamptz,
        CONSTRAINT deliveries_once_per_recipient UNIQUE (recipient, alert_key)
      );
      CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying', 'scheduled');
      CREATE INDEX deliveries_subscription_idx ON deliveries (subscription_id, created_at DESC);
      CREATE INDEX deliveries_digest_idx ON deliveries (subscription_id) WHERE status = 'digest';
      CREATE INDEX deliveries_status_idx ON deliveries (status, created_at DESC);

      CREATE TABLE delivery_attempts (
        delivery_id   uuid NOT NULL REFERENCES deliveries (id),
        attempt       integer NOT NULL,
        attempted_at  timestamptz NOT NULL,
        status_code   integer,
        latency_ms    integer NOT NULL,
        outcome       text NOT NULL CHECK (outcome IN ('delivered', 'failed')),
        error         text,
        PRIMARY KEY (delivery_id, attempt)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE delivery_attempts, deliveries, subscriptions, status_changes`);
  }
}
