import {
  ANY_DESTINATION,
  changeStretches,
  destinationsNamed,
  factsForChip,
  intervalAt,
  jsonEqual,
  statusTimeline,
  type Fact,
  type StatusAnswer,
  type StatusInterval,
  type TimelineStretch,
} from '@chiptrail/domain';
import type { Sql } from '@chiptrail/db';
import { FACT_DATA, FACT_VERSIONS, STORED_FACT_COLUMNS, VERSION_DATA, storedFact } from './policy.projection';

type Selected = NonNullable<ReturnType<typeof factsForChip>>;

/**
 * What was known about one chip at one knowledge time: the facts that concern it and, computed from them when first
 * asked, each destination's status timeline. Status answers are derived here at read time, by the same rules the
 * projection applies, from the facts as known then.
 */
export class ChipKnowledge {
  private readonly named: ReadonlySet<string>;
  private readonly timelines = new Map<string, readonly StatusInterval[]>();

  constructor(
    private readonly selected: Selected,
    /** The read model's latest knowledge change when this was read: for knowledge times from it on, nothing differs. */
    readonly horizon: number,
  ) {
    this.named = new Set(destinationsNamed(selected.policy));
  }

  /** Every destination with a timeline of its own, "*" (every other destination) first. */
  get destinations(): string[] {
    return [...this.named].sort();
  }

  /** The destination's own timeline, or that of "*" when no fact names it. */
  timeline(destination: string): readonly StatusInterval[] {
    const key = this.named.has(destination) ? destination : ANY_DESTINATION;
    let timeline = this.timelines.get(key);
    if (!timeline) {
      timeline = statusTimeline(this.selected.chipFacts, this.selected.policy, key);
      this.timelines.set(key, timeline);
    }
    return timeline;
  }

  /** The interval of the destination's timeline that holds at valid time `asOf`. */
  interval(destination: string, asOf: Date): StatusInterval | undefined {
    return intervalAt(this.timeline(destination), asOf);
  }

  answer(destination: string, asOf: Date): StatusAnswer | undefined {
    return this.interval(destination, asOf)?.answer;
  }

  /** The facts the answers stand on, as the chip's own history and every policy entity that concerns it. */
  get facts(): Fact[] {
    const { chipFacts, policy } = this.selected;
    return [
      ...chipFacts.facts,
      ...[...policy.measures, ...policy.licenses, ...policy.advisories, ...policy.investigations].flatMap((entity) => [
        entity.start,
        ...entity.amendments,
        ...(entity.end ? [entity.end] : []),
      ]),
    ];
  }
}

/** A (chip, destination) whose timeline differs between two states of knowledge, as both sides' stretches. */
export interface StatusChange {
  readonly chip: string;
  readonly destination: string;
  readonly knownAt: Date;
  readonly before: readonly TimelineStretch[];
  readonly after: readonly TimelineStretch[];
}

/**
 * What new knowledge at `knownAt` changed in a chip's timelines: every destination with a timeline of its own on
 * either side (and "*"), compared with what it had just before (a destination without rules of its own has the "*"
 * one; an unknown chip has none).
 */
export function statusChanges(chip: string, knownAt: Date, before: ChipKnowledge | undefined, after: ChipKnowledge | undefined): StatusChange[] {
  const destinations = [...new Set([...(before?.destinations ?? []), ...(after?.destinations ?? [])])].sort();
  const changes: StatusChange[] = [];
  for (const destination of destinations) {
    const was = before?.timeline(destination) ?? [];
    const is = after?.timeline(destination) ?? [];
    if (sameTimeline(was, is)) continue;
    changes.push({ chip, destination, knownAt, before: changeStretches(was, knownAt, 'before'), after: changeStretches(is, knownAt, 'after') });
  }
  return changes;
}

function sameTimeline(a: readonly StatusInterval[], b: readonly StatusInterval[]): boolean {
  const time = (value: Date | null) => value?.getTime() ?? null;
  return (
    a.length === b.length &&
    a.every((interval, index) => {
      const other = b[index] as StatusInterval;
      return time(interval.validFrom) === time(other.validFrom) && time(interval.validTo) === time(other.validTo) && jsonEqual(interval.answer, other.answer);
    })
  );
}

/** Reads what was known about chips, at any knowledge time, from the policy facts. */
export class ChipKnowledgeReader {
  constructor(private readonly db: Sql) {}

