import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The append-only event store.
 *
 * Hash chain design (why it is safe without a global lock):
 * every event's `hash` is SHA-256 over (the previous event's hash *in the same stream*, every stored column of the
 * event). The append already holds the stream's row lock for optimistic concurrency, so chaining to the stream's
 * head costs no extra serialization: appends to different streams never wait on each other. Tampering with any
 * column of any event breaks that event's own link (its stored hash no longer matches its recomputed hash), and
 * deleting, reordering or inserting events breaks the version sequence or the next link of that stream.
 * What a per-stream chain cannot show on its own is the removal of a whole stream's tail together with its stream
 * row; `verify` therefore also folds every event hash, in global order, into one head digest that operators can
 * record outside the database and compare later (an external anchor, like a transparency-log checkpoint).
 */
export class EventStore1764300000000 implements MigrationInterface {
  name = 'EventStore1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE SEQUENCE events_position_seq AS bigint;

      CREATE TABLE streams (
        stream_id   text PRIMARY KEY CHECK (length(stream_id) BETWEEN 1 AND 200),
        version     bigint NOT NULL CHECK (version >= 0),
        head_hash   bytea NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
      );

      CREATE TABLE events (
        global_position bigint PRIMARY KEY,
        event_id        uuid NOT NULL,
        stream_id       text NOT NULL,
        stream_version  bigint NOT NULL CHECK (stream_version >= 1),
        type            text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
        schema_version  integer NOT NULL CHECK (schema_version >= 1),
        data            jsonb NOT NULL,
        metadata        jsonb NOT NULL,
        recorded_at     timestamptz NOT NULL,
        effective_at    timestamptz NOT NULL,
        transaction_id  xid8 NOT NULL,
        hash            bytea NOT NULL,
        CONSTRAINT events_event_id_key UNIQUE (event_id),
        CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
      );
      CREATE INDEX events_transaction_order_idx ON events (transaction_id, global_position);
      CREATE INDEX events_type_idx ON events (type, global_position);
      CREATE INDEX events_recorded_at_idx ON events (recorded_at);
      CREATE INDEX events_effective_at_idx ON events (effective_at);
    `);

    // The digest covers every stored column. Timestamps enter as integer microseconds so the result does not
    // depend on the session's TimeZone; jsonb enters in its canonical text form.
    await q.query(`
      CREATE FUNCTION event_digest(
        p_prev bytea, p_position bigint, p_id uuid, p_stream text, p_version bigint, p_type text, p_schema integer,
        p_data jsonb, p_metadata jsonb, p_recorded timestamptz, p_effective timestamptz, p_txid xid8
      ) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT sha256(p_prev || convert_to(jsonb_build_array(
          p_position, p_id, p_stream, p_version, p_type, p_schema, p_data, p_metadata,
          (extract(epoch FROM p_recorded) * 1000000)::bigint,
          (extract(epoch FROM p_effective) * 1000000)::bigint,
          p_txid::text
        )::text, 'UTF8'))
      $$;
    `);

    await q.query(`
      CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'CTIMM';
      END $$;
      CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
      CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();
    `);

    // One statement per append. Order matters: take (or create) the stream row first, so concurrent writers to one
    // stream queue here; then answer idempotent retries; then check the expected version; only then draw global
    // positions, so a losing writer never burns one.
    //   p_expected >= 0: exact stream version; -1: any; -2: the stream must not exist; -3: the stream must exist.
    await q.query(`
      CREATE FUNCTION append_events(
        p_stream_id text, p_expected bigint, p_ids uuid[], p_types text[], p_schema_versions integer[],
        p_data jsonb[], p_metadata jsonb[], p_effective_at timestamptz[]
      ) RETURNS TABLE (event_id uuid, global_position bigint, stream_version bigint, recorded_at timestamptz,
                       duplicate boolean)
      LANGUAGE plpgsql AS $$
      DECLARE
        v_count    integer := cardinality(p_ids);
        v_version  bigint;
        v_head     bytea;
        v_existing integer;
        v_matching integer;
        v_conflict uuid;
        v_created  boolean := false;
        v_now      timestamptz := clock_timestamp();
        v_txid     xid8 := pg_current_xact_id();
        v_pos      bigint[];
        v_hash     bytea[] := '{}';
        i          integer;
      BEGIN
        IF v_count IS NULL OR v_count = 0 THEN
          RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'CTVAL';
        END IF;

        SELECT s.version, s.head_hash INTO v_version, v_head FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        IF NOT FOUND THEN
          INSERT INTO streams (stream_id, version, head_hash) VALUES (p_stream_id, 0, '\\x'::bytea)
            ON CONFLICT DO NOTHING;
          IF FOUND THEN
            v_created := true;
            v_version := 0;
            v_head := '\\x'::bytea;
          ELSE
            SELECT s.version, s.head_hash INTO v_version, v_head FROM streams s
              WHERE s.stream_id = p_stream_id FOR UPDATE;
          END IF;
        END IF;

