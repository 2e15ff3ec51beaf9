import {
  applyCorrections,
  assertNever,
  chipAt,
  chipFactsOf,
  classify,
  entityKeyOf,
  isEntityEventType,
  isPolicyEventType,
  parseInstant,
  stableJson,
  type Fact,
  type PolicyEventType,
  type Source,
  type UnsourcedEvent,
  type UnsourcedFact,
} from '@chiptrail/domain';
import { copyBinaryRows, type Sql } from '@chiptrail/db';
import { EVENT_HEADER_COLUMNS, type EventHeader, type ReadShape } from '@chiptrail/event-store';
import type { ShapedProjection, StagedBatch } from '@chiptrail/projections';

/**
 * An event as the policy projection reads it (POLICY_LOG): a StoredEvent's fields of the same names. Not its source:
 * the projection cites nothing (readers take sources from the log), and parsing them was an eighth of a rebuild's
 * Node CPU.
 */
export interface PolicyLogEvent extends EventHeader {
  readonly recordedAt: Date;
  readonly effectiveAt: Date;
  /**
   * The whole body of chip facts, corrections and retractions; of other events only the fields their keys are made
   * of (KEY_FIELDS). Fact versions take their stored bodies from the events table, in SQL.
   */
  readonly data: Record<string, unknown>;
}

/** The fields of a policy event's data that its lookup keys are made of: what indexKeys and entityKeyOf read. */
export const KEY_FIELDS = ['measureId', 'licenseId', 'advisoryId', 'investigationId', 'scope', 'chips', 'subjects'] as const;
const WHOLE_BODIES: readonly PolicyEventType[] = ['ChipRegistered', 'ChipSpecsUpdated', 'EventCorrected', 'EventRetracted'];

/**
 * Most of what the projection reads of the log: parsing whole bodies (a kilobyte each) was most of a rebuild's
 * reading. The key fields come as one array, in KEY_FIELDS order (taking them apart and assembling an object in SQL
 * doubled what the server spent reading).
 */
export const POLICY_LOG: ReadShape<PolicyLogEvent> = {
  name: 'read_policy_log',
  // Instants as milliseconds since the epoch, truncated as the driver truncates them: parsing their text was 3 % of a
  // rebuild's profile.
  columns: `${EVENT_HEADER_COLUMNS}, floor(extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms,
    floor(extract(epoch FROM effective_at) * 1000)::float8 AS effective_ms,
    CASE WHEN type = ANY ('{${WHOLE_BODIES.join(',')}}'::text[]) THEN data END AS data,
    CASE WHEN type <> ALL ('{${WHOLE_BODIES.join(',')}}'::text[]) THEN jsonb_build_array(${KEY_FIELDS.map((field) => `data -> '${field}'`).join(', ')}) END AS keys`,
  map: (row) => ({
    id: row.event_id as string,
    position: Number(row.global_position),
    type: row.type as string,
    transactionId: row.transaction_id as string,
    recordedAt: new Date(row.recorded_ms as number),
    effectiveAt: new Date(row.effective_ms as number),
    data: (row.data as Record<string, unknown> | null) ?? keyFields(row.keys as unknown[]),
  }),
};

/** The key fields' values (null: absent) as the data object they were taken from has them. */
function keyFields(values: readonly unknown[]): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  KEY_FIELDS.forEach((field, index) => {
    if (values[index] !== null) data[field] = values[index];
  });
  return data;
}

/**
 * The policy projection: keeps what we know (policy_facts, bitemporal), the chip registry, and for each event when
 * it became known and which chips' status it may change (knowledge_changes, what the alert dispatcher compares
 * before and after). Status answers are derived from the facts when asked (see chip-knowledge.ts).
 *
 * Knowledge time: changes caused by an event are known from its `recorded_at`. Events of one append share that
 * time and are applied together. A batch works in memory on the facts it touches and writes once at the end.
 */
export class PolicyProjection implements ShapedProjection<PolicyLogEvent> {
  readonly name = 'policy';
  readonly reads = POLICY_LOG;
  readonly tables = ['policy_facts', 'fact_corrections', 'chip_registry', 'knowledge_changes'] as const;
  /**
   * What `prefetch` and the loaders below search by, what closing a fact version finds it by, and the arbiters of
   * the upserts; status reads use the rest. knowledge_changes is only appended to: its key is built at the end.
   */
  readonly indexesReadWhileApplying = [
    'policy_facts_pkey',
    'fact_corrections_pkey',
    'chip_registry_pkey',
    'policy_facts_current_entity_idx',
    'policy_facts_chip_idx',
    'policy_facts_known_idx',
    'policy_facts_closed_idx',
    'fact_corrections_target_idx',
  ];
  constructor(readonly batchSize = 1000) {}

  async apply(events: readonly PolicyLogEvent[], tx: Sql): Promise<void> {
    await (await this.stage(events, tx, undefined))?.flush();
  }

  /**
   * Applies a batch in memory, ready to be written by its `flush`. After `previous`, a batch staged but not yet
   * written (a rebuild writes one batch while it stages the next), what the tables do not show yet comes from it.
   */
  async stage(events: readonly PolicyLogEvent[], tx: Sql, previous: StagedBatch | undefined): Promise<StagedBatch | undefined> {
    const policyEvents = events.filter((event) => isPolicyEventType(event.type));
    if (policyEvents.length === 0) return undefined;
    const work = await PolicyWork.open(tx, previous instanceof PolicyWork ? previous : undefined);
    await work.prefetch(policyEvents);
    let group: PolicyLogEvent[] = [];
    for (const event of policyEvents) {
      if (group.length > 0 && group[0]!.recordedAt.getTime() !== event.recordedAt.getTime()) {
        await work.record(group);
        group = [];
      }
      group.push(event);
    }
    if (group.length > 0) await work.record(group);
    return work.staged();
  }
}