  /**
   * What was known about `chip` at `knownAt` ('current': everything recorded so far, whatever the clocks say);
   * undefined when it was not registered then.
   */
  async at(chip: string, knownAt: Date | 'current'): Promise<ChipKnowledge | undefined> {
    let vendor = await this.registeredVendor(chip, knownAt);
    for (let attempt = 1; vendor !== undefined; attempt += 1) {
      const { facts, horizon } = await this.factsConcerning(chip, vendor, knownAt);
      const selected = factsForChip(facts, chip);
      if (!selected) return undefined;
      // Its vendor corrected between the two reads (only current knowledge can change): read again with the new one.
      const registered = normalVendor(selected.chipFacts.facts.find((fact) => fact.type === 'ChipRegistered')?.data.vendor);
      if (registered === vendor || attempt === 3) return new ChipKnowledge(selected, horizon);
      vendor = registered;
    }
    return undefined;
  }

  /** The vendor of the chip's registration known at `knownAt`, as facts name companies (trimmed, lower case). */
  async registeredVendor(chip: string, knownAt: Date | 'current'): Promise<string | undefined> {
    const { rows } = await this.db.query<{ vendor: unknown }>({
      name: 'chip_registered_vendor',
      text: `SELECT ${VERSION_DATA} -> 'vendor' AS vendor FROM ${FACT_VERSIONS}
              WHERE f.chip = $1 AND f.type = 'ChipRegistered' AND f.known_from <= $2 AND (f.known_to > $2 OR f.known_to = 'infinity')`,
      values: [chip, instant(knownAt)],
    });
    return rows[0] ? normalVendor(rows[0].vendor) : undefined;
  }

  /**
   * Every fact version known at `knownAt` that may concern the chip (naming it, about its vendor, band-wide) and the
   * rest of their entities, in log order: what factsForChip picks from. With them, in the same snapshot, the read
   * model's latest knowledge change.
   */
  async factsConcerning(chip: string, vendor: string, knownAt: Date | 'current'): Promise<{ facts: Fact[]; horizon: number }> {
    const { rows } = await this.db.query<Parameters<typeof storedFact>[0] & { horizon: Date | null }>({
      name: 'chip_facts_concerning',
      // Each branch one index: the partial ones over current versions, and the one over closed versions for those
      // closed after knownAt (corrections and retractions close them; few). With the conditions joined by OR the
      // planner scanned every fact version, twice: 45 ms at 88 k facts, growing with the log. The horizon's two
      // maxima are one index lookup each.
      text: `WITH candidates AS MATERIALIZED (
         SELECT event_id, entity_key FROM policy_facts WHERE known_to = 'infinity' AND known_from <= $2 AND chips @> ARRAY[$1]::text[]
         UNION SELECT event_id, entity_key FROM policy_facts WHERE known_to = 'infinity' AND known_from <= $2 AND companies @> ARRAY[$3]::text[]
         UNION SELECT event_id, entity_key FROM policy_facts WHERE known_to = 'infinity' AND known_from <= $2 AND band_scoped
         UNION SELECT event_id, entity_key FROM policy_facts
                WHERE known_to <> 'infinity' AND known_to > $2 AND known_from <= $2
                  AND (chips @> ARRAY[$1]::text[] OR companies @> ARRAY[$3]::text[] OR band_scoped)
       ), entities AS (SELECT DISTINCT entity_key FROM candidates WHERE entity_key IS NOT NULL),
       concerned AS (
         SELECT event_id FROM candidates
         UNION SELECT f.event_id FROM policy_facts f JOIN entities USING (entity_key) WHERE f.known_to = 'infinity' AND f.known_from <= $2
         UNION SELECT f.event_id FROM policy_facts f JOIN entities USING (entity_key) WHERE f.known_to <> 'infinity' AND f.known_to > $2 AND f.known_from <= $2
       )
       SELECT ${STORED_FACT_COLUMNS},
              greatest((SELECT max(known_from) FROM policy_facts), (SELECT max(known_to) FROM policy_facts WHERE known_to <> 'infinity')) AS horizon
         FROM concerned JOIN policy_facts f ON f.event_id = concerned.event_id AND f.known_from <= $2 AND (f.known_to > $2 OR f.known_to = 'infinity')
         ${FACT_DATA}
        -- Log order: events at the same instants are listed as they were recorded.
        ORDER BY e.global_position`,
      values: [chip, instant(knownAt), vendor],
    });
    return { facts: rows.map(storedFact), horizon: rows[0]?.horizon?.getTime() ?? Number.POSITIVE_INFINITY };
  }
}

/** 'current' reads as the timestamp infinity: every version recorded so far, and only the versions still current. */
function instant(knownAt: Date | 'current'): Date | string {
  return knownAt === 'current' ? 'infinity' : knownAt;
}

function normalVendor(vendor: unknown): string {
  return String(vendor ?? '').trim().toLowerCase();
}
