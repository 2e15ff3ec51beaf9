import { classify, type Classification, type ChipSpecs } from './classification';
import { ANY_DESTINATION } from './countries';
import { assertNever } from './errors';
import {
  parseInstant,
  type Condition,
  type LicensePolicy,
  type PolicyEventType,
  type Requirement,
  type Source,
} from './policy-events';

/**
 * Status rules. Everything here is a pure function of "facts": policy events as known at some knowledge time K
 * (retracted ones removed, corrections applied). The projection evaluates them whenever what we know changes and
 * stores the resulting valid-time timeline, so an as-of question on both axes is a lookup.
 */

export type ExportStatus = 'prohibited' | 'licensed' | 'license_required' | 'notification_required' | 'unrestricted';
export type ImportStatus = 'prohibited' | 'discouraged' | 'open';
export const EXPORT_STATUSES: readonly ExportStatus[] = ['prohibited', 'licensed', 'license_required', 'notification_required', 'unrestricted'];
export const IMPORT_STATUSES: readonly ImportStatus[] = ['prohibited', 'discouraged', 'open'];

export interface Fact {
  readonly eventId: string;
  readonly type: Exclude<PolicyEventType, 'EventRetracted' | 'EventCorrected'>;
  readonly data: Readonly<Record<string, unknown>>;
  readonly effectiveAt: Date;
  readonly recordedAt: Date;
  readonly source: Source;
  /** Corrections applied to this fact, if any (their ids). */
  readonly correctedBy?: readonly string[];
}

/**
 * A fact without the source it stands on: what the policy projection keeps, which cites nothing (readers take
 * sources from the log).
 */
export type UnsourcedFact = Omit<Fact, 'source'>;

export interface BasisEvent {
  readonly eventId: string;
  readonly type: string;
  readonly effectiveAt: string;
  readonly recordedAt: string;
  readonly authority: string | null;
  readonly title: string | null;
  readonly source: Source;
  readonly correctedBy?: readonly string[];
}

export interface ExportAnswer {
  readonly status: ExportStatus;
  readonly since: string | null;
  readonly licensePolicy: LicensePolicy | null;
  readonly conditions: readonly Condition[];
  readonly basis: readonly BasisEvent[];
  /** What the answer could not take into account, e.g. band-based controls for a chip whose band is unknown. */
  readonly warnings: readonly string[];
}

export interface ImportAnswer {
  readonly status: ImportStatus;
  readonly since: string | null;
  readonly basis: readonly BasisEvent[];
}

export interface InvestigationView {
  readonly investigationId: string;
  readonly authority: string;
  readonly kind: string;
  readonly title: string;
  readonly openedAt: string;
  readonly basis: BasisEvent;
}

export interface StatusAnswer {
  readonly classification: Classification;
  readonly export: ExportAnswer;
  readonly import: ImportAnswer;
  readonly investigations: readonly InvestigationView[];
}

export interface StatusInterval {
  /** Inclusive start in valid time; null means "since always". */
  readonly validFrom: Date | null;
  /** Exclusive end in valid time; null means "until further notice". */
  readonly validTo: Date | null;
  readonly answer: StatusAnswer;
}

// ---------------------------------------------------------------------------------------------------------------
// Facts grouped into the entities they describe.

interface Lifecycle {
  readonly id: string;
  readonly start: Fact;
  readonly amendments: readonly Fact[];
  readonly end: Fact | undefined;
}

export interface ChipFacts<F extends UnsourcedFact = Fact> {
  readonly chip: string;
  readonly facts: readonly F[];
}

export interface PolicyFacts {
  readonly measures: readonly Lifecycle[];
  readonly licenses: readonly Lifecycle[];
  readonly advisories: readonly Lifecycle[];
  readonly investigations: readonly Lifecycle[];
}

const byEffective = (a: UnsourcedFact, b: UnsourcedFact) =>
  a.effectiveAt.getTime() - b.effectiveAt.getTime() || a.recordedAt.getTime() - b.recordedAt.getTime() || a.eventId.localeCompare(b.eventId);