interface FactRow extends UnsourcedFact {
  knownFrom: Date;
  knownTo: Date | null;
  readonly entityKey: string | null;
  readonly chip: string | null;
  readonly chips: readonly string[];
  readonly companies: readonly string[];
  readonly bandScoped: boolean;
  /** True when the row is new in this batch (inserted at flush), false when it came from the table. */
  readonly fresh: boolean;
  /** The correction whose `data` this version has; null: its own event's body. See FACT_VERSIONS. */
  readonly dataFrom: string | null;
}

interface CorrectionRow {
  readonly correctionId: string;
  readonly targetId: string;
  readonly data: Record<string, unknown> | null;
  readonly effectiveAt: Date | null;
  readonly recordedAt: Date;
  retracted: boolean;
  readonly fresh: boolean;
  changed: boolean;
}

/** When an event became known and the registered chips whose status it may change. */
interface KnowledgeChange {
  readonly knownAt: Date;
  readonly chips: ReadonlySet<string>;
}

interface RegistryRow {
  readonly chip: string;
  readonly vendor: string;
  readonly model: string;
  readonly datacenter: boolean;
  readonly specs: unknown;
  readonly origin: string | null;
  readonly tpp: number | null;
  readonly performanceDensity: number | null;
  readonly band: string;
  readonly bandReason: string;
  readonly registeredEventId: string;
  readonly effectiveAt: Date;
  readonly recordedAt: Date;
  readonly updatedAt: Date;
}

/** What a fact version row holds: its data and source are not copied but read from the log (FACT_VERSIONS). */
const FACT_COLUMNS = `event_id, known_from, type, entity_key, chip, data_from, effective_at, recorded_at, corrected_by,
  chips, companies, band_scoped`;

/**
 * Joined to fact versions (`f`): their data and source from the log, the body of the fact's own event (`e`, with its
 * position) or the `data` of the correction it was last corrected with (`c`). A fact version is most of what the
 * projection writes, and a kilobyte of copied JSON in each made writing them most of a rebuild; readers find the
 * event for its log order anyway. One index probe each, whatever the statistics say (see EventStore.getEvents).
 */
export const FACT_DATA = `CROSS JOIN LATERAL (SELECT global_position, data, metadata FROM events WHERE event_id = f.event_id LIMIT 1) e
  LEFT JOIN LATERAL (SELECT data FROM events WHERE event_id = f.data_from LIMIT 1) c ON true`;

export const FACT_VERSIONS = `policy_facts f ${FACT_DATA}`;

/** A fact version's data and source, given FACT_DATA's `e` and `c`. */
export const VERSION_DATA = `coalesce(c.data -> 'data', e.data)`;
export const VERSION_SOURCE = `coalesce(nullif(e.metadata -> 'source', 'null'), '{}')`;

const UNSOURCED_FACT_COLUMNS = `f.event_id, f.type, ${VERSION_DATA} AS data, f.effective_at, f.recorded_at, f.corrected_by`;

/** The columns of storedFact (below) from FACT_VERSIONS. */
export const STORED_FACT_COLUMNS = `${UNSOURCED_FACT_COLUMNS}, ${VERSION_SOURCE} AS source`;

/** What the projection loads of a fact version: no source (see PolicyLogEvent). */
const FACT_ROW_COLUMNS = `${UNSOURCED_FACT_COLUMNS}, f.known_from, f.entity_key, f.chip, f.data_from, f.chips, f.companies, f.band_scoped`;

interface FactDbRow {
  event_id: string;
  known_from: Date;
  type: PolicyEventType;
  entity_key: string | null;
  chip: string | null;
  data_from: string | null;
  data: Record<string, unknown>;
  effective_at: Date;
  recorded_at: Date;
  corrected_by: string[];
  chips: string[];
  companies: string[];
  band_scoped: boolean;
}

/** A stored fact version as the status rules see it. */
export function storedFact(row: Pick<FactDbRow, 'event_id' | 'type' | 'data' | 'effective_at' | 'recorded_at' | 'corrected_by'> & { source: Source }): Fact {
  return {
    eventId: row.event_id,
    type: row.type as Fact['type'],
    data: row.data,
    effectiveAt: row.effective_at,
    recordedAt: row.recorded_at,
    source: row.source,
    ...(row.corrected_by.length > 0 ? { correctedBy: row.corrected_by } : {}),
  };
}

function factFromDb(row: FactDbRow): FactRow {
  const fact: UnsourcedFact = {
    eventId: row.event_id,
    type: row.type as Fact['type'],
    data: row.data,
    effectiveAt: row.effective_at,
    recordedAt: row.recorded_at,
    ...(row.corrected_by.length > 0 ? { correctedBy: row.corrected_by } : {}),
  };
  const keys = { entityKey: row.entity_key, chip: row.chip, chips: row.chips, companies: row.companies, bandScoped: row.band_scoped };
  return factRow(fact, keys, row.known_from, false, row.data_from);
}

/** A current version the batch before holds, as this batch sees it: a stored row (that batch writes it first). */
function carriedRow(row: FactRow): FactRow {
  return factRow(row, row, row.knownFrom, false, row.dataFrom);
}

/** The lookup keys of a fact: which chips it names, which companies, whether it targets bands. */
export function indexKeys(fact: UnsourcedFact): FactKeys {
  const data = fact.data as Record<string, unknown>;
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const scope = (data.scope ?? {}) as Record<string, unknown>;
  const subjects = (data.subjects ?? {}) as Record<string, unknown>;
  const isChip = fact.type === 'ChipRegistered' || fact.type === 'ChipSpecsUpdated';
  const chips = isChip
    ? [String(data.chip)]
    : [...list(scope.chips), ...list(scope.excludeChips), ...list(data.chips), ...list(subjects.chips)];
  return {
    entityKey: entityKeyOf(fact) ?? null,
    chip: isChip ? String(data.chip) : null,
    chips: [...new Set(chips)],
    companies: list(subjects.companies).map((company) => company.trim().toLowerCase()),
    bandScoped: list(scope.eccnBands).length > 0,
  };
}

type FactKeys = Pick<FactRow, 'entityKey' | 'chip' | 'chips' | 'companies' | 'bandScoped'>;

