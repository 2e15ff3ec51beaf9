import { z } from 'zod';
import {
  ANY_DESTINATION,
  ECCN_BANDS,
  EXPORT_STATUSES,
  IMPORT_STATUSES,
  NotFoundError,
  ValidationError,
  chipSlug,
  factsForChip,
  instantText,
  isCountry,
  parseInstant,
  parseWith,
  stableJson,
  type Fact,
  type StatusAnswer,
} from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { StatusCache } from './status-cache';
import { storedFact } from './policy.projection';
import type { Clock } from '@chiptrail/runtime';

const destinationParam = z
  .string()
  .transform((value) => value.toUpperCase())
  .refine(isCountry, { message: 'must be an ISO 3166-1 alpha-2 country code such as CN' });

export const statusQuery = z
  .object({
    destination: destinationParam.describe('ISO 3166-1 alpha-2 code of the destination'),
    asOf: instantText.optional().describe('Valid time: a date (end of that day, UTC) or a timestamp; default now'),
    knownAt: instantText.optional().describe('Knowledge time: what we knew then; a date (end of that day, UTC) or a timestamp; default now'),
  })
  .strict();

export const listChipsQuery = z
  .object({
    destination: destinationParam.optional().describe('Include the current status for this destination'),
    vendor: z.string().max(100).optional(),
    band: z.enum(ECCN_BANDS as [string, ...string[]]).optional(),
    exportStatus: z.enum(EXPORT_STATUSES as [string, ...string[]]).optional().describe('Needs destination'),
    importStatus: z.enum(IMPORT_STATUSES as [string, ...string[]]).optional().describe('Needs destination'),
    datacenter: z.enum(['true', 'false']).optional(),
  })
  .strict();

export const csvQuery = z
  .object({ destination: destinationParam, asOf: instantText.optional(), knownAt: instantText.optional() })
  .strict();

export const MAX_CHECKS = 1000;
export const checkBody = z
  .object({
    asOf: instantText.optional(),
    knownAt: instantText.optional(),
    items: z
      .array(
        z
          .object({ chip: z.string().max(80), destination: z.string().max(10), asOf: instantText.optional(), knownAt: instantText.optional() })
          .strict(),
      )
      .min(1, 'name at least one chip and destination')
      .max(MAX_CHECKS, `at most ${MAX_CHECKS} items per call`),
  })
  .strict();

export const timelineQuery = z.object({ knownAt: instantText.optional() }).strict();

export interface ChipStatus {
  readonly chip: string;
  readonly destination: string;
  readonly asOf: string;
  readonly knownAt: string;
  readonly classification: StatusAnswer['classification'];
  readonly export: StatusAnswer['export'];
  readonly import: StatusAnswer['import'];
  readonly investigations: StatusAnswer['investigations'];
}

interface Lookup {
  readonly chip: string;
  readonly destination: string;
  readonly asOf: Date;
  readonly knownAt: Date;
}

interface RegistryRow {
  chip: string;
  vendor: string;
  model: string;
  datacenter: boolean;
  specs: unknown;
  origin: string | null;
  tpp: number | null;
  performance_density: number | null;
  band: string;
  band_reason: string;
  registered_event_id: string;
  effective_at: Date;
  recorded_at: Date;
  updated_at: Date;
}