/** Groups facts into measures, licences, advisories and investigations (facts without a start are ignored). */
export function groupFacts(facts: readonly Fact[]): PolicyFacts {
  const groups = new Map<string, Fact[]>();
  for (const fact of facts) {
    const key = entityKey(fact);
    if (!key) continue;
    const list = groups.get(key) ?? [];
    list.push(fact);
    groups.set(key, list);
  }
  const lifecycles = (kind: string, start: PolicyEventType, amend: PolicyEventType | null, end: PolicyEventType): Lifecycle[] => {
    const result: Lifecycle[] = [];
    for (const [key, list] of groups) {
      if (!key.startsWith(`${kind}:`)) continue;
      const sorted = [...list].sort(byEffective);
      const startFact = sorted.find((fact) => fact.type === start);
      if (!startFact) continue;
      result.push({
        id: key.slice(kind.length + 1),
        start: startFact,
        amendments: amend ? sorted.filter((fact) => fact.type === amend) : [],
        end: sorted.find((fact) => fact.type === end),
      });
    }
    return result.sort((a, b) => byEffective(a.start, b.start));
  };
  return {
    measures: lifecycles('measure', 'ControlImposed', 'ControlAmended', 'ControlLifted'),
    licenses: lifecycles('license', 'LicenseGranted', 'LicenseAmended', 'LicenseRevoked'),
    advisories: lifecycles('advisory', 'AdvisoryIssued', null, 'AdvisoryWithdrawn'),
    investigations: lifecycles('investigation', 'InvestigationOpened', null, 'InvestigationConcluded'),
  };
}

function entityKey(fact: UnsourcedFact): string | undefined {
  switch (fact.type) {
    case 'ControlImposed':
    case 'ControlAmended':
    case 'ControlLifted':
      return `measure:${String(fact.data.measureId)}`;
    case 'LicenseGranted':
    case 'LicenseAmended':
    case 'LicenseRevoked':
      return `license:${String(fact.data.licenseId)}`;
    case 'AdvisoryIssued':
    case 'AdvisoryWithdrawn':
      return `advisory:${String(fact.data.advisoryId)}`;
    case 'InvestigationOpened':
    case 'InvestigationConcluded':
      return `investigation:${String(fact.data.investigationId)}`;
    case 'ChipRegistered':
    case 'ChipSpecsUpdated':
      return undefined;
    default:
      return assertNever(fact.type, 'fact type');
  }
}

type Active = { params: Record<string, unknown>; basis: Fact[] };

/** The value kept under `key`, made and kept on first use (undefined values are kept too). */
function memo<K, V>(cache: { has(key: K): boolean; get(key: K): V | undefined; set(key: K, value: V): unknown }, key: K, make: () => V): V {
  if (cache.has(key)) return cache.get(key) as V;
  const value = make();
  cache.set(key, value);
  return value;
}

// A timeline asks every entity about the same instants once per destination: answers are kept per entity (entities
// are immutable, and dropped with them).
const activeMemo = new WeakMap<Lifecycle, Map<number, Active | undefined>>();

/** The entity's parameters at `at`: the start's data overlaid by amendments in effect, or undefined if inactive. */
function activeAt(entity: Lifecycle, at: number): Active | undefined {
  return memo(memo(activeMemo, entity, () => new Map<number, Active | undefined>()), at, () => computeActiveAt(entity, at));
}

function computeActiveAt(entity: Lifecycle, at: number): Active | undefined {
  if (entity.start.effectiveAt.getTime() > at) return undefined;
  if (entity.end && entity.end.effectiveAt.getTime() <= at) return undefined;
  const applied = entity.amendments.filter((fact) => fact.effectiveAt.getTime() <= at);
  const params = applied.reduce<Record<string, unknown>>((acc, fact) => {
    const next = { ...acc };
    for (const [key, value] of Object.entries(fact.data)) if (value !== undefined && key !== 'notes') next[key] = value;
    return next;
  }, { ...entity.start.data });
  if (typeof params.expiresAt === 'string') {
    const expiry = parseInstant(params.expiresAt);
    if (expiry && expiry.getTime() <= at) return undefined;
  }
  return { params, basis: [entity.start, ...applied] };
}

// ---------------------------------------------------------------------------------------------------------------
// The chip itself.

export interface ChipView {
  readonly chip: string;
  readonly vendor: string;
  readonly model: string;
  readonly datacenter: boolean;
  readonly specs: ChipSpecs | undefined;
}

