import { isEntityEventType } from './policy-decider';
import { parseInstant, type PolicyEventType, type Source } from './policy-events';
import { ANY_DESTINATION } from './countries';
import { destinationsNamed, factsForChip, statusTimeline, type Fact, type StatusInterval, type UnsourcedFact } from './status';

/** An event as recorded in the log: both time axes and its provenance. */
export interface LoggedEvent {
  readonly id: string;
  readonly type: PolicyEventType;
  readonly data: Readonly<Record<string, unknown>>;
  readonly effectiveAt: Date;
  readonly recordedAt: Date;
  readonly source: Source;
}

/**
 * The facts we knew at `knownAt`: events recorded by then, minus those retracted by then, with the corrections
 * recorded by then applied (the latest correction of each field wins; retracting a correction undoes it).
 * History is never rewritten: asking about an earlier `knownAt` gives the earlier answer.
 */
export function factsKnownAt(log: readonly LoggedEvent[], knownAt: number): Fact[] {
  const known = log
    .filter((event) => event.recordedAt.getTime() <= knownAt)
    .sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime());
  const retracted = new Set<string>();
  for (const event of known) if (event.type === 'EventRetracted') retracted.add(String(event.data.eventId).toLowerCase());
  const corrections = new Map<string, LoggedEvent[]>();
  for (const event of known) {
    if (event.type !== 'EventCorrected' || retracted.has(event.id)) continue;
    const target = String(event.data.eventId).toLowerCase();
    corrections.set(target, [...(corrections.get(target) ?? []), event]);
  }
  const facts: Fact[] = [];
  for (const event of known) {
    if (!isEntityEventType(event.type) || retracted.has(event.id)) continue;
    facts.push(applyCorrections(event, corrections.get(event.id) ?? []));
  }
  return facts;
}

/** An event without its source, as the policy projection reads the log (see UnsourcedFact). */
export type UnsourcedEvent = Omit<LoggedEvent, 'source'>;

/** The fact an event states, with its corrections applied in order; a fact from an event without a source has none. */
export function applyCorrections(event: LoggedEvent, corrections: readonly UnsourcedEvent[]): Fact;
export function applyCorrections(event: UnsourcedEvent, corrections: readonly UnsourcedEvent[]): UnsourcedFact;
export function applyCorrections(event: UnsourcedEvent & { readonly source?: Source }, corrections: readonly UnsourcedEvent[]): UnsourcedFact {
  let data = event.data;
  let effectiveAt = event.effectiveAt;
  for (const correction of corrections) {
    if (correction.data.data !== undefined) data = correction.data.data as Record<string, unknown>;
    if (typeof correction.data.effectiveAt === 'string') effectiveAt = parseInstant(correction.data.effectiveAt) ?? effectiveAt;
  }
  // Optional fields set after, not spread in: spreading cost two objects and a copy per fact, for every event a
  // rebuild applies.
  const fact: { -readonly [K in keyof Fact]?: Fact[K] } & UnsourcedFact = { eventId: event.id, type: event.type as Fact['type'], data, effectiveAt, recordedAt: event.recordedAt };
  if (event.source !== undefined) fact.source = event.source;
  if (corrections.length > 0) fact.correctedBy = corrections.map((c) => c.id);
  return fact;
}

/**
 * The answer for (chip, destination) at valid time `asOf` as known at `knownAt`, straight from the log: the
 * reference the projection's stored intervals must agree with. Undefined when the chip was not known then.
 */
export function statusFromLog(
  log: readonly LoggedEvent[],
  chip: string,
  destination: string,
  asOf: Date,
  knownAt: Date,
): StatusInterval | undefined {
  const selected = factsForChip(factsKnownAt(log, knownAt.getTime()), chip);
  if (!selected) return undefined;
  const named = destinationsNamed(selected.policy);
  return intervalAt(statusTimeline(selected.chipFacts, selected.policy, named.includes(destination) ? destination : ANY_DESTINATION), asOf);
}

/** The interval of a timeline that holds at valid time `asOf`. */
export function intervalAt(timeline: readonly StatusInterval[], asOf: Date): StatusInterval | undefined {
  const t = asOf.getTime();
  return timeline.find(
    (interval) => (interval.validFrom === null || interval.validFrom.getTime() <= t) && (interval.validTo === null || t < interval.validTo.getTime()),
  );
}
