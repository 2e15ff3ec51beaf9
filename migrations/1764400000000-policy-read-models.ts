import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models of the policy domain (all rebuilt from the log by their projections) and the accounts tables.
 * Bitemporal tables use 'infinity' / '-infinity' rather than NULL so as-of lookups are plain range comparisons.
 */
export class PolicyReadModels1764400000000 implements MigrationInterface {
  name = 'PolicyReadModels1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Every version of every policy event as we knew it: known_from is when a version became what we knew
      -- (its own recording, or the recording of a correction), known_to when a later correction or a
      -- retraction replaced it.
      CREATE TABLE policy_facts (
        event_id      uuid NOT NULL,
        known_from    timestamptz NOT NULL,
        known_to      timestamptz NOT NULL DEFAULT 'infinity',
        type          text NOT NULL,
        entity_key    text,
        chip          text,
        data          jsonb NOT NULL,
        effective_at  timestamptz NOT NULL,
        recorded_at   timestamptz NOT NULL,
        source        jsonb NOT NULL,
        corrected_by  uuid[] NOT NULL DEFAULT '{}',
        chips         text[] NOT NULL DEFAULT '{}',
        companies     text[] NOT NULL DEFAULT '{}',
        band_scoped   boolean NOT NULL DEFAULT false,
        PRIMARY KEY (event_id, known_from)
      );
      CREATE INDEX policy_facts_current_chips_idx ON policy_facts USING gin (chips) WHERE known_to = 'infinity';
      CREATE INDEX policy_facts_current_companies_idx ON policy_facts USING gin (companies) WHERE known_to = 'infinity';
      CREATE INDEX policy_facts_current_entity_idx ON policy_facts (entity_key) WHERE known_to = 'infinity';
      CREATE INDEX policy_facts_band_scoped_idx ON policy_facts (event_id) WHERE known_to = 'infinity' AND band_scoped;
      CREATE INDEX policy_facts_known_idx ON policy_facts (known_from, known_to);

      CREATE TABLE fact_corrections (
        correction_id uuid PRIMARY KEY,
        target_id     uuid NOT NULL,
        data          jsonb,
        effective_at  timestamptz,
        recorded_at   timestamptz NOT NULL,
        retracted     boolean NOT NULL DEFAULT false
      );
      CREATE INDEX fact_corrections_target_idx ON fact_corrections (target_id);

      -- The chips we know now, with the classification of their latest description.
      CREATE TABLE chip_registry (
        chip            text PRIMARY KEY,
        vendor          text NOT NULL,
        model           text NOT NULL,
        datacenter      boolean NOT NULL,
        specs           jsonb,
        origin          text,
        tpp             double precision,
        performance_density double precision,
        band            text NOT NULL,
        band_reason     text NOT NULL,
        registered_event_id uuid NOT NULL,
        effective_at    timestamptz NOT NULL,
        recorded_at     timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL
      );
      CREATE INDEX chip_registry_vendor_idx ON chip_registry (lower(vendor));

      -- Status of (chip, destination) as intervals on both axes; "*" stands for destinations no fact names.
      CREATE TABLE status_intervals (
        chip          text NOT NULL,
        destination   text NOT NULL,
        valid_from    timestamptz NOT NULL,
        valid_to      timestamptz NOT NULL,
        known_from    timestamptz NOT NULL,
        known_to      timestamptz NOT NULL DEFAULT 'infinity',
        export_status text NOT NULL,
        import_status text NOT NULL,
        answer        jsonb NOT NULL,
        PRIMARY KEY (chip, destination, known_from, valid_from)
      );
      CREATE INDEX status_intervals_current_idx ON status_intervals (chip, destination, valid_from) WHERE known_to = 'infinity';

      -- Every policy event, for listing, filtering and the Atom feed.
      CREATE TABLE event_catalog (
        position      bigint PRIMARY KEY,
        event_id      uuid NOT NULL UNIQUE,
        stream_id     text NOT NULL,
        type          text NOT NULL,
        authority     text,
        chips         text[] NOT NULL DEFAULT '{}',
        eccn_bands    text[] NOT NULL DEFAULT '{}',
        destinations  text[] NOT NULL DEFAULT '{}',
        title         text,
        effective_at  timestamptz NOT NULL,
        recorded_at   timestamptz NOT NULL,
        data          jsonb NOT NULL,
        source        jsonb,
        actor         text NOT NULL,
        target_event_id uuid,
        retracted_by  uuid,
        retracted_at  timestamptz,
        corrected_by  uuid[] NOT NULL DEFAULT '{}'
      );
      CREATE INDEX event_catalog_type_idx ON event_catalog (type, position);
      CREATE INDEX event_catalog_authority_idx ON event_catalog (authority, position);
      CREATE INDEX event_catalog_chips_idx ON event_catalog USING gin (chips);
      CREATE INDEX event_catalog_effective_idx ON event_catalog (effective_at);
      CREATE INDEX event_catalog_recorded_idx ON event_catalog (recorded_at);
      CREATE INDEX event_catalog_target_idx ON event_catalog (target_event_id) WHERE target_event_id IS NOT NULL;

      -- Accounts. Passwords and API keys are stored only as scrypt hashes.
      CREATE TABLE users (
        id             uuid PRIMARY KEY,
        email          text NOT NULL UNIQUE,
        password_hash  text NOT NULL,
        role           text NOT NULL CHECK (role IN ('admin', 'curator', 'viewer')),
        failed_logins  integer NOT NULL DEFAULT 0,
        locked_until   timestamptz,
        created_at     timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE api_keys (
        id          text PRIMARY KEY,
        name        text NOT NULL,
        role        text NOT NULL CHECK (role IN ('admin', 'curator', 'viewer')),
        key_hash    text NOT NULL,
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz,
        last_used_at timestamptz
      );

      -- Process-independent settings (the token signing secret, when none is configured), shared by replicas.
      CREATE TABLE settings (
        key    text PRIMARY KEY,
        value  text NOT NULL
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE settings, api_keys, users, event_catalog, status_intervals, chip_registry, fact_corrections, policy_facts`);
  }
}