const sortedChipFacts = new WeakMap<ChipFacts<UnsourcedFact>, UnsourcedFact[]>();

/** The chip as described at `at` (the latest description in effect, else the earliest one we have). */
export function chipAt(chipFacts: ChipFacts<UnsourcedFact>, at: number): ChipView | undefined {
  const sorted = memo(sortedChipFacts, chipFacts, () => [...chipFacts.facts].sort(byEffective));
  const registered = sorted.find((fact) => fact.type === 'ChipRegistered');
  if (!registered) return undefined;
  let view: ChipView = {
    chip: chipFacts.chip,
    vendor: String(registered.data.vendor),
    model: String(registered.data.model),
    datacenter: Boolean(registered.data.datacenter),
    specs: registered.data.specs as ChipSpecs | undefined,
  };
  for (const fact of sorted) {
    if (fact.type !== 'ChipSpecsUpdated' || fact.effectiveAt.getTime() > at) continue;
    view = {
      ...view,
      specs: fact.data.specs as ChipSpecs,
      datacenter: typeof fact.data.datacenter === 'boolean' ? fact.data.datacenter : view.datacenter,
    };
  }
  return view;
}

// ---------------------------------------------------------------------------------------------------------------
// Matching.

function coversDestination(params: Record<string, unknown>, destination: string): boolean {
  const destinations = (params.destinations as string[] | undefined) ?? [];
  const except = (params.exceptDestinations as string[] | undefined) ?? [];
  if (destination === ANY_DESTINATION) return destinations.includes(ANY_DESTINATION);
  if (destinations.includes(destination)) return true;
  return destinations.includes(ANY_DESTINATION) && !except.includes(destination);
}

function measureCoversChip(params: Record<string, unknown>, chip: ChipView, band: string): boolean {
  const scope = (params.scope ?? {}) as { chips?: string[]; eccnBands?: string[]; datacenterOnly?: boolean; excludeChips?: string[] };
  if (scope.excludeChips?.includes(chip.chip)) return false;
  if (scope.datacenterOnly && !chip.datacenter) return false;
  return Boolean(scope.chips?.includes(chip.chip) || scope.eccnBands?.includes(band));
}

function listsChip(params: Record<string, unknown>, chip: string): boolean {
  return ((params.chips as string[] | undefined) ?? []).includes(chip);
}

// ---------------------------------------------------------------------------------------------------------------
// Answers at one instant.

const POLICY_BY_STRICTNESS: readonly LicensePolicy[] = ['presumption_of_denial', 'case_by_case', 'presumption_of_approval'];

// A fact is cited by every answer of every breakpoint it stays in force for: one citation object per (fact, title,
// authority) keeps those answers small to hold and quick to compare (jsonEqual stops at the same object).
const basisMemo = new WeakMap<Fact, Map<unknown, Map<unknown, BasisEvent>>>();

export function basisOf(fact: Fact, params?: Record<string, unknown>): BasisEvent {
  const title = (params?.title ?? fact.data.title) as string | undefined;
  const authority = (params?.authority ?? fact.data.authority) as string | undefined;
  const byTitle = memo(basisMemo, fact, () => new Map<unknown, Map<unknown, BasisEvent>>());
  return memo(memo(byTitle, title, () => new Map<unknown, BasisEvent>()), authority, () => citation(fact, title, authority));
}

function citation(fact: Fact, title: string | undefined, authority: string | undefined): BasisEvent {
  return {
    eventId: fact.eventId,
    type: fact.type,
    effectiveAt: fact.effectiveAt.toISOString(),
    recordedAt: fact.recordedAt.toISOString(),
    authority: authority ?? null,
    title: title ?? null,
    source: fact.source,
    ...(fact.correctedBy && fact.correctedBy.length > 0 ? { correctedBy: fact.correctedBy } : {}),
  };
}

// Their JSON text, written once per citation: a rebuild writes 125,000 answers for 30 k events, most of their bytes
// citations of a few thousand facts. Writing the answers out was a tenth of its profile, and half of that is saved.
const citationText = new WeakMap<BasisEvent, string>();

const citationJson = (basis: BasisEvent): string => memo(citationText, basis, () => JSON.stringify(basis));

