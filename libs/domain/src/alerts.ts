import { z } from 'zod';
import { ANY_DESTINATION, isCountry } from './countries';
import { AUTHORITY, POLICY_EVENT_TYPES, chipSlug, type Condition } from './policy-events';
import { stableJson, type BasisEvent, type ExportAnswer, type ImportAnswer, type StatusAnswer, type StatusInterval } from './status';

/**
 * What subscribers are told, and when: pure rules for matching alerts to subscriptions, the retry schedule, the
 * summary of a status change, and digest grouping.
 */

export const SYSTEM_EVENT_TYPES = ['FeedHealthChanged', 'SubscriptionDisabled'] as const;

export const subscriptionFiltersSchema = z
  .object({
    chips: z.array(chipSlug).max(500).optional(),
    eccnBands: z.array(z.enum(['3A090.a', '3A090.b', 'none', 'unknown'])).max(4).optional(),
    destinations: z.array(z.string().refine(isCountry, { message: 'must be an ISO 3166-1 alpha-2 country code' })).max(300).optional(),
    authorities: z.array(z.string().regex(AUTHORITY, 'must look like US-BIS')).max(50).optional(),
    eventTypes: z.array(z.enum([...POLICY_EVENT_TYPES, ...SYSTEM_EVENT_TYPES] as unknown as [string, ...string[]])).max(50).optional(),
    /** What to be told about: status changes (the default) and/or every recorded event matching the filters. */
    include: z.array(z.enum(['status_changes', 'events'])).min(1).max(2).optional(),
  })
  .strict();

export type SubscriptionFilters = z.infer<typeof subscriptionFiltersSchema>;

/** What an alert is about, for matching against filters. */
export interface AlertSubject {
  readonly kind: 'status_change' | 'event';
  readonly chips: readonly string[];
  readonly bands: readonly string[];
  readonly destinations: readonly string[];
  readonly authorities: readonly string[];
  readonly eventTypes: readonly string[];
}

/** Every filter a subscription sets must be met; a filter left out matches everything. */
export function matchesFilters(filters: SubscriptionFilters, subject: AlertSubject): boolean {
  const include = filters.include ?? ['status_changes'];
  if (subject.kind === 'status_change' && !include.includes('status_changes')) return false;
  if (subject.kind === 'event' && !include.includes('events')) return false;
  const meets = (wanted: readonly string[] | undefined, actual: readonly string[]) =>
    !wanted || wanted.length === 0 || wanted.some((value) => actual.includes(value));
  return (
    meets(filters.chips, subject.chips) &&
    meets(filters.eccnBands, subject.bands) &&
    meets(filters.destinations, subject.destinations) &&
    meets(filters.authorities, subject.authorities) &&
    meets(filters.eventTypes, subject.eventTypes)
  );
}

/**
 * Whether a status change of `chip` could meet the filters at all, judged by what is known before the change is
 * worked out (the chip, and whether status changes are wanted): the dispatcher skips chips nobody could be told about.
 */
export function mayMatchStatusChangeOf(filters: SubscriptionFilters, chip: string): boolean {
  const known: SubscriptionFilters = { ...(filters.include ? { include: filters.include } : {}), ...(filters.chips ? { chips: filters.chips } : {}) };
  return matchesFilters(known, { kind: 'status_change', chips: [chip], bands: [], destinations: [], authorities: [], eventTypes: [] });
}

// ---------------------------------------------------------------------------------------------------------------
// Retries, like Svix: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each ±20 %.

export const RETRY_SCHEDULE_MS: readonly number[] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length + 1;
/** Rate limits and timeouts wait at least this long. */
export const SLOW_DOWN_MS = 60_000;
/** An endpoint failing for this long without a single success is disabled. */
export const DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;

export type DeliveryFailure =
  | { kind: 'http'; status: number }
  | { kind: 'rate_limited'; retryAfterMs?: number }
  | { kind: 'timeout' }
  | { kind: 'network'; message: string }
  | { kind: 'gone' };

/**
 * How long to wait before the next attempt after `attemptsMade` attempts failed, or null to give up.
 * `random` in [0, 1) is an input so the schedule is testable; 0.5 means no jitter.
 */
export function nextRetryDelay(attemptsMade: number, failure: DeliveryFailure, random: number): number | null {
  if (failure.kind === 'gone') return null;
  if (attemptsMade < 1 || attemptsMade >= MAX_ATTEMPTS) return null;
  const base = RETRY_SCHEDULE_MS[attemptsMade - 1] as number;
  const jittered = Math.round(base * (0.8 + 0.4 * Math.min(Math.max(random, 0), 1)));
  if (failure.kind === 'rate_limited') return Math.max(jittered, SLOW_DOWN_MS, failure.retryAfterMs ?? 0);
  if (failure.kind === 'timeout') return Math.max(jittered, SLOW_DOWN_MS);
  return jittered;
}

