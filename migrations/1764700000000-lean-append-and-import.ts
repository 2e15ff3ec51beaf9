import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A leaner append, and bulk import.
 *
 * Appends no longer keep a `streams` row. Its version and head hash duplicated what the events' own unique
 * (stream_id, stream_version) index holds, and updating it cost every append a row lock and a second write. Now an
 * append reads its stream's last event (one index probe), checks the expected version, and inserts; two writers
 * racing for one version meet at that unique index, and the loser is told exactly like before (a version conflict).
 * A race can burn a global position, which readers never relied on (they read by transaction, then position).
 * Removing a stream's tail, which the old row would also have shown, changes the log's head digest (see verify).
 *
 * Bulk import: many streams in one transaction, set-based. The caller COPYs events into a temporary
 * `import_stage` and calls `import_staged_events()`, which applies the rules of `append_events` (idempotent retry,
 * expected version, per-stream hash chain) to all of them at once. The chain is a window aggregate:
 * `hash_chain(head, payload) OVER (PARTITION BY stream ORDER BY ord)` folds sha256(previous || payload) from the
 * stream's last stored hash, in one pass. Payloads are byte for byte what `event_digest` hashes.
 */
export class LeanAppendAndImport1764700000000 implements MigrationInterface {
  name = 'LeanAppendAndImport1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION event_digest_payload(
        p_position bigint, p_id uuid, p_stream text, p_version bigint, p_type text, p_schema integer,
        p_data jsonb, p_metadata jsonb, p_recorded timestamptz, p_effective timestamptz, p_txid xid8
      ) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT convert_to(jsonb_build_array(
          p_position, p_id, p_stream, p_version, p_type, p_schema, p_data, p_metadata,
          (extract(epoch FROM p_recorded) * 1000000)::bigint,
          (extract(epoch FROM p_effective) * 1000000)::bigint,
          p_txid::text
        )::text, 'UTF8')
      $$;

      -- The state starts as NULL, so the first row of a partition chains to the stream's last stored hash.
      CREATE FUNCTION hash_chain_step(p_state bytea, p_head bytea, p_payload bytea) RETURNS bytea
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT sha256(coalesce(p_state, p_head) || p_payload) $$;
      CREATE AGGREGATE hash_chain(bytea, bytea) (SFUNC = hash_chain_step, STYPE = bytea);

      DROP FUNCTION append_events(text, bigint, uuid[], text[], integer[], jsonb[], jsonb[], timestamptz[]);
      DROP TABLE streams;
    `);

    // One statement per append, as before. The idempotency check runs only for ids the client chose (ids the
    // store generates are new by construction). The version check comes before any position is drawn.
    //   p_expected >= 0: exact stream version; -1: any; -2: the stream must not exist; -3: the stream must exist.
    await q.query(`
      CREATE FUNCTION append_events(
        p_stream_id text, p_expected bigint, p_ids uuid[], p_types text[], p_schema_versions integer[],
        p_data jsonb[], p_metadata jsonb[], p_effective_at timestamptz[], p_client_ids boolean
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
        v_now      timestamptz := clock_timestamp();
        v_txid     xid8;
      BEGIN
        IF v_count IS NULL OR v_count = 0 THEN
          RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'CTVAL';
        END IF;

        IF p_client_ids THEN
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
        END IF;

        SELECT e.stream_version, e.hash INTO v_version, v_head
          FROM events e WHERE e.stream_id = p_stream_id ORDER BY e.stream_version DESC LIMIT 1;
        IF NOT FOUND THEN
          v_version := 0;
          v_head := '\\x'::bytea;
        END IF;
        IF (p_expected = -2 AND v_version > 0) OR (p_expected = -3 AND v_version = 0)
           OR (p_expected >= 0 AND v_version <> p_expected) THEN
          RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id,
              CASE WHEN v_version = 0 THEN -1 ELSE v_version END, p_expected
            USING ERRCODE = 'CTVER', DETAIL = (CASE WHEN v_version = 0 THEN -1 ELSE v_version END)::text;
        END IF;

        v_txid := pg_current_xact_id();
        RETURN QUERY
        WITH numbered AS (
          SELECT x.ord, x.id, nextval('events_position_seq') AS position
            FROM unnest(p_ids) WITH ORDINALITY AS x(id, ord) ORDER BY x.ord
        ), chained AS (
          SELECT n.ord, n.id, n.position, v_version + n.ord AS version,
                 hash_chain(v_head, event_digest_payload(n.position, n.id, p_stream_id, v_version + n.ord, p_types[n.ord],
                   p_schema_versions[n.ord], p_data[n.ord], p_metadata[n.ord], v_now, p_effective_at[n.ord], v_txid))
                   OVER (ORDER BY n.ord) AS hash
            FROM numbered n
        ), inserted AS (
          INSERT INTO events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
                              recorded_at, effective_at, transaction_id, hash)
          SELECT c.position, c.id, p_stream_id, c.version, p_types[c.ord], p_schema_versions[c.ord], p_data[c.ord],
                 p_metadata[c.ord], v_now, p_effective_at[c.ord], v_txid, c.hash
            FROM chained c
          RETURNING 1
        )
        SELECT c.id, c.position, c.version, v_now, false
          FROM chained c, (SELECT count(*) FROM inserted) written
         ORDER BY c.ord;
      END $$;
    `);

    // The common case, one event, without arrays to build and parse on either side. Same rules as append_events.
    await q.query(`
      CREATE FUNCTION append_event(
        p_stream_id text, p_expected bigint, p_id uuid, p_type text, p_schema_version integer,
        p_data jsonb, p_metadata jsonb, p_effective_at timestamptz, p_client_id boolean
      ) RETURNS TABLE (event_id uuid, global_position bigint, stream_version bigint, recorded_at timestamptz,
                       duplicate boolean)
      LANGUAGE plpgsql AS $$
      DECLARE
        v_version  bigint;
        v_head     bytea;
        v_now      timestamptz := clock_timestamp();
        v_txid     xid8;
        v_position bigint;
        v_existing events%ROWTYPE;
      BEGIN
        IF p_client_id THEN
          SELECT * INTO v_existing FROM events e WHERE e.event_id = p_id;
          IF FOUND THEN
            IF v_existing.stream_id = p_stream_id AND v_existing.type = p_type AND v_existing.schema_version = p_schema_version
               AND v_existing.data = p_data AND v_existing.metadata = p_metadata AND v_existing.effective_at = p_effective_at THEN
              RETURN QUERY SELECT v_existing.event_id, v_existing.global_position, v_existing.stream_version, v_existing.recorded_at, true;
              RETURN;
            END IF;
            RAISE EXCEPTION 'event id % was already used for different content', p_id USING ERRCODE = 'CTIDC', DETAIL = p_id::text;
          END IF;
        END IF;

        SELECT e.stream_version, e.hash INTO v_version, v_head
          FROM events e WHERE e.stream_id = p_stream_id ORDER BY e.stream_version DESC LIMIT 1;
        IF NOT FOUND THEN
          v_version := 0;
          v_head := '\\x'::bytea;
        END IF;
        IF (p_expected = -2 AND v_version > 0) OR (p_expected = -3 AND v_version = 0)
           OR (p_expected >= 0 AND v_version <> p_expected) THEN
          RAISE EXCEPTION 'stream % is at version %, expected %', p_stream_id,
              CASE WHEN v_version = 0 THEN -1 ELSE v_version END, p_expected
            USING ERRCODE = 'CTVER', DETAIL = (CASE WHEN v_version = 0 THEN -1 ELSE v_version END)::text;
        END IF;

        v_txid := pg_current_xact_id();
        v_position := nextval('events_position_seq');
        v_head := sha256(v_head || event_digest_payload(v_position, p_id, p_stream_id, v_version + 1, p_type,
                    p_schema_version, p_data, p_metadata, v_now, p_effective_at, v_txid));
        INSERT INTO events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
                            recorded_at, effective_at, transaction_id, hash)
        VALUES (v_position, p_id, p_stream_id, v_version + 1, p_type, p_schema_version, p_data, p_metadata, v_now,
                p_effective_at, v_txid, v_head);
        RETURN QUERY SELECT p_id, v_position, v_version + 1, v_now, false;
      END $$;
    `);

    await q.query(`
      CREATE FUNCTION import_staged_events()
      RETURNS TABLE (imported bigint, first_position bigint, last_position bigint, recorded_at timestamptz, duplicate boolean)
      LANGUAGE plpgsql AS $$
      DECLARE
        v_now      timestamptz := clock_timestamp();
        v_txid     xid8 := pg_current_xact_id();
        v_total    bigint;
        v_existing bigint;
        v_matching bigint;
        v_conflict uuid;
        v_bad      record;
      BEGIN
        SELECT count(*) INTO v_total FROM import_stage;
        IF v_total = 0 THEN
          RAISE EXCEPTION 'an import needs at least one event' USING ERRCODE = 'CTVAL';
        END IF;

        SELECT count(*), count(*) FILTER (WHERE e.stream_id = s.stream_id AND e.type = s.type
                 AND e.schema_version = s.schema_version AND e.data = s.data AND e.metadata = s.metadata
                 AND e.effective_at = s.effective_at),
               min(e.event_id::text) FILTER (WHERE NOT (e.stream_id = s.stream_id AND e.type = s.type
                 AND e.schema_version = s.schema_version AND e.data = s.data AND e.metadata = s.metadata
                 AND e.effective_at = s.effective_at))
          INTO v_existing, v_matching, v_conflict
          FROM import_stage s JOIN events e ON e.event_id = s.event_id;
        IF v_existing > 0 THEN
          IF v_existing = v_total AND v_matching = v_total THEN
            -- A retried import: everything is already there, nothing is written.
            RETURN QUERY SELECT 0::bigint, min(e.global_position), max(e.global_position), min(e.recorded_at), true
              FROM import_stage s JOIN events e ON e.event_id = s.event_id;
            RETURN;
          END IF;
          RAISE EXCEPTION 'event id % was already used for different content', coalesce(v_conflict::text, '(partial retry)')
            USING ERRCODE = 'CTIDC', DETAIL = coalesce(v_conflict::text, '');
        END IF;

        CREATE TEMP TABLE import_heads ON COMMIT DROP AS
          SELECT s.stream_id, s.expected, coalesce(last.stream_version, 0) AS version, coalesce(last.hash, '\\x'::bytea) AS head
            FROM (SELECT DISTINCT ON (stream_id) stream_id, expected FROM import_stage ORDER BY stream_id, ord) s
            LEFT JOIN LATERAL (
              SELECT e.stream_version, e.hash FROM events e WHERE e.stream_id = s.stream_id
               ORDER BY e.stream_version DESC LIMIT 1
            ) last ON true;

        -- expected: >= 0 exact version; -1 any; -2 the stream must not exist; -3 it must exist.
        SELECT h.stream_id, h.expected, h.version INTO v_bad FROM import_heads h
         WHERE (h.expected = -2 AND h.version > 0) OR (h.expected = -3 AND h.version = 0)
            OR (h.expected >= 0 AND h.version <> h.expected)
         ORDER BY h.stream_id LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'stream % is at version %, expected %', v_bad.stream_id,
              CASE WHEN v_bad.version = 0 THEN -1 ELSE v_bad.version END, v_bad.expected
            USING ERRCODE = 'CTVER', DETAIL = (CASE WHEN v_bad.version = 0 THEN -1 ELSE v_bad.version END)::text,
                  HINT = v_bad.stream_id;
        END IF;

        RETURN QUERY
        WITH numbered AS (
          SELECT s.*, nextval('events_position_seq') AS position
            FROM (SELECT * FROM import_stage ORDER BY ord) s
        ), versioned AS (
          SELECT n.*, h.head, h.version + row_number() OVER (PARTITION BY n.stream_id ORDER BY n.ord) AS version
            FROM numbered n JOIN import_heads h ON h.stream_id = n.stream_id
        ), chained AS (
          SELECT v.*, hash_chain(v.head, event_digest_payload(v.position, v.event_id, v.stream_id, v.version, v.type,
                   v.schema_version, v.data, v.metadata, v_now, v.effective_at, v_txid))
                   OVER (PARTITION BY v.stream_id ORDER BY v.ord) AS hash
            FROM versioned v
        ), inserted AS (
          INSERT INTO events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
                              recorded_at, effective_at, transaction_id, hash)
          SELECT c.position, c.event_id, c.stream_id, c.version, c.type, c.schema_version, c.data, c.metadata,
                 v_now, c.effective_at, v_txid, c.hash
            FROM chained c
          RETURNING events.global_position
        )
        SELECT count(*), min(i.global_position), max(i.global_position), v_now, false FROM inserted i;
      END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    void q;
    throw new Error(`${this.name} cannot be reverted: the streams table it replaced cannot be rebuilt faithfully.`);
  }
}