/** Each part's fields in the order they are written: the compiler refuses a list that leaves one out. */
const fieldsOf = <T>(fields: Record<keyof T, true>) => Object.keys(fields) as Array<keyof T & string>;
const ANSWER_FIELDS = fieldsOf<StatusAnswer>({ classification: true, export: true, import: true, investigations: true });
const EXPORT_FIELDS = fieldsOf<ExportAnswer>({ status: true, since: true, licensePolicy: true, conditions: true, basis: true, warnings: true });
const IMPORT_FIELDS = fieldsOf<ImportAnswer>({ status: true, since: true, basis: true });
const INVESTIGATION_FIELDS = fieldsOf<InvestigationView>({ investigationId: true, authority: true, kind: true, title: true, openedAt: true, basis: true });

function partJson<T extends object>(part: T, fields: ReadonlyArray<keyof T & string>, write: (field: keyof T & string, value: unknown) => string): string {
  let text = '';
  for (const field of fields) {
    const value = part[field];
    if (value === undefined) continue;
    text += `${text === '' ? '{' : ','}"${field}":${write(field, value)}`;
  }
  return text === '' ? '{}' : `${text}}`;
}

const cited = (field: string, value: unknown): string =>
  field !== 'basis'
    ? JSON.stringify(value)
    : Array.isArray(value)
      ? `[${(value as BasisEvent[]).map(citationJson).join(',')}]`
      : citationJson(value as BasisEvent);

/** An answer as JSON (what `JSON.stringify` writes, fields in a fixed order), each citation written out once. */
export function answerJson(answer: StatusAnswer): string {
  return partJson(answer, ANSWER_FIELDS, (field, value) => {
    switch (field) {
      case 'export':
        return partJson(value as ExportAnswer, EXPORT_FIELDS, cited);
      case 'import':
        return partJson(value as ImportAnswer, IMPORT_FIELDS, cited);
      case 'investigations':
        return `[${(value as InvestigationView[]).map((view) => partJson(view, INVESTIGATION_FIELDS, cited)).join(',')}]`;
      case 'classification':
        return JSON.stringify(value);
      default:
        return assertNever(field);
    }
  });
}

function uniqueBasis(facts: ReadonlyArray<{ fact: Fact; params?: Record<string, unknown> }>): BasisEvent[] {
  const seen = new Set<string>();
  const result: BasisEvent[] = [];
  for (const { fact, params } of facts) {
    if (seen.has(fact.eventId)) continue;
    seen.add(fact.eventId);
    result.push(basisOf(fact, params));
  }
  return result.sort((a, b) => a.effectiveAt.localeCompare(b.effectiveAt) || a.eventId.localeCompare(b.eventId));
}

type Unsinced<T> = Omit<T, 'since'>;

export function exportAt(policy: PolicyFacts, chip: ChipView, band: string, destination: string, at: number): Unsinced<ExportAnswer> {
  const warnings = band === 'unknown' ? unevaluated(policy, chip, destination, at) : [];
  const answer = exportRules(policy, chip, band, destination, at);
  return { ...answer, warnings };
}

/** Band-based export controls in force here that cannot be evaluated because the chip's band is unknown. */
function unevaluated(policy: PolicyFacts, chip: ChipView, destination: string, at: number): string[] {
  return policy.measures.flatMap((measure) => {
    const state = activeAt(measure, at);
    if (!state || state.params.direction !== 'export' || !coversDestination(state.params, destination)) return [];
    const scope = (state.params.scope ?? {}) as { chips?: string[]; eccnBands?: string[]; excludeChips?: string[] };
    if (!scope.eccnBands?.length || scope.chips?.includes(chip.chip) || scope.excludeChips?.includes(chip.chip)) return [];
    return [
      `The ECCN band of ${chip.chip} is unknown (no performance figures), so ${measure.id} (${String(state.params.title)}), ` +
        `which applies to ${scope.eccnBands.join(' and ')}, could not be evaluated.`,
    ];
  });
}