// ---------------------------------------------------------------------------------------------------------------
// Status changes.

/**
 * What an alert uses of an answer: the status, the events it stands on, the band. The policy projection records
 * only this for each stretch before and after a change (whole answers, with classification details and
 * investigations, made that table the largest thing it writes). A summary cites the basis of one stretch only
 * (see `referenceStretch`), so the others are recorded with an empty basis.
 */
export interface ChangeAnswer {
  readonly export: Pick<ExportAnswer, 'status' | 'licensePolicy' | 'conditions' | 'basis'>;
  readonly import: Pick<ImportAnswer, 'status' | 'basis'>;
  readonly classification: { readonly band: string };
}

export function changeAnswer(answer: StatusAnswer, withBasis = true): ChangeAnswer {
  return {
    export: { status: answer.export.status, licensePolicy: answer.export.licensePolicy, conditions: answer.export.conditions, basis: withBasis ? answer.export.basis : [] },
    import: { status: answer.import.status, basis: withBasis ? answer.import.basis : [] },
    classification: { band: answer.classification.band },
  };
}

/**
 * The stretch of one side of a change whose basis and band a summary cites: the one in force when the change became
 * known, else (for the timeline after) the last one.
 */
export function referenceStretch<T extends { readonly validFrom: string | null; readonly validTo: string | null }>(
  stretches: readonly T[],
  knownAt: Date,
  side: 'before' | 'after',
): T | undefined {
  return at(stretches, knownAt.getTime()) ?? (side === 'after' ? stretches[stretches.length - 1] : undefined);
}

/** One stretch of a (chip, destination) timeline, as a status change compares it before and after. */
export interface TimelineStretch {
  readonly validFrom: string | null;
  readonly validTo: string | null;
  readonly answer: ChangeAnswer;
}

/**
 * One side of a (chip, destination) status change known at `knownAt`: its timeline as stretches, of which only the
 * reference one (see referenceStretch) keeps the events it stands on, which is all a summary cites.
 */
export function changeStretches(timeline: readonly StatusInterval[], knownAt: Date, side: 'before' | 'after'): TimelineStretch[] {
  const spans = timeline.map((interval) => ({ validFrom: interval.validFrom?.toISOString() ?? null, validTo: interval.validTo?.toISOString() ?? null, answer: interval.answer }));
  const reference = referenceStretch(spans, knownAt, side);
  return spans.map((span) => ({ validFrom: span.validFrom, validTo: span.validTo, answer: changeAnswer(span.answer, span === reference) }));
}

export interface StatusView {
  readonly export: { readonly status: string; readonly licensePolicy: string | null; readonly conditions: readonly Condition[] };
  readonly import: { readonly status: string };
}

export interface StatusChangeSummary {
  readonly chip: string;
  readonly destination: string;
  readonly knownAt: string;
  /** The status at the moment the change was recorded, before and after (null: the chip was not known before). */
  readonly now: { readonly before: StatusView | null; readonly after: StatusView | null; readonly changed: boolean };
  /** Every stretch of valid time whose status differs, past and future. */
  readonly periods: ReadonlyArray<{ readonly validFrom: string | null; readonly validTo: string | null; readonly before: StatusView | null; readonly after: StatusView | null }>;
  /** Changes that take effect later: a reminder fires when each does. */
  readonly upcoming: ReadonlyArray<{ readonly effectiveAt: string; readonly status: StatusView }>;
  readonly basis: readonly BasisEvent[];
  readonly band: string;
}

export function statusView(answer: ChangeAnswer): StatusView {
  return {
    export: { status: answer.export.status, licensePolicy: answer.export.licensePolicy, conditions: answer.export.conditions },
    import: { status: answer.import.status },
  };
}

function at<T extends { readonly validFrom: string | null; readonly validTo: string | null }>(stretches: readonly T[], time: number): T | undefined {
  return stretches.find(
    (s) => (s.validFrom === null || Date.parse(s.validFrom) <= time) && (s.validTo === null || time < Date.parse(s.validTo)),
  );
}

/**
 * Compares a (chip, destination) timeline before and after new knowledge. Undefined when no status (export or
 * import status, licence policy, conditions) changes at any valid time: only the details (titles, basis) did.
 */
