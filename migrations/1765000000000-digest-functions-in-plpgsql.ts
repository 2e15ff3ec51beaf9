import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The append functions hash through `event_digest_payload` and `hash_chain_step`. As SQL functions that the planner
 * cannot inline (they call stable functions), each was parsed, analysed and planned again for every append: about a
 * third of an append's time in the server (perf). plpgsql keeps their plans for the session. The bytes they return
 * are unchanged, so stored hashes and verification are unaffected.
 */
export class DigestFunctionsInPlpgsql1765000000000 implements MigrationInterface {
  name = 'DigestFunctionsInPlpgsql1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION event_digest_payload(
        p_position bigint, p_id uuid, p_stream text, p_version bigint, p_type text, p_schema integer,
        p_data jsonb, p_metadata jsonb, p_recorded timestamptz, p_effective timestamptz, p_txid xid8
      ) RETURNS bytea LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      BEGIN
        RETURN convert_to(jsonb_build_array(
          p_position, p_id, p_stream, p_version, p_type, p_schema, p_data, p_metadata,
          (extract(epoch FROM p_recorded) * 1000000)::bigint,
          (extract(epoch FROM p_effective) * 1000000)::bigint,
          p_txid::text
        )::text, 'UTF8');
      END $$;

      CREATE OR REPLACE FUNCTION hash_chain_step(p_state bytea, p_head bytea, p_payload bytea) RETURNS bytea
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      BEGIN
        RETURN sha256(coalesce(p_state, p_head) || p_payload);
      END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION event_digest_payload(
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
      CREATE OR REPLACE FUNCTION hash_chain_step(p_state bytea, p_head bytea, p_payload bytea) RETURNS bytea
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT sha256(coalesce(p_state, p_head) || p_payload) $$;
    `);
  }
}