/** The read side of the compliance API: status lookups on both time axes from the stored intervals. */
export class StatusQueries {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly cache?: StatusCache,
  ) {}

  /**
   * The status response as JSON text: from the cache, one serialization per interval and per process, with this
   * request's chip, destination and times spliced in; otherwise from the database.
   */
  async statusJson(chip: string, rawQuery: unknown): Promise<string> {
    const slug = parseWith(chipSlug, chip, 'chip');
    const query = parseWith(statusQuery, rawQuery ?? {}, 'query');
    const times = this.times(query.asOf, query.knownAt);
    const body = await this.cache?.answerBody(slug, query.destination, times.asOf, times.knownAt);
    if (!body) return JSON.stringify(await this.status(slug, rawQuery));
    return `{"chip":${JSON.stringify(slug)},"destination":${JSON.stringify(query.destination)},"asOf":"${times.asOf.toISOString()}","knownAt":"${times.knownAt.toISOString()}",${body}}`;
  }

  async status(chip: string, rawQuery: unknown): Promise<ChipStatus> {
    const slug = parseWith(chipSlug, chip, 'chip');
    const query = parseWith(statusQuery, rawQuery ?? {}, 'query');
    const times = this.times(query.asOf, query.knownAt);
    const [answer] = await this.lookup([{ chip: slug, destination: query.destination, ...times }]);
    if (answer) return answer;
    throw await this.notFound(slug, times.knownAt);
  }

  async check(rawBody: unknown): Promise<{ results: Array<ChipStatus | { chip: string; destination: string; error: { code: string; detail: string } }> }> {
    const body = parseWith(checkBody, rawBody, 'body');
    const base = this.times(body.asOf, body.knownAt);
    const lookups: Lookup[] = body.items.map((item, index) => {
      const destination = item.destination.toUpperCase();
      if (!isCountry(destination)) throw ValidationError.field(`body.items.${index}.destination`, 'must be an ISO 3166-1 alpha-2 country code such as CN');
      if (!chipSlug.safeParse(item.chip).success) throw ValidationError.field(`body.items.${index}.chip`, 'must be a lowercase slug such as nvidia-h20');
      return {
        chip: item.chip,
        destination,
        asOf: item.asOf ? (parseInstant(item.asOf, true) as Date) : base.asOf,
        knownAt: item.knownAt ? this.clampKnown(parseInstant(item.knownAt, true) as Date) : base.knownAt,
      };
    });
    const answers = await this.lookup(lookups);
    return {
      results: lookups.map((lookup, index) => {
        const answer = answers[index];
        if (answer) return answer;
        return {
          chip: lookup.chip,
          destination: lookup.destination,
          error: { code: 'chip_not_found', detail: `No chip ${lookup.chip} was known at ${lookup.knownAt.toISOString()}.` },
        };
      }),
    };
  }

  async list(rawQuery: unknown) {
    const query = parseWith(listChipsQuery, rawQuery ?? {}, 'query');
    if ((query.exportStatus || query.importStatus) && !query.destination) {
      throw ValidationError.field('query.destination', 'is needed to filter by status.');
    }
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.vendor) {
      values.push(query.vendor.toLowerCase());
      where.push(`lower(vendor) = $${values.length}`);
    }
    if (query.band) {
      values.push(query.band);
      where.push(`band = $${values.length}`);
    }
    if (query.datacenter) {
      values.push(query.datacenter === 'true');
      where.push(`datacenter = $${values.length}`);
    }
    const { rows } = await this.db.query<RegistryRow>(
      `SELECT * FROM chip_registry ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY chip`,
      values,
    );
    const chips = rows.map(registryView);
    if (!query.destination) return { items: chips };
    const now = this.clock.now();
    const statuses = await this.lookup(rows.map((row) => ({ chip: row.chip, destination: query.destination as string, asOf: now, knownAt: now })));
    const items = chips
      .map((chip, index) => ({ ...chip, status: statuses[index] ? pickStatus(statuses[index] as ChipStatus) : null }))
      .filter((item) => !query.exportStatus || item.status?.export.status === query.exportStatus)
      .filter((item) => !query.importStatus || item.status?.import.status === query.importStatus);
    return { destination: query.destination, asOf: now.toISOString(), items };
  }

  async chip(chip: string) {
    const slug = parseWith(chipSlug, chip, 'chip');
    const { rows } = await this.db.query<RegistryRow>(`SELECT * FROM chip_registry WHERE chip = $1`, [slug]);
    if (!rows[0]) throw new NotFoundError('chip_not_found', `No chip ${slug} is registered.`);
    const destinations = await this.db.query<{ destination: string }>(
      `SELECT DISTINCT destination FROM status_intervals WHERE chip = $1 AND known_to = 'infinity' AND destination <> '*' ORDER BY 1`,
      [slug],
    );
    return { ...registryView(rows[0]), destinationsWithRules: destinations.rows.map((row) => row.destination) };
  }

  async csv(rawQuery: unknown): Promise<string> {
    const query = parseWith(csvQuery, rawQuery ?? {}, 'query');
    const times = this.times(query.asOf, query.knownAt);
    const { rows } = await this.db.query<RegistryRow>(`SELECT * FROM chip_registry ORDER BY chip`);
    const answers = await this.lookup(rows.map((row) => ({ chip: row.chip, destination: query.destination, ...times })));
    const header = [
      'chip', 'vendor', 'model', 'destination', 'as_of', 'known_at', 'eccn_band', 'tpp', 'performance_density', 'export_status',
      'export_since', 'license_policy', 'conditions', 'import_status', 'import_since', 'investigations', 'basis_event_ids', 'basis_sources',
    ];
    const lines = [header.join(',')];
    rows.forEach((row, index) => {
      const answer = answers[index];
      if (!answer) return;
      const basis = [...answer.export.basis, ...answer.import.basis];
      lines.push(
        [
          row.chip, row.vendor, row.model, answer.destination, answer.asOf, answer.knownAt, answer.classification.band,
          answer.classification.tpp ?? '', answer.classification.performanceDensity ?? '', answer.export.status,
          answer.export.since ?? '', answer.export.licensePolicy ?? '',
          answer.export.conditions.map((c) => (c.percent !== undefined ? `${c.type}:${c.percent}%` : c.type)).join('; '),
          answer.import.status, answer.import.since ?? '',
          answer.investigations.map((i) => `${i.authority} ${i.kind}`).join('; '),
          basis.map((b) => b.eventId).join(' '), basis.map((b) => b.source.url).join(' '),
        ].map(csvCell).join(','),
      );
    });
    return `${lines.join('\r\n')}\r\n`;
  }

  /** A chip's timeline as known at `knownAt`: the events that concern it and each destination's status intervals. */
  async timeline(chip: string, rawQuery: unknown) {
    const slug = parseWith(chipSlug, chip, 'chip');
    const query = parseWith(timelineQuery, rawQuery ?? {}, 'query');
    const knownAt = this.times(undefined, query.knownAt).knownAt;
    const registry = await this.db.query<{ vendor: string }>(
      `SELECT data->>'vendor' AS vendor FROM policy_facts
        WHERE chip = $1 AND type = 'ChipRegistered' AND known_from <= $2 AND known_to > $2`,
      [slug, knownAt],
    );
    if (!registry.rows[0]) throw await this.notFound(slug, knownAt);
    const vendor = registry.rows[0].vendor.trim().toLowerCase();
    const facts = await this.factsConcerning(slug, vendor, knownAt);
    const selected = factsForChip(facts, slug);
    const concerned = selected
      ? [
          ...selected.chipFacts.facts,
          ...[...selected.policy.measures, ...selected.policy.licenses, ...selected.policy.advisories, ...selected.policy.investigations].flatMap(
            (entity) => [entity.start, ...entity.amendments, ...(entity.end ? [entity.end] : [])],
          ),
        ]
      : [];
    const intervals = await this.db.query<{ destination: string; valid_from: Date | number; valid_to: Date | number; answer: StatusAnswer }>(
      `SELECT destination, valid_from, valid_to, answer FROM status_intervals
        WHERE chip = $1 AND known_from <= $2 AND known_to > $2 ORDER BY destination, valid_from`,
      [slug, knownAt],
    );
    // Per destination, the stretches of valid time over which each direction's answer stayed the same.
    const destinations = new Map<string, { export: Stretch[]; import: Stretch[] }>();
    for (const row of intervals.rows) {
      const entry = destinations.get(row.destination) ?? { export: [], import: [] };
      const from = instant(row.valid_from);
      const to = instant(row.valid_to);
      extend(entry.export, from, to, {
        status: row.answer.export.status,
        licensePolicy: row.answer.export.licensePolicy,
        conditions: row.answer.export.conditions,
        basis: row.answer.export.basis.map((b) => b.eventId),
      });
      extend(entry.import, from, to, { status: row.answer.import.status, basis: row.answer.import.basis.map((b) => b.eventId) });
      destinations.set(row.destination, entry);
    }
    return {
      chip: slug,
      knownAt: knownAt.toISOString(),
      events: concerned
        .sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime() || a.recordedAt.getTime() - b.recordedAt.getTime())
        .map((fact) => ({
          eventId: fact.eventId,
          type: fact.type,
          effectiveAt: fact.effectiveAt.toISOString(),
          recordedAt: fact.recordedAt.toISOString(),
          title: (fact.data.title as string | undefined) ?? null,
          authority: (fact.data.authority as string | undefined) ?? null,
          source: fact.source,
          correctedBy: fact.correctedBy ?? [],
        })),
      destinations: [...destinations].map(([destination, stretches]) => ({ destination, ...stretches })),
    };
  }

  /**
   * Every fact version known at `knownAt` that may concern the chip (naming it, about its vendor, band-wide) and the
   * rest of their entities, in log order: what factsForChip picks from.
   */
  async factsConcerning(chip: string, vendor: string, knownAt: Date): Promise<Fact[]> {
    const { rows } = await this.db.query<Parameters<typeof storedFact>[0]>(
      // Each branch one index: the partial ones over current versions, and the one over closed versions for those
      // closed after knownAt (corrections and retractions close them; few). With the conditions joined by OR the
      // planner scanned every fact version, twice: 45 ms at 88 k facts, growing with the log.
      `WITH candidates AS MATERIALIZED (
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
       SELECT f.event_id, f.type, f.data, f.effective_at, f.recorded_at, f.source, f.corrected_by
         FROM concerned JOIN policy_facts f ON f.event_id = concerned.event_id AND f.known_from <= $2 AND f.known_to > $2
         JOIN events e ON e.event_id = f.event_id
        -- Log order: events at the same instants are listed as they were recorded.
        ORDER BY e.global_position`,
      [chip, knownAt, vendor],
    );
    return rows.map(storedFact);
  }

  /** One query answers many (chip, destination, asOf, knownAt) lookups; a named destination beats "*". */
  async lookup(lookups: readonly Lookup[]): Promise<Array<ChipStatus | undefined>> {
    if (lookups.length === 0) return [];
    const cached = this.cache ? await Promise.all(lookups.map((l) => this.cache!.answer(l.chip, l.destination, l.asOf, l.knownAt))) : [];
    const missing = lookups.map((_, index) => index).filter((index) => !cached[index]);
    const fetched = await this.fromDatabase(missing.map((index) => lookups[index] as Lookup));
    const answers = new Map<number, StatusAnswer>();
    cached.forEach((answer, index) => answer && answers.set(index, answer));
    missing.forEach((index, at) => {
      const answer = fetched[at];
      if (answer) answers.set(index, answer);
    });
    return lookups.map((lookup, index) => {
      const answer = answers.get(index);
      if (!answer) return undefined;
      return {
        chip: lookup.chip,
        destination: lookup.destination,
        asOf: lookup.asOf.toISOString(),
        knownAt: lookup.knownAt.toISOString(),
        classification: answer.classification,
        export: answer.export,
        import: answer.import,
        investigations: answer.investigations,
      };
    });
  }

  /** The bitemporal lookup itself: one interval per (chip, destination, asOf, knownAt), its own or the "*" one. */
  private async fromDatabase(lookups: readonly Lookup[]): Promise<Array<StatusAnswer | undefined>> {
    if (lookups.length === 0) return [];
    const { rows } = await this.db.query<{ i: string; destination: string; answer: StatusAnswer }>(
      `SELECT q.i, s.destination, s.answer
         FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS q(chip, destination, as_of, known_at, i)
         JOIN LATERAL (
           SELECT destination, answer FROM status_intervals s
            WHERE s.chip = q.chip AND s.destination IN (q.destination, '${ANY_DESTINATION}')
              AND s.valid_from <= q.as_of AND s.valid_to > q.as_of
              AND s.known_from <= q.known_at AND s.known_to > q.known_at
            ORDER BY s.destination = '${ANY_DESTINATION}'
            LIMIT 1
         ) s ON true`,
      [lookups.map((l) => l.chip), lookups.map((l) => l.destination), lookups.map((l) => l.asOf), lookups.map((l) => l.knownAt)],
    );
    const byIndex = new Map(rows.map((row) => [Number(row.i) - 1, row.answer]));
    return lookups.map((_, index) => byIndex.get(index));
  }

  private times(asOf: string | undefined, knownAt: string | undefined): { asOf: Date; knownAt: Date } {
    const now = this.clock.now();
    return {
      asOf: asOf ? (parseInstant(asOf, true) as Date) : now,
      knownAt: knownAt ? this.clampKnown(parseInstant(knownAt, true) as Date) : now,
    };
  }

  /** Nobody knows the future: a knowledge time after now means now. */
  private clampKnown(knownAt: Date): Date {
    const now = this.clock.now();
    return knownAt.getTime() > now.getTime() ? now : knownAt;
  }

  private async notFound(chip: string, knownAt: Date): Promise<NotFoundError> {
    const { rows } = await this.db.query<{ first: Date | null }>(
      `SELECT min(known_from) AS first FROM policy_facts WHERE chip = $1 AND type = 'ChipRegistered'`,
      [chip],
    );
    const first = rows[0]?.first;
    if (first && first.getTime() > knownAt.getTime()) {
      return new NotFoundError(
        'chip_not_known_at',
        `Chip ${chip} was first recorded at ${first.toISOString()}; nothing was known about it at ${knownAt.toISOString()}.`,
        { firstRecordedAt: first.toISOString() },
      );
    }
    return new NotFoundError('chip_not_found', `No chip ${chip} is registered.`);
  }
}