/** A new version of `fact`, known from `known`, with its lookup keys. */
function newFactRow(fact: UnsourcedFact, known: Date, dataFrom: string | null): FactRow {
  return factRow(fact, indexKeys(fact), known, true, dataFrom);
}

function factRow(fact: UnsourcedFact, keys: FactKeys, knownFrom: Date, fresh: boolean, dataFrom: string | null): FactRow {
  // Field by field: built by spreading the fact and its keys into one object, rows were slow to make and to read
  // (built this way, a 1 M-event rebuild took a third less time and half the CPU).
  return {
    eventId: fact.eventId,
    type: fact.type,
    data: fact.data,
    effectiveAt: fact.effectiveAt,
    recordedAt: fact.recordedAt,
    correctedBy: fact.correctedBy,
    entityKey: keys.entityKey,
    chip: keys.chip,
    chips: keys.chips,
    companies: keys.companies,
    bandScoped: keys.bandScoped,
    knownFrom,
    knownTo: null,
    fresh,
    dataFrom,
  };
}

const FLUSH_CHUNK = 5000;

/**
 * Fact versions of one key (`wanted.key`) that may be current, each through one index only: the partial index over
 * current entities; the chip index (current ones kept by the caller: asked here, the partial index would be taken as
 * a filter and scanned whole); a fact's latest version, the only one that can be current, by the primary key.
 */
const CURRENT_FACTS_BY = {
  entity_key: `SELECT * FROM policy_facts WHERE entity_key = wanted.key AND known_to = 'infinity' OFFSET 0`,
  chip: `SELECT * FROM policy_facts WHERE chip = wanted.key OFFSET 0`,
  event_id: `SELECT * FROM policy_facts WHERE event_id = wanted.key ORDER BY known_from DESC LIMIT 1`,
} as const;

/** Whether the chips a fact concerns are found among all registered chips (a band's or a company's), not named. */
function concernsAllChips(fact: FactRow): boolean {
  return fact.bandScoped || fact.companies.length > 0;
}

function registeredVendor(registration: FactRow | undefined): string | undefined {
  return registration ? String(registration.data.vendor ?? '') : undefined;
}

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const members = index.get(key);
  if (members) members.add(value);
  else index.set(key, new Set([value]));
}

class PolicyWork implements StagedBatch {
  private readonly facts = new Map<string, FactRow>();
  // Indexes over `facts` and the rows written at flush: a batch may hold a whole import, and scanning every fact
  // per event would make it quadratic.
  private readonly factsByEntity = new Map<string, Map<string, FactRow>>();
  private readonly registrations = new Map<string, FactRow>();
  /** Each chip's own current facts (registration, specs), in the order they were put: what its registry row is made of. */
  private readonly ownFacts = new Map<string, Set<FactRow>>();
  private readonly ownFactsLoaded = new Set<string>();
  /** Chips whose own facts the append being applied changed: their registry rows are made again after it. */
  private readonly ownFactsChanged = new Set<string>();
  private readonly closedFacts: FactRow[] = [];
  private readonly closedKeys = new Set<string>();
  private readonly newFacts: FactRow[] = [];
  private readonly newFactIds = new Set<string>();
  private readonly loadedEntities = new Set<string>();
  private readonly loadedTargets = new Set<string>();
  private readonly corrections = new Map<string, CorrectionRow>();
  private readonly correctionsLoadedFor = new Set<string>();
  /** Ids `prefetch` asked about: a stored correction among them is in `corrections`, any other is none. */
  private readonly correctionIdsLookedUp = new Set<string>();
  /** The events of corrected facts as recorded (null: no such event); see loadOriginals. */
  private readonly originals = new Map<string, { data: Record<string, unknown>; effective_at: Date } | null>();
  private readonly registryChanges = new Map<string, RegistryRow | null>();
  private readonly knowledgeChanges = new Map<string, KnowledgeChange>();
  /** The lookup keys of the batch's entity events, worked out by `prefetch` and used again for their facts. */
  private readonly eventKeys = new Map<string, FactKeys>();
  /**
   * Stored registry rows (null: none) of the chips the batch has asked about. Loaded by chip, not whole: reading
   * every row each batch grew with the registry, to a third of a second per batch at 40,000 chips.
   */
  private readonly registry = new Map<string, RegistryRow | null>();
  /** Every stored chip and its vendor, read once a band-wide or vendor-wide fact concerns them all. */
  private storedVendors: Map<string, string> | undefined;

  private constructor(
    private readonly tx: Sql,
    private floor: number,
    /** Which tables held rows when the batch began: lookups in empty ones are skipped (a rebuild's first batches). */
    private readonly stored: { readonly facts: boolean; readonly corrections: boolean; readonly registry: boolean },
    /**
     * The batch staged before this one and not yet written (a rebuild's): every row it loaded or made is taken from
     * it, the rest from the tables, which it has not changed. See holdsCurrent.
     */
    private previous: PolicyWork | undefined,
  ) {}

  static async open(tx: Sql, previous?: PolicyWork): Promise<PolicyWork> {
    // One statement after another: a connection runs one at a time anyway (node-postgres will stop queueing them).
    const { rows: [state] } = await tx.query<{ floor: Date | null; facts: boolean; corrections: boolean; registry: boolean }>(
      `SELECT greatest((SELECT max(known_from) FROM policy_facts), (SELECT max(known_to) FROM policy_facts WHERE known_to <> 'infinity')) AS floor,
              EXISTS (SELECT FROM policy_facts) AS facts, EXISTS (SELECT FROM fact_corrections) AS corrections,
              EXISTS (SELECT FROM chip_registry) AS registry`,
    );
    return new PolicyWork(
      tx,
      Math.max(state!.floor?.getTime() ?? Number.NEGATIVE_INFINITY, previous?.floor ?? Number.NEGATIVE_INFINITY),
      {
        facts: state!.facts || (previous !== undefined && (previous.stored.facts || previous.newFacts.length > 0)),
        corrections: state!.corrections || (previous !== undefined && (previous.stored.corrections || previous.corrections.size > 0)),
        registry: state!.registry || (previous !== undefined && (previous.stored.registry || previous.registryChanges.size > 0)),
      },
      previous,
    );
  }

