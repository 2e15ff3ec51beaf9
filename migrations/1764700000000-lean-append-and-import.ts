import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A leaner append.
 *
 * Appends no longer keep a `streams` row. Its version and head hash duplicated what the events' own unique
 * (stream_id, stream_version) index holds, and updating it cost every append a row lock and a second write. Now an
 * append reads its stream's last event (one index probe), checks the expected version, and inserts; two writers
 * racing for one version meet at that unique index, and the loser is told exactly like before (a version conflict).
 * A race can burn a global position, which readers never relied on (they read by transaction, then position).
 * Removing a stream's tail, which the old row would also have shown, changes the log's head digest (see verify).
 *
 * Appends of several events chain their hashes with a window aggregate, `hash_chain(head, payload) OVER (ORDER BY
 * ord)`, folding sha256(previous || payload) from the stream's last stored hash in one pass; `event_digest_payload`
 * is byte for byte what `event_digest` hashes. (Bulk import computes the same bytes in process and COPYs.)
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

  }

  async down(q: QueryRunner): Promise<void> {
    void q;
    throw new Error(`${this.name} cannot be reverted: the streams table it replaced cannot be rebuilt faithfully.`);
  }
}