function exportRules(policy: PolicyFacts, chip: ChipView, band: string, destination: string, at: number): Omit<Unsinced<ExportAnswer>, 'warnings'> {
  const active = policy.measures
    .map((measure) => ({ measure, state: activeAt(measure, at) }))
    .filter(
      (m): m is { measure: Lifecycle; state: { params: Record<string, unknown>; basis: Fact[] } } =>
        m.state !== undefined &&
        m.state.params.direction === 'export' &&
        coversDestination(m.state.params, destination) &&
        measureCoversChip(m.state.params, chip, band),
    );
  const withRequirement = (requirement: Requirement) => active.filter((m) => m.state.params.requirement === requirement);
  const cite = (list: typeof active) => list.flatMap((m) => m.state.basis.map((fact) => ({ fact, params: m.state.params })));

  const prohibiting = withRequirement('prohibited');
  if (prohibiting.length > 0) {
    return { status: 'prohibited', licensePolicy: null, conditions: [], basis: uniqueBasis(cite(prohibiting)) };
  }
  const requiring = withRequirement('license_required');
  if (requiring.length > 0) {
    // Later rules refine earlier ones: the review policy of the most recently effective requirement that states one.
    const stated = requiring
      .map((m) => ({
        policy: m.state.params.licensePolicy as LicensePolicy | null | undefined,
        since: Math.max(...m.state.basis.map((fact) => fact.effectiveAt.getTime())),
      }))
      .filter((m): m is { policy: LicensePolicy; since: number } => typeof m.policy === 'string')
      .sort((a, b) => b.since - a.since || POLICY_BY_STRICTNESS.indexOf(a.policy) - POLICY_BY_STRICTNESS.indexOf(b.policy));
    const licensePolicy = stated[0]?.policy ?? null;
    // A licence covers the requirements of its own authority; every requiring authority needs one.
    const authorities = [...new Set(requiring.map((m) => String(m.state.params.authority)))];
    const licences = policy.licenses
      .map((license) => ({ license, state: activeAt(license, at) }))
      .filter(
        (l): l is { license: Lifecycle; state: { params: Record<string, unknown>; basis: Fact[] } } =>
          l.state !== undefined && listsChip(l.state.params, chip.chip) && coversDestination(l.state.params, destination),
      );
    const covering = licences.filter((l) => authorities.includes(String(l.state.params.authority)));
    const licensed = authorities.every((authority) => covering.some((l) => l.state.params.authority === authority));
    if (licensed) {
      const conditions = covering.flatMap((l) => (l.state.params.conditions as Condition[] | undefined) ?? []);
      return {
        status: 'licensed',
        licensePolicy,
        conditions,
        basis: uniqueBasis([...cite(requiring), ...covering.flatMap((l) => l.state.basis.map((fact) => ({ fact, params: l.state.params })))]),
      };
    }
    return { status: 'license_required', licensePolicy, conditions: [], basis: uniqueBasis(cite(requiring)) };
  }
  const notifying = withRequirement('notification_required');
  if (notifying.length > 0) {
    return { status: 'notification_required', licensePolicy: null, conditions: [], basis: uniqueBasis(cite(notifying)) };
  }
  // Unrestricted: cite the lifts of measures that applied until they were lifted, so the answer explains itself.
  const ended = policy.measures
    .filter((measure) => measure.end && measure.end.effectiveAt.getTime() <= at)
    .filter((measure) => {
      const before = activeAt(measure, measure.end!.effectiveAt.getTime() - 1);
      return (
        before !== undefined &&
        before.params.direction === 'export' &&
        coversDestination(before.params, destination) &&
        measureCoversChip(before.params, chip, band)
      );
    })
    .map((measure) => ({ fact: measure.end!, params: measure.start.data as Record<string, unknown> }));
  return { status: 'unrestricted', licensePolicy: null, conditions: [], basis: uniqueBasis(ended) };
}