  /** Done with the batch before: this one has loaded all it needs (and holding on would keep every batch alive). */
  staged(): this {
    this.previous = undefined;
    return this;
  }

  // --- what the batch before, not yet written, holds -----------------------------------------------------

  private closedIds: Set<string> | undefined;
  private correctionsByTarget: Map<string, CorrectionRow[]> | undefined;

  /**
   * Whether this batch knows the current versions of `key`: it loaded them (and changed them only in memory), or
   * made or closed the fact itself. A batch changes no fact it has not loaded, so for any other key the tables
   * still hold what it would have found.
   */
  private holdsCurrent(column: keyof typeof CURRENT_FACTS_BY, key: string): boolean {
    switch (column) {
      case 'entity_key':
        return this.loadedEntities.has(key);
      case 'chip':
        return this.ownFactsLoaded.has(key);
      case 'event_id':
        this.closedIds ??= new Set(this.closedFacts.map((fact) => fact.eventId));
        return this.loadedTargets.has(key) || this.facts.has(key) || this.closedIds.has(key);
      default:
        return assertNever(column);
    }
  }

  private currentFor(column: keyof typeof CURRENT_FACTS_BY, key: string): FactRow[] {
    switch (column) {
      case 'entity_key':
        return [...(this.factsByEntity.get(key)?.values() ?? [])];
      case 'chip':
        return [...(this.ownFacts.get(key) ?? [])];
      case 'event_id': {
        const fact = this.facts.get(key);
        return fact ? [fact] : [];
      }
      default:
        return assertNever(column);
    }
  }

  /** Whether this batch knows if `id` is a correction (and which): it looked it up, or recorded it. */
  private knowsCorrection(id: string): boolean {
    return this.corrections.has(id) || this.correctionIdsLookedUp.has(id);
  }

  private correctionsOf(targetId: string): CorrectionRow[] {
    if (!this.correctionsByTarget) {
      this.correctionsByTarget = new Map();
      for (const correction of this.corrections.values()) {
        this.correctionsByTarget.set(correction.targetId, [...(this.correctionsByTarget.get(correction.targetId) ?? []), correction]);
      }
    }
    return this.correctionsByTarget.get(targetId) ?? [];
  }

  /** The chip's registry row once this batch is written (null: none), if this batch knows it. */
  private registryAfter(chip: string): RegistryRow | null | undefined {
    return this.registryChanges.has(chip) ? (this.registryChanges.get(chip) ?? null) : this.registry.get(chip);
  }

  /**
   * Loads in a few statements what the batch's events will ask for one by one: the entities they belong to, the
   * events they correct or retract, and the chips they name. Live batches and the later batches of a rebuild
   * otherwise spend most of their time on a few round trips per event.
   */
  async prefetch(events: readonly PolicyLogEvent[]): Promise<void> {
    const entities = new Set<string>();
    const targets = new Set<string>();
    const chips = new Set<string>();
    const described = new Set<string>();
    for (const event of events) {
      const type = event.type as PolicyEventType;
      if (type === 'EventCorrected' || type === 'EventRetracted') {
        targets.add(String(event.data.eventId).toLowerCase());
        continue;
      }
      if (!isEntityEventType(type)) continue;
      const keys = indexKeys({ eventId: event.id, type, data: event.data, effectiveAt: event.effectiveAt, recordedAt: event.recordedAt });
      this.eventKeys.set(event.id, keys);
      if (keys.entityKey) entities.add(keys.entityKey);
      for (const chip of keys.chips) chips.add(chip);
      if (keys.chip) described.add(keys.chip);
    }
    // A retraction of a correction revises the corrected event.
    const known = [...targets].filter((id) => this.previous?.knowsCorrection(id));
    for (const id of known) {
      this.correctionIdsLookedUp.add(id);
      const correction = this.previous?.corrections.get(id);
      if (correction) targets.add(correction.targetId);
    }
    const asked = [...targets].filter((id) => !this.correctionIdsLookedUp.has(id));
    if (this.stored.corrections && asked.length > 0) {
      const { rows } = await this.tx.query<{ target_id: string }>(
        `SELECT DISTINCT target_id FROM fact_corrections WHERE correction_id = ANY ($1::uuid[])`,
        [asked],
      );
      for (const id of asked) this.correctionIdsLookedUp.add(id);
      for (const row of rows) targets.add(row.target_id);
    }
    if (this.stored.corrections && targets.size > 0) await this.loadCorrections([...targets]);
    await this.loadOriginals([...targets]);
    await this.loadEntities([...entities]);
    // The corrected and retracted facts, and the rest of their entities.
    await this.loadEntities(await this.loadCurrent('event_id', [...targets], this.loadedTargets));
    await this.loadRegistry([...chips]);
    await this.loadOwnFacts([...described]);
  }

  /**
   * Applies the events of one append (one recorded time), notes for each the chips whose status it may change, and
   * remakes the registry rows of the chips it describes.
   */
  async record(group: readonly PolicyLogEvent[]): Promise<void> {
    // Knowledge time never runs backwards, even if a later-recorded append committed first.
    const known = new Date(Math.max(group[0]!.recordedAt.getTime(), this.floor));
    this.floor = known.getTime();
    for (const event of group) {
      const touched = new Set<string>();
      // Nearly every event is a fact whose entity and chips prefetch has loaded: applied without a round of promises
      // (three per event were a tenth of a rebuild's allocations).
      const fact = this.newEntityFact(event, known);
      if (fact) {
        const loading = this.loadsFor(fact);
        if (loading) await loading;
        this.addNewFact(fact);
        this.touchLoaded(fact, touched);
      } else {
        await this.applyRevision(event, known, touched);
      }
      if (touched.size > 0) this.knowledgeChanges.set(event.id, { knownAt: known, chips: touched });
    }
    for (const chip of this.ownFactsChanged) await this.updateRegistry(chip, known);
    this.ownFactsChanged.clear();
  }