        SELECT count(*), count(*) FILTER (WHERE
                 e.stream_id = p_stream_id AND e.type = p_types[x.ord] AND e.schema_version = p_schema_versions[x.ord]
                 AND e.data = p_data[x.ord] AND e.metadata = p_metadata[x.ord] AND e.effective_at = p_effective_at[x.ord]),
               min(e.event_id::text) FILTER (WHERE NOT (
                 e.stream_id = p_stream_id AND e.type = p_types[x.ord] AND e.schema_version = p_schema_versions[x.ord]
                 AND e.data = p_data[x.ord] AND e.metadata = p_metadata[x.ord] AND e.effective_at = p_effective_at[x.ord]))
          INTO v_existing, v_matching, v_conflict
          FROM unnest(p_ids) WITH ORDINALITY AS x(id, ord)
          JOIN events e ON e.event_id = x.id;
        IF v_existing > 0 THEN
          IF v_existing = v_count AND v_matching = v_count THEN
            RETURN QUERY SELECT e.event_id, e.global_position, e.stream_version, e.recorded_at, true
              FROM events e WHERE e.event_id = ANY (p_ids) ORDER BY e.global_position;
            RETURN;
          END IF;
          RAISE EXCEPTION 'event id % was already used for different content', coalesce(v_conflict::text, '(partial retry)')
            USING ERRCODE = 'CTIDC', DETAIL = coalesce(v_conflict::text, '');
        END IF;

        IF (p_expected = -2 AND NOT v_created)
           OR (p_expected = -3 AND v_created)
           OR (p_expected >= 0 AND v_version <> p_expected) THEN
          RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id,
              CASE WHEN v_created THEN -1 ELSE v_version END, p_expected
            USING ERRCODE = 'CTVER', DETAIL = (CASE WHEN v_created THEN -1 ELSE v_version END)::text;
        END IF;

        SELECT array_agg(nextval('events_position_seq') ORDER BY g) INTO v_pos FROM generate_series(1, v_count) g;
        FOR i IN 1 .. v_count LOOP
          v_head := event_digest(v_head, v_pos[i], p_ids[i], p_stream_id, v_version + i, p_types[i],
                                 p_schema_versions[i], p_data[i], p_metadata[i], v_now, p_effective_at[i], v_txid);
          v_hash := v_hash || v_head;
        END LOOP;

        INSERT INTO events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
                            recorded_at, effective_at, transaction_id, hash)
        SELECT v_pos[x.ord], x.id, p_stream_id, v_version + x.ord, p_types[x.ord], p_schema_versions[x.ord],
               p_data[x.ord], p_metadata[x.ord], v_now, p_effective_at[x.ord], v_txid, v_hash[x.ord]
          FROM unnest(p_ids) WITH ORDINALITY AS x(id, ord);

        UPDATE streams s SET version = v_version + v_count, head_hash = v_head, updated_at = v_now
          WHERE s.stream_id = p_stream_id;

        RETURN QUERY SELECT p_ids[g], v_pos[g], v_version + g, v_now, false FROM generate_series(1, v_count) g;
      END $$;
    `);

    await q.query(`
      CREATE TABLE projection_checkpoints (
        name            text PRIMARY KEY,
        last_txid       xid8 NOT NULL DEFAULT '0',
        last_position   bigint NOT NULL DEFAULT 0,
        events_handled  bigint NOT NULL DEFAULT 0,
        updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
      );
    `);

    // A runtime role that may read and append events but never change or remove them. Created only where the
    // migrating role may create roles (embedded mode, docker-compose); elsewhere the trigger alone guards events.
    await q.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chiptrail_runtime')
           AND (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
          CREATE ROLE chiptrail_runtime NOLOGIN;
        END IF;
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'chiptrail_runtime') THEN
          EXECUTE format('GRANT USAGE ON SCHEMA %I TO chiptrail_runtime', current_schema());
          EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO chiptrail_runtime', current_schema());
          GRANT SELECT, INSERT ON events TO chiptrail_runtime;
          GRANT SELECT, INSERT, UPDATE ON streams TO chiptrail_runtime;
          GRANT SELECT, INSERT, UPDATE ON projection_checkpoints TO chiptrail_runtime;
          ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO chiptrail_runtime;
          ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO chiptrail_runtime;
        END IF;
      END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    // Dropping the log is deliberately not offered: an event store has no down migration.
    throw new Error(`${this.name} cannot be reverted: it would destroy the event log.`);
    void q;
  }
}