export function importAt(policy: PolicyFacts, chip: ChipView, band: string, destination: string, at: number): Unsinced<ImportAnswer> {
  const severity: Record<ImportStatus, number> = { open: 0, discouraged: 1, prohibited: 2 };
  const reasons: Array<{ status: ImportStatus; fact: Fact; params: Record<string, unknown> }> = [];
  for (const measure of policy.measures) {
    const state = activeAt(measure, at);
    if (!state || state.params.direction !== 'import') continue;
    if (!coversDestination(state.params, destination) || !measureCoversChip(state.params, chip, band)) continue;
    const status: ImportStatus = state.params.requirement === 'prohibited' ? 'prohibited' : 'discouraged';
    for (const fact of state.basis) reasons.push({ status, fact, params: state.params });
  }
  for (const advisory of policy.advisories) {
    const state = activeAt(advisory, at);
    if (!state || !listsChip(state.params, chip.chip) || !coversDestination(state.params, destination)) continue;
    const status: ImportStatus = state.params.level === 'prohibited' ? 'prohibited' : 'discouraged';
    for (const fact of state.basis) reasons.push({ status, fact, params: state.params });
  }
  const worst = reasons.reduce<ImportStatus>((acc, reason) => (severity[reason.status] > severity[acc] ? reason.status : acc), 'open');
  if (worst !== 'open') {
    return { status: worst, basis: uniqueBasis(reasons.filter((reason) => reason.status === worst)) };
  }
  const ended = policy.advisories
    .filter((advisory) => advisory.end && advisory.end.effectiveAt.getTime() <= at)
    .filter((advisory) => listsChip(advisory.start.data as Record<string, unknown>, chip.chip) && coversDestination(advisory.start.data as Record<string, unknown>, destination))
    .map((advisory) => ({ fact: advisory.end!, params: advisory.start.data as Record<string, unknown> }));
  return { status: 'open', basis: uniqueBasis(ended) };
}

export function investigationsAt(policy: PolicyFacts, chip: ChipView, at: number): InvestigationView[] {
  const vendor = chip.vendor.trim().toLowerCase();
  return policy.investigations
    .map((investigation) => ({ investigation, state: activeAt(investigation, at) }))
    .filter(({ state }) => {
      if (!state) return false;
      const subjects = (state.params.subjects ?? {}) as { companies?: string[]; chips?: string[] };
      return Boolean(subjects.chips?.includes(chip.chip) || subjects.companies?.some((company) => company.trim().toLowerCase() === vendor));
    })
    .map(({ investigation, state }) => ({
      investigationId: investigation.id,
      authority: String(state!.params.authority),
      kind: String(state!.params.kind),
      title: String(state!.params.title),
      openedAt: investigation.start.effectiveAt.toISOString(),
      basis: basisOf(investigation.start),
    }));
}

// ---------------------------------------------------------------------------------------------------------------
// The valid-time timeline of one (chip, destination).

/**
 * Every instant at which something about this chip could change for the destination. A measure, licence or advisory
 * that no version of ever lists the destination (or "*") is never cited for it, so its dates cannot change its answer.
 */
function breakpoints(chipFacts: ChipFacts, policy: PolicyFacts, destination: string): number[] {
  const times = new Set<number>();
  for (const fact of chipFacts.facts) times.add(fact.effectiveAt.getTime());
  const lists = [policy.measures, policy.licenses, policy.advisories].map((list) => list.filter((entity) => mayCover(entity, destination)));
  for (const list of [...lists, policy.investigations]) {
    for (const entity of list) {
      for (const fact of [entity.start, ...entity.amendments, ...(entity.end ? [entity.end] : [])]) {
        times.add(fact.effectiveAt.getTime());
        const expires = typeof fact.data.expiresAt === 'string' ? parseInstant(fact.data.expiresAt) : undefined;
        if (expires) times.add(expires.getTime());
      }
    }
  }
  return [...times].sort((a, b) => a - b);
}

/** Whether any version of the entity lists the destination or "*" (see coversDestination). */
function mayCover(entity: Lifecycle, destination: string): boolean {
  return [entity.start, ...entity.amendments].some((fact) => {
    const destinations = fact.data.destinations;
    return Array.isArray(destinations) && (destinations.includes(destination) || destinations.includes(ANY_DESTINATION));
  });
}

type UnsincedAnswer = { classification: Classification; export: Unsinced<ExportAnswer>; import: Unsinced<ImportAnswer>; investigations: InvestigationView[] };

type ChipMoment = { chip: ChipView; classification: Classification; investigations: InvestigationView[] } | undefined;

// What does not depend on the destination, kept per (chip facts, policy facts) pair across a chip's timelines.
const momentMemo = new WeakMap<ChipFacts, WeakMap<PolicyFacts, Map<number, ChipMoment>>>();