interface Stretch {
  validFrom: string | null;
  validTo: string | null;
  status: string;
  [key: string]: unknown;
}

/** Appends an interval, merging it into the previous one when the answer is the same. */
function extend(list: Stretch[], validFrom: string | null, validTo: string | null, answer: Record<string, unknown> & { status: string }): void {
  const last = list[list.length - 1];
  if (last && last.validTo === validFrom && stableJson({ ...last, validFrom: 0, validTo: 0 }) === stableJson({ ...answer, validFrom: 0, validTo: 0 })) {
    last.validTo = validTo;
    return;
  }
  list.push({ validFrom, validTo, ...answer });
}

function registryView(row: RegistryRow) {
  return {
    chip: row.chip,
    vendor: row.vendor,
    model: row.model,
    datacenter: row.datacenter,
    origin: row.origin,
    specs: row.specs,
    classification: { tpp: row.tpp, performanceDensity: row.performance_density, band: row.band, reason: row.band_reason },
    registeredEventId: row.registered_event_id,
    recordedAt: row.recorded_at.toISOString(),
  };
}

function pickStatus(status: ChipStatus) {
  return {
    export: { status: status.export.status, since: status.export.since, licensePolicy: status.export.licensePolicy, conditions: status.export.conditions },
    import: { status: status.import.status, since: status.import.since },
  };
}

function instant(value: Date | number): string | null {
  return typeof value === 'number' || !Number.isFinite(value.getTime()) ? null : value.toISOString();
}

/** RFC 4180 quoting, and a leading quote on anything a spreadsheet would run as a formula. */
export function csvCell(value: unknown): string {
  let text = String(value ?? '');
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