export function summarizeStatusChange(input: {
  chip: string;
  destination: string;
  knownAt: Date;
  before: readonly TimelineStretch[];
  after: readonly TimelineStretch[];
}): StatusChangeSummary | undefined {
  const points = new Set<number>([Number.NEGATIVE_INFINITY]);
  for (const stretch of [...input.before, ...input.after]) if (stretch.validFrom) points.add(Date.parse(stretch.validFrom));
  const sorted = [...points].sort((a, b) => a - b);
  const periods: Array<{ validFrom: string | null; validTo: string | null; before: StatusView | null; after: StatusView | null }> = [];
  sorted.forEach((point, index) => {
    const probe = point === Number.NEGATIVE_INFINITY ? (sorted[1] ?? 0) - 1 : point;
    const before = at(input.before, probe);
    const after = at(input.after, probe);
    const beforeView = before ? statusView(before.answer) : null;
    const afterView = after ? statusView(after.answer) : null;
    if (stableJson(beforeView) === stableJson(afterView)) return;
    const validFrom = point === Number.NEGATIVE_INFINITY ? null : new Date(point).toISOString();
    const next = sorted[index + 1];
    const validTo = next === undefined ? null : new Date(next).toISOString();
    const last = periods[periods.length - 1];
    if (last && last.validTo === validFrom && stableJson([last.before, last.after]) === stableJson([beforeView, afterView])) {
      last.validTo = validTo;
    } else {
      periods.push({ validFrom, validTo, before: beforeView, after: afterView });
    }
  });
  if (periods.length === 0) return undefined;
  const now = input.knownAt.getTime();
  const beforeNow = at(input.before, now);
  const afterNow = at(input.after, now);
  const nowBefore = beforeNow ? statusView(beforeNow.answer) : null;
  const nowAfter = afterNow ? statusView(afterNow.answer) : null;
  const upcoming = input.after
    .filter((stretch) => stretch.validFrom !== null && Date.parse(stretch.validFrom) > now)
    .filter((stretch, index, list) => {
      const previous = index === 0 ? afterNow : list[index - 1];
      return !previous || stableJson(statusView(previous.answer)) !== stableJson(statusView(stretch.answer));
    })
    .map((stretch) => ({ effectiveAt: stretch.validFrom as string, status: statusView(stretch.answer) }));
  const reference = referenceStretch(input.after, input.knownAt, 'after') ?? referenceStretch(input.before, input.knownAt, 'before');
  return {
    chip: input.chip,
    destination: input.destination,
    knownAt: input.knownAt.toISOString(),
    now: { before: nowBefore, after: nowAfter, changed: stableJson(nowBefore) !== stableJson(nowAfter) },
    periods,
    upcoming,
    basis: reference ? [...reference.answer.export.basis, ...reference.answer.import.basis] : [],
    band: reference?.answer.classification.band ?? 'unknown',
  };
}

/** The authorities and event types a status change stands on, for matching filters. */
export function statusChangeSubject(change: StatusChangeSummary, causes: ReadonlyArray<{ type: string; authority: string | null }>, destination: string): AlertSubject {
  return {
    kind: 'status_change',
    chips: [change.chip],
    bands: [change.band],
    destinations: destination === ANY_DESTINATION ? [] : [destination],
    authorities: [...new Set([...change.basis.map((b) => b.authority), ...causes.map((c) => c.authority)].filter((a): a is string => Boolean(a)))],
    eventTypes: [...new Set(causes.map((cause) => cause.type))],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Daily digests.

export interface DigestEntry {
  readonly type: string;
  readonly occurredAt: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The day's alerts grouped by chip and destination (status changes) and by type (everything else), oldest first. */
export function groupDigest(entries: readonly DigestEntry[]) {
  const sorted = [...entries].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
  const byPair = new Map<string, { chip: string; destination: string; changes: DigestEntry[] }>();
  const other = new Map<string, DigestEntry[]>();
  for (const entry of sorted) {
    const chip = typeof entry.data.chip === 'string' ? entry.data.chip : undefined;
    const destination = typeof entry.data.destination === 'string' ? entry.data.destination : undefined;
    if (entry.type.startsWith('chip.status') && chip && destination) {
      const key = `${chip}|${destination}`;
      const group = byPair.get(key) ?? { chip, destination, changes: [] };
      group.changes.push(entry);
      byPair.set(key, group);
    } else {
      other.set(entry.type, [...(other.get(entry.type) ?? []), entry]);
    }
  }
  return {
    total: entries.length,
    statusChanges: [...byPair.values()].sort((a, b) => a.chip.localeCompare(b.chip) || a.destination.localeCompare(b.destination)),
    otherAlerts: [...other].map(([type, list]) => ({ type, entries: list })),
  };
}