  /** The version an entity event makes (none for corrections, retractions and other events). */
  private newEntityFact(event: PolicyLogEvent, known: Date): FactRow | undefined {
    const type = event.type as PolicyEventType;
    if (!isEntityEventType(type)) return undefined;
    const fact = applyCorrections({ id: event.id, type, data: event.data, effectiveAt: event.effectiveAt, recordedAt: event.recordedAt }, []);
    return factRow(fact, this.eventKeys.get(event.id) ?? indexKeys(fact), known, true, null);
  }

  /** What adding a new version of an entity and noting its chips need and the batch has not loaded (nearly always none). */
  private loadsFor(fact: FactRow): Promise<void> | undefined {
    if ((!fact.entityKey || this.loadedEntities.has(fact.entityKey)) && this.touchable(fact)) return undefined;
    return this.prepareTouch(fact);
  }

  /** A correction or a retraction: the version it revises or closes. */
  private async applyRevision(event: PolicyLogEvent, known: Date, affected: Set<string>): Promise<void> {
    const type = event.type as PolicyEventType;
    if (type === 'EventCorrected') {
      const targetId = String(event.data.eventId).toLowerCase();
      await this.loadCorrections([targetId]);
      const correction: CorrectionRow = {
        correctionId: event.id,
        targetId,
        data: (event.data.data as Record<string, unknown> | undefined) ?? null,
        effectiveAt: typeof event.data.effectiveAt === 'string' ? (parseInstant(event.data.effectiveAt) ?? null) : null,
        recordedAt: event.recordedAt,
        retracted: false,
        fresh: true,
        changed: true,
      };
      this.corrections.set(event.id, correction);
      await this.reviseFact(targetId, known, affected);
      return;
    }
    if (type === 'EventRetracted') {
      const targetId = String(event.data.eventId).toLowerCase();
      const correction = await this.findCorrection(targetId);
      if (correction) {
        correction.retracted = true;
        correction.changed = true;
        await this.reviseFact(correction.targetId, known, affected);
        return;
      }
      const current = await this.currentFact(targetId);
      if (!current) return;
      await this.touchChips(current, affected);
      this.closeFact(current, known);
    }
  }