function chipMoment(chipFacts: ChipFacts, policy: PolicyFacts, at: number): ChipMoment {
  const byPolicy = memo(momentMemo, chipFacts, () => new WeakMap<PolicyFacts, Map<number, ChipMoment>>());
  return memo(memo(byPolicy, policy, () => new Map<number, ChipMoment>()), at, () => {
    const chip = chipAt(chipFacts, at);
    return chip && { chip, classification: classify(chip.specs, chip.datacenter), investigations: investigationsAt(policy, chip, at) };
  });
}

function answerAt(chipFacts: ChipFacts, policy: PolicyFacts, destination: string, at: number): UnsincedAnswer | undefined {
  const moment = chipMoment(chipFacts, policy, at);
  if (!moment) return undefined;
  const { chip, classification, investigations } = moment;
  return {
    classification,
    export: exportAt(policy, chip, classification.band, destination, at),
    import: importAt(policy, chip, classification.band, destination, at),
    investigations,
  };
}

/**
 * The complete valid-time history of a chip's status for one destination (`"*"`: any destination no fact names),
 * as adjacent intervals covering all of time, each with its answer and `since` (when the current status began).
 */
export function statusTimeline(chipFacts: ChipFacts, policy: PolicyFacts, destination: string): StatusInterval[] {
  const points = breakpoints(chipFacts, policy, destination);
  const starts: Array<number | null> = [null, ...points];
  const raw: Array<{ from: number | null; answer: UnsincedAnswer }> = [];
  for (const start of starts) {
    const at = start === null ? (points[0] ?? 0) - 1 : start;
    const answer = answerAt(chipFacts, policy, destination, at);
    if (!answer) return [];
    const previous = raw[raw.length - 1];
    if (previous && jsonEqual(previous.answer, answer)) continue;
    raw.push({ from: start, answer });
  }
  const intervals: StatusInterval[] = [];
  let exportSince: number | null = null;
  let importSince: number | null = null;
  raw.forEach((entry, index) => {
    const previous = raw[index - 1];
    if (!previous || previous.answer.export.status !== entry.answer.export.status) exportSince = entry.from;
    if (!previous || previous.answer.import.status !== entry.answer.import.status) importSince = entry.from;
    const next = raw[index + 1];
    intervals.push({
      validFrom: entry.from === null ? null : new Date(entry.from),
      validTo: next ? new Date(next.from as number) : null,
      answer: {
        classification: entry.answer.classification,
        export: { ...entry.answer.export, since: exportSince === null ? null : new Date(exportSince).toISOString() },
        import: { ...entry.answer.import, since: importSince === null ? null : new Date(importSince).toISOString() },
        investigations: entry.answer.investigations,
      },
    });
  });
  return intervals;
}

/** Destinations that facts relevant to a chip name explicitly (each gets its own timeline), plus `"*"`. */
export function destinationsNamed(policy: PolicyFacts): string[] {
  const named = new Set<string>([ANY_DESTINATION]);
  for (const list of [policy.measures, policy.licenses, policy.advisories]) {
    for (const entity of list) {
      for (const fact of [entity.start, ...entity.amendments]) {
        for (const key of ['destinations', 'exceptDestinations']) {
          for (const destination of (fact.data[key] as string[] | undefined) ?? []) named.add(destination);
        }
      }
    }
  }
  return [...named].sort();
}

/** Which facts concern a chip (band-scoped measures concern every chip; the timeline decides if they apply). */
export function concernsChip(fact: Fact, chip: string, vendor: string | undefined): boolean {
  const data = fact.data as Record<string, unknown>;
  switch (fact.type) {
    case 'ChipRegistered':
    case 'ChipSpecsUpdated':
      return data.chip === chip;
    case 'ControlImposed':
    case 'ControlAmended': {
      const scope = (data.scope ?? {}) as { chips?: string[]; eccnBands?: string[]; excludeChips?: string[] };
      return Boolean(scope.chips?.includes(chip) || (scope.eccnBands?.length ?? 0) > 0 || scope.excludeChips?.includes(chip));
    }
    case 'LicenseGranted':
    case 'LicenseAmended':
    case 'AdvisoryIssued':
      return ((data.chips as string[] | undefined) ?? []).includes(chip);
    case 'InvestigationOpened': {
      const subjects = (data.subjects ?? {}) as { companies?: string[]; chips?: string[] };
      const v = vendor?.trim().toLowerCase();
      return Boolean(subjects.chips?.includes(chip) || (v && subjects.companies?.some((c) => c.trim().toLowerCase() === v)));
    }
    // Ends of lifecycles concern whoever their start concerns; callers include them with their entity.
    case 'ControlLifted':
    case 'LicenseRevoked':
    case 'AdvisoryWithdrawn':
    case 'InvestigationConcluded':
      return false;
    default:
      return assertNever(fact.type, 'fact type');
  }
}