  /** Replaces the current version of a fact by one with its (remaining) corrections applied. */
  private async reviseFact(targetId: string, known: Date, affected: Set<string>): Promise<void> {
    const current = await this.currentFact(targetId);
    if (!current) return;
    await this.loadCorrections([targetId]);
    await this.loadOriginals([targetId]);
    const base = this.originals.get(targetId);
    if (!base) return;
    const active = [...this.corrections.values()]
      .filter((c) => c.targetId === targetId && !c.retracted)
      .sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime());
    const originalEvent: UnsourcedEvent = {
      id: current.eventId,
      type: current.type,
      data: base.data,
      effectiveAt: base.effective_at,
      recordedAt: current.recordedAt,
    };
    const revised = applyCorrections(
      originalEvent,
      active.map((c) => ({
        id: c.correctionId,
        type: 'EventCorrected' as const,
        data: { eventId: targetId, ...(c.data ? { data: c.data } : {}), ...(c.effectiveAt ? { effectiveAt: c.effectiveAt.toISOString() } : {}) },
        effectiveAt: c.recordedAt,
        recordedAt: c.recordedAt,
      })),
    );
    // The last active correction that brings data gives the version its data (as applyCorrections applies them).
    const bringingData = active.filter((c) => c.data !== null).at(-1);
    const dataFrom = bringingData?.correctionId ?? null;
    await this.touchChips(current, affected);
    this.closeFact(current, known);
    const row = newFactRow(revised, known, dataFrom);
    this.addNewFact(row);
    await this.touchChips(row, affected);
  }

  private putFact(row: FactRow): void {
    const previous = this.facts.get(row.eventId);
    if (previous) this.dropFact(previous);
    this.facts.set(row.eventId, row);
    if (row.entityKey) {
      const members = this.factsByEntity.get(row.entityKey) ?? new Map<string, FactRow>();
      members.set(row.eventId, row);
      this.factsByEntity.set(row.entityKey, members);
    }
    if (row.type === 'ChipRegistered' && row.chip) this.registrations.set(row.chip, row);
    if (row.chip) addTo(this.ownFacts, row.chip, row);
  }

  private dropFact(row: FactRow): void {
    if (this.facts.get(row.eventId) !== row) return;
    this.facts.delete(row.eventId);
    if (row.entityKey) this.factsByEntity.get(row.entityKey)?.delete(row.eventId);
    if (row.chip && this.registrations.get(row.chip) === row) this.registrations.delete(row.chip);
    if (row.chip) this.ownFacts.get(row.chip)?.delete(row);
  }

  private addNewFact(row: FactRow): void {
    if (row.chip) this.ownFactsChanged.add(row.chip);
    this.putFact(row);
    this.newFacts.push(row);
    this.newFactIds.add(row.eventId);
  }

  private closeFact(fact: FactRow, known: Date): void {
    if (fact.chip) this.ownFactsChanged.add(fact.chip);
    this.dropFact(fact);
    if (fact.fresh) {
      fact.knownTo = known;
      return;
    }
    fact.knownTo = known;
    this.closedFacts.push(fact);
    this.closedKeys.add(`${fact.eventId}|${fact.knownFrom.getTime()}`);
  }

  /** Adds to `affected` every registered chip the fact's entity concerns (all chips for band-scoped measures). */
  private async touchChips(fact: FactRow, affected: Set<string>): Promise<void> {
    await this.prepareTouch(fact);
    this.touchLoaded(fact, affected);
  }

  /** Loads what touchLoaded reads: the fact's entity, the registry rows of the chips its members name, all chips if asked. */
  private async prepareTouch(fact: FactRow): Promise<void> {
    if (fact.entityKey && !this.loadedEntities.has(fact.entityKey)) await this.loadEntities([fact.entityKey]);
    const members = this.membersOf(fact);
    const unloaded = members.flatMap((member) => member.chips.filter((chip) => !this.registry.has(chip)));
    if (unloaded.length > 0) await this.loadRegistry(unloaded);
    if (members.some(concernsAllChips)) await this.loadStoredVendors();
  }

  /** Whether touchLoaded has all it reads. */
  private touchable(fact: FactRow): boolean {
    for (const member of this.membersOf(fact)) {
      for (const chip of member.chips) if (!this.registry.has(chip)) return false;
      if (!this.storedVendors && concernsAllChips(member)) return false;
    }
    return true;
  }

  /** The facts of the fact's entity this batch holds (its entity loaded), and the fact itself. */
  private membersOf(fact: FactRow): FactRow[] {
    const members = fact.entityKey ? [...(this.factsByEntity.get(fact.entityKey)?.values() ?? [])] : [];
    members.push(fact);
    return members;
  }

  private touchLoaded(fact: FactRow, affected: Set<string>): void {
    let all: Map<string, string | undefined> | undefined;
    for (const member of this.membersOf(fact)) {
      if (member.chip) affected.add(member.chip);
      for (const chip of member.chips) if (this.isRegistered(chip)) affected.add(chip);
      if (member.bandScoped) for (const chip of (all ??= this.allChips()).keys()) affected.add(chip);
      if (member.companies.length > 0) {
        for (const [chip, vendor] of (all ??= this.allChips())) {
          const company = vendor?.trim().toLowerCase();
          if (company && member.companies.includes(company)) affected.add(chip);
        }
      }
    }
  }

  /**
   * Registered before this event: in the table, or by a registration fact this batch holds (the registry row itself
   * is only written when the append is recomputed). Whether an append is split across batches must not change what it is said to cause.
   */
  private isRegistered(chip: string): boolean {
    return this.registryChanges.has(chip) ? this.registryChanges.get(chip) !== null : Boolean(this.storedRow(chip)) || this.registrations.has(chip);
  }

  /** Every stored chip and its vendor, once per batch. */
  private async loadStoredVendors(): Promise<void> {
    if (this.storedVendors) return;
    const { rows } = this.stored.registry
      ? await this.tx.query<{ chip: string; vendor: string }>(`SELECT chip, vendor FROM chip_registry`)
      : { rows: [] };
    this.storedVendors = new Map(rows.map((row) => [row.chip, row.vendor]));
    for (const [chip, row] of this.previous?.registryChanges ?? []) {
      if (row) this.storedVendors.set(chip, row.vendor);
      else this.storedVendors.delete(chip);
    }
  }

  /** Every registered chip with its vendor (the registry's, else its registration's in this batch); after loadStoredVendors. */
  private allChips(): Map<string, string | undefined> {
    if (!this.storedVendors) throw new Error('all chips asked for before they were loaded');
    const chips = new Map<string, string | undefined>(this.storedVendors);
    for (const [chip, registration] of this.registrations) if (!chips.has(chip)) chips.set(chip, registeredVendor(registration));
    for (const [chip, row] of this.registryChanges) {
      if (row) chips.set(chip, row.vendor);
      else chips.delete(chip);
    }
    return chips;
  }

  private registryRow(chip: string): RegistryRow | undefined {
    return this.registryChanges.has(chip) ? (this.registryChanges.get(chip) ?? undefined) : this.storedRow(chip);
  }

  /** The stored row, which loadRegistry must have been asked for. */
  private storedRow(chip: string): RegistryRow | undefined {
    const row = this.registry.get(chip);
    if (row === undefined && this.stored.registry) throw new Error(`registry row of ${chip} used before it was loaded`);
    return row ?? undefined;
  }

  private async loadRegistry(chips: readonly string[]): Promise<void> {
    const wanted = [...new Set(chips)].filter((chip) => !this.registry.has(chip));
    const asked: string[] = [];
    for (const chip of wanted) {
      const carried = this.previous?.registryAfter(chip);
      this.registry.set(chip, carried ?? null);
      if (carried === undefined) asked.push(chip);
    }
    if (asked.length === 0 || !this.stored.registry) return;
    const { rows } = await this.tx.query<{ chip: string; vendor: string; model: string; datacenter: boolean; specs: unknown; origin: string | null; tpp: number | null; performance_density: number | null; band: string; band_reason: string; registered_event_id: string; effective_at: Date; recorded_at: Date; updated_at: Date }>(
      `SELECT * FROM chip_registry WHERE chip = ANY ($1::text[])`,
      [asked],
    );
    for (const row of rows) {
      this.registry.set(row.chip, {
        chip: row.chip,
        vendor: row.vendor,
        model: row.model,
        datacenter: row.datacenter,
        specs: row.specs,
        origin: row.origin,
        tpp: row.tpp,
        performanceDensity: row.performance_density,
        band: row.band,
        bandReason: row.band_reason,
        registeredEventId: row.registered_event_id,
        effectiveAt: row.effective_at,
        recordedAt: row.recorded_at,
        updatedAt: row.updated_at,
      });
    }
  }

  /** Makes the chip's registry row from its own current facts (none left: the chip is no longer registered). */
  private async updateRegistry(chip: string, known: Date): Promise<void> {
    await Promise.all([this.loadRegistry([chip]), this.loadOwnFacts([chip])]);
    const selected = chipFactsOf([...(this.ownFacts.get(chip) ?? [])], chip);
    const previous = this.registryRow(chip);
    if (!selected) {
      if (previous) this.registryChanges.set(chip, null);
      return;
    }
    const latest = chipAt(selected, Number.POSITIVE_INFINITY);
    const registration = selected.registration;
    if (!latest) return;
    const classification = classify(latest.specs, latest.datacenter);
    const row: Omit<RegistryRow, 'updatedAt'> = {
      chip,
      vendor: latest.vendor,
      model: latest.model,
      datacenter: latest.datacenter,
      specs: latest.specs ?? null,
      origin: typeof registration.data.origin === 'string' ? registration.data.origin : null,
      tpp: classification.tpp,
      performanceDensity: classification.performanceDensity,
      band: classification.band,
      bandReason: classification.reason,
      registeredEventId: registration.eventId,
      effectiveAt: registration.effectiveAt,
      recordedAt: registration.recordedAt,
    };
    const { updatedAt: _updatedAt, ...before } = previous ?? { updatedAt: null };
    if (!previous || stableJson(before) !== stableJson(row)) this.registryChanges.set(chip, { ...row, updatedAt: known });
  }

  // --- loading ---------------------------------------------------------------------------------------------

  /** The fact's current version (with the rest of its entity loaded), if it has one. */
  private async currentFact(eventId: string): Promise<FactRow | undefined> {
    const cached = this.facts.get(eventId);
    if (cached) return cached;
    await this.loadEntities(await this.loadCurrent('event_id', [eventId], this.loadedTargets));
    return this.facts.get(eventId);
  }

  private async loadEntities(keys: readonly string[]): Promise<void> {
    await this.loadCurrent('entity_key', keys, this.loadedEntities);
  }

  /** Loads the chips' own current facts (registration, specs), by the index over them. */
  private async loadOwnFacts(chips: readonly string[]): Promise<void> {
    await this.loadCurrent('chip', chips, this.ownFactsLoaded);
  }

  /**
   * Loads, once per batch, the current facts whose `column` is one of `keys`, and says which entities they belong to.
   * Each key is looked up by its column's index, whatever the statistics say: tables the projection fills grow far
   * ahead of them (a rebuild's, and any where autovacuum lags or is off), and lookups were planned as scans of every
   * current fact, once per key (`= ANY (…)`: 50 ms a batch at 35 k facts; a bitmap over the whole current-entity
   * index: a worker catching up on 1 M events slowed to a crawl).
   */
  private async loadCurrent(column: keyof typeof CURRENT_FACTS_BY, keys: readonly string[], loaded: Set<string>): Promise<string[]> {
    const wanted = [...new Set(keys)].filter((key) => !loaded.has(key));
    for (const key of wanted) loaded.add(key);
    const rows: FactRow[] = [];
    const asked: string[] = [];
    for (const key of wanted) {
      if (this.previous?.holdsCurrent(column, key)) rows.push(...this.previous.currentFor(column, key).map(carriedRow));
      else asked.push(key);
    }
    if (asked.length > 0 && this.stored.facts) {
      const { rows: stored } = await this.tx.query<FactDbRow>(
        `SELECT ${FACT_ROW_COLUMNS} FROM unnest($1::${column === 'event_id' ? 'uuid' : 'text'}[]) AS wanted(key)
           CROSS JOIN LATERAL (${CURRENT_FACTS_BY[column]}) f
           ${FACT_DATA}
          WHERE f.known_to = 'infinity'`,
        [asked],
      );
      for (const row of stored) rows.push(factFromDb(row));
    }
    this.remember(rows);
    return rows.flatMap((row) => (row.entityKey ? [row.entityKey] : []));
  }

  /** Adds loaded rows unless this batch already has a newer version (or closed it). */
  private remember(rows: readonly FactRow[]): void {
    for (const row of rows) {
      if (this.facts.has(row.eventId)) continue;
      if (this.closedKeys.has(`${row.eventId}|${row.knownFrom.getTime()}`)) continue;
      if (this.newFactIds.has(row.eventId)) continue;
      this.putFact(row);
    }
  }

  /** The events of these facts as recorded (what their corrections apply to), once per batch. */
  private async loadOriginals(eventIds: readonly string[]): Promise<void> {
    const wanted = [...new Set(eventIds)].filter((id) => !this.originals.has(id));
    for (const id of wanted) this.originals.set(id, null);
    if (wanted.length === 0) return;
    const { rows } = await this.tx.query<{ event_id: string; data: Record<string, unknown>; effective_at: Date }>(
      // One index probe per id (see EventStore.getEvents).
      `SELECT e.event_id, e.data, e.effective_at FROM unnest($1::uuid[]) AS wanted(id)
         CROSS JOIN LATERAL (SELECT event_id, data, effective_at FROM events WHERE event_id = wanted.id LIMIT 1) e`,
      [wanted],
    );
    for (const row of rows) this.originals.set(row.event_id, row);
  }

  private async loadCorrections(targetIds: readonly string[]): Promise<void> {
    const wanted = [...new Set(targetIds)].filter((id) => !this.correctionsLoadedFor.has(id));
    for (const id of wanted) this.correctionsLoadedFor.add(id);
    const asked: string[] = [];
    for (const id of wanted) {
      if (!this.previous?.correctionsLoadedFor.has(id)) {
        asked.push(id);
        continue;
      }
      for (const correction of this.previous.correctionsOf(id)) {
        if (!this.corrections.has(correction.correctionId)) this.corrections.set(correction.correctionId, { ...correction, fresh: false, changed: false });
      }
    }
    if (asked.length === 0 || !this.stored.corrections) return;
    const { rows } = await this.tx.query<{ correction_id: string; target_id: string; data: Record<string, unknown> | null; effective_at: Date | null; recorded_at: Date; retracted: boolean }>(
      `SELECT * FROM fact_corrections WHERE target_id = ANY ($1::uuid[])`,
      [asked],
    );
    for (const row of rows) {
      if (this.corrections.has(row.correction_id)) continue;
      this.corrections.set(row.correction_id, {
        correctionId: row.correction_id,
        targetId: row.target_id,
        data: row.data,
        effectiveAt: row.effective_at,
        recordedAt: row.recorded_at,
        retracted: row.retracted,
        fresh: false,
        changed: false,
      });
    }
  }

  private async findCorrection(correctionId: string): Promise<CorrectionRow | undefined> {
    const cached = this.corrections.get(correctionId);
    if (!cached && this.previous?.knowsCorrection(correctionId)) {
      const carried = this.previous.corrections.get(correctionId);
      if (carried) await this.loadCorrections([carried.targetId]);
      return this.corrections.get(correctionId);
    }
    if (cached || !this.stored.corrections || this.correctionIdsLookedUp.has(correctionId)) return cached;
    const { rows } = await this.tx.query<{ target_id: string }>(`SELECT target_id FROM fact_corrections WHERE correction_id = $1`, [correctionId]);
    if (!rows[0]) return undefined;
    await this.loadCorrections([rows[0].target_id]);
    return this.corrections.get(correctionId);
  }

  // --- writing ---------------------------------------------------------------------------------------------

  async flush(): Promise<void> {
    // New facts and knowledge changes (nearly all of a batch's bytes) go by binary COPY: nothing to parse. The rest go
    // as one jsonb parameter per statement, in chunks: a rebuild's batches can outgrow jsonb's 256 MB limit.
    const write = async (sql: string, rows: readonly unknown[]) => {
      for (let start = 0; start < rows.length; start += FLUSH_CHUNK) {
        await this.tx.query(sql, [JSON.stringify(rows.slice(start, start + FLUSH_CHUNK))]);
      }
    };
    // A version replaced at the very time it became known was never visible: remove it rather than close it
    // (happens when one append's events are split across two batches).
    const empty = (row: { knownFrom: Date; knownTo: Date | null }) => row.knownTo !== null && row.knownTo.getTime() <= row.knownFrom.getTime();
    const vanishedFacts = this.closedFacts.filter(empty);
    if (vanishedFacts.length > 0) {
      await write(
        `DELETE FROM policy_facts f USING jsonb_to_recordset($1::jsonb) AS c(event_id uuid, known_from timestamptz)
          WHERE f.event_id = c.event_id AND f.known_from = c.known_from`,
        vanishedFacts.map((f) => ({ event_id: f.eventId, known_from: f.knownFrom })),
      );
    }
    const closedFacts = this.closedFacts.filter((row) => !empty(row));
    if (closedFacts.length > 0) {
      await write(
        `UPDATE policy_facts f SET known_to = c.known_to
           FROM jsonb_to_recordset($1::jsonb) AS c(event_id uuid, known_from timestamptz, known_to timestamptz)
          WHERE f.event_id = c.event_id AND f.known_from = c.known_from`,
        closedFacts.map((f) => ({ event_id: f.eventId, known_from: f.knownFrom, known_to: f.knownTo })),
      );
    }
    const inserts = this.newFacts.filter((f) => !empty(f));
    if (inserts.length > 0) {
      await copyBinaryRows(
        this.tx,
        `COPY policy_facts (${FACT_COLUMNS}, known_to) FROM STDIN WITH (FORMAT binary)`,
        inserts,
        (f, out) =>
          out
            .row(13).uuid(f.eventId).timestamp(f.knownFrom).text(f.type).nullableText(f.entityKey).nullableText(f.chip)
            .nullableUuid(f.dataFrom).timestamp(f.effectiveAt).timestamp(f.recordedAt).uuidArray(f.correctedBy ?? [])
            .textArray(f.chips).textArray(f.companies).bool(f.bandScoped).timestamp(f.knownTo),
      );
    }
    const corrections = [...this.corrections.values()].filter((c) => c.changed);
    if (corrections.length > 0) {
      await write(
        `INSERT INTO fact_corrections (correction_id, target_id, data, effective_at, recorded_at, retracted)
         SELECT correction_id, target_id, data, effective_at, recorded_at, retracted FROM jsonb_to_recordset($1::jsonb) AS r(
           correction_id uuid, target_id uuid, data jsonb, effective_at timestamptz, recorded_at timestamptz, retracted boolean)
         ON CONFLICT (correction_id) DO UPDATE SET retracted = EXCLUDED.retracted`,
        corrections.map((c) => ({
          correction_id: c.correctionId,
          target_id: c.targetId,
          data: c.data,
          effective_at: c.effectiveAt,
          recorded_at: c.recordedAt,
          retracted: c.retracted,
        })),
      );
    }
    if (this.knowledgeChanges.size > 0) {
      await copyBinaryRows(
        this.tx,
        `COPY knowledge_changes (event_id, known_at, chips) FROM STDIN WITH (FORMAT binary)`,
        [...this.knowledgeChanges],
        ([eventId, change], out) => out.row(3).uuid(eventId).timestamp(change.knownAt).textArray(change.chips),
      );
    }
    const removed = [...this.registryChanges].filter(([, row]) => row === null).map(([chip]) => chip);
    if (removed.length > 0) await this.tx.query(`DELETE FROM chip_registry WHERE chip = ANY ($1)`, [removed]);
    const upserts = [...this.registryChanges.values()].filter((row): row is RegistryRow => row !== null);
    if (upserts.length > 0) {
      await write(
        `INSERT INTO chip_registry (chip, vendor, model, datacenter, specs, origin, tpp, performance_density, band, band_reason,
                                    registered_event_id, effective_at, recorded_at, updated_at)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(chip text, vendor text, model text, datacenter boolean, specs jsonb,
           origin text, tpp double precision, performance_density double precision, band text, band_reason text,
           registered_event_id uuid, effective_at timestamptz, recorded_at timestamptz, updated_at timestamptz)
         ON CONFLICT (chip) DO UPDATE SET vendor = EXCLUDED.vendor, model = EXCLUDED.model, datacenter = EXCLUDED.datacenter,
           specs = EXCLUDED.specs, origin = EXCLUDED.origin, tpp = EXCLUDED.tpp, performance_density = EXCLUDED.performance_density,
           band = EXCLUDED.band, band_reason = EXCLUDED.band_reason, registered_event_id = EXCLUDED.registered_event_id,
           effective_at = EXCLUDED.effective_at, recorded_at = EXCLUDED.recorded_at, updated_at = EXCLUDED.updated_at`,
        upserts.map((r) => ({
          chip: r.chip,
          vendor: r.vendor,
          model: r.model,
          datacenter: r.datacenter,
          specs: r.specs,
          origin: r.origin,
          tpp: r.tpp,
          performance_density: r.performanceDensity,
          band: r.band,
          band_reason: r.bandReason,
          registered_event_id: r.registeredEventId,
          effective_at: r.effectiveAt,
          recorded_at: r.recordedAt,
          updated_at: r.updatedAt,
        })),
      );
    }
  }
}