/**
 * JSON with sorted keys, so equal answers compare equal. Written out by hand: it runs for every interval of every
 * recomputed timeline, and a replacer that rebuilds each object with locale-aware sorting dominated rebuild profiles.
 */
export function stableJson(value: unknown): string {
  return encodeStable(value) ?? 'null';
}

/** Whether two values are equal as JSON (what stableJson compares), without writing either out. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  a = asJson(a);
  b = asJson(b);
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return stableJson(a) === stableJson(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let index = 0; index < a.length; index += 1) {
      // In arrays, undefined is written as null.
      if (!jsonEqual(a[index] === undefined ? null : a[index], b[index] === undefined ? null : b[index])) return false;
    }
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let keys = 0;
  for (const key of Object.keys(left)) {
    if (!writable(left[key])) continue;
    keys += 1;
    // A key the other side leaves out of its JSON (undefined, a function) is missing there, whatever this side holds.
    if (!Object.prototype.hasOwnProperty.call(right, key) || !writable(right[key]) || !jsonEqual(left[key], right[key])) return false;
  }
  for (const key of Object.keys(right)) if (writable(right[key])) keys -= 1;
  return keys === 0;
}

/** What JSON.stringify writes for an object with toJSON (a Date: its ISO text). */
function asJson(value: unknown): unknown {
  const toJSON = value !== null && typeof value === 'object' ? (value as { toJSON?: unknown }).toJSON : undefined;
  return typeof toJSON === 'function' ? (toJSON as () => unknown).call(value) : value;
}

function writable(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

function encodeStable(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'object') return typeof value === 'bigint' ? JSON.stringify(value) : undefined;
  const json = asJson(value);
  if (json !== value) return encodeStable(json);
  if (Array.isArray(value)) return `[${value.map((item) => encodeStable(item) ?? 'null').join(',')}]`;
  const record = value as Record<string, unknown>;
  let out = '';
  for (const key of Object.keys(record).sort()) {
    const encoded = encodeStable(record[key]);
    if (encoded !== undefined) out += `${out ? ',' : ''}${JSON.stringify(key)}:${encoded}`;
  }
  return `{${out}}`;
}

/**
 * Splits a fact base into what a chip's timeline needs: its own descriptions, and every fact of every entity
 * (measure, licence, advisory, investigation) whose start or amendments concern it, ends included.
 */
export function factsForChip(facts: readonly Fact[], chip: string): { chipFacts: ChipFacts; policy: PolicyFacts } | undefined {
  const own = chipFactsOf(facts, chip);
  if (!own) return undefined;
  const vendor = String(own.registration.data.vendor);
  const keys = new Set<string>();
  for (const fact of facts) {
    if (concernsChip(fact, chip, vendor)) {
      const key = entityKeyOf(fact);
      if (key) keys.add(key);
    }
  }
  const related = facts.filter((fact) => {
    const key = entityKeyOf(fact);
    return key !== undefined && keys.has(key);
  });
  return { chipFacts: { chip, facts: own.facts }, policy: groupFacts(related) };
}

/** A chip's own descriptions among `facts` (registration, specs) and its registration; undefined if it has none. */
export function chipFactsOf<F extends UnsourcedFact>(facts: readonly F[], chip: string): (ChipFacts<F> & { readonly registration: F }) | undefined {
  const own = facts.filter((fact) => (fact.type === 'ChipRegistered' || fact.type === 'ChipSpecsUpdated') && fact.data.chip === chip);
  const registration = own.find((fact) => fact.type === 'ChipRegistered');
  return registration ? { chip, facts: own, registration } : undefined;
}

export function entityKeyOf(fact: UnsourcedFact): string | undefined {
  return entityKey(fact);
}
