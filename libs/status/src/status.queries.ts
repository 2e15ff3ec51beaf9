import { z } from 'zod';
import {
  ANY_DESTINATION,
  ECCN_BANDS,
  EXPORT_STATUSES,
  IMPORT_STATUSES,
  NotFoundError,
  ValidationError,
  chipSlug,
  instantText,
  isCountry,
  parseInstant,
  parseWith,
  stableJson,
  type StatusAnswer,
} from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { Clock } from '@chiptrail/runtime';
import type { ChipKnowledge, ChipKnowledgeReader } from './chip-knowledge';
import type { StatusCache } from './status-cache';

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
const READS_AT_ONCE = 4;
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

/** The read side of the compliance API: status on both time axes, derived from the facts known at the time asked. */
export class StatusQueries {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly reader: ChipKnowledgeReader,
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
    const knowledge = await this.knowledge(slug, this.clock.now());
    return { ...registryView(rows[0]), destinationsWithRules: (knowledge?.destinations ?? []).filter((destination) => destination !== ANY_DESTINATION) };
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
    const knowledge = await this.knowledge(slug, knownAt);
    if (!knowledge) throw await this.notFound(slug, knownAt);
    // Per destination, the stretches of valid time over which each direction's answer stayed the same.
    const destinations = knowledge.destinations.map((destination) => {
      const entry = { destination, export: [] as Stretch[], import: [] as Stretch[] };
      for (const interval of knowledge.timeline(destination)) {
        const from = interval.validFrom?.toISOString() ?? null;
        const to = interval.validTo?.toISOString() ?? null;
        const { answer } = interval;
        extend(entry.export, from, to, {
          status: answer.export.status,
          licensePolicy: answer.export.licensePolicy,
          conditions: answer.export.conditions,
          basis: answer.export.basis.map((b) => b.eventId),
        });
        extend(entry.import, from, to, { status: answer.import.status, basis: answer.import.basis.map((b) => b.eventId) });
      }
      return entry;
    });
    return {
      chip: slug,
      knownAt: knownAt.toISOString(),
      events: knowledge.facts
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
      destinations,
    };
  }

  /** Answers many (chip, destination, asOf, knownAt) lookups, reading each chip's knowledge once per knowledge time. */
  async lookup(lookups: readonly Lookup[]): Promise<Array<ChipStatus | undefined>> {
    const wanted = new Map(lookups.map((lookup) => [`${lookup.chip}|${lookup.knownAt.getTime()}`, lookup]));
    const knowledge = new Map<string, ChipKnowledge | undefined>();
    const keys = [...wanted.keys()];
    // A few at a time: a list or an export may ask for every chip, and each read takes a pooled connection.
    for (let start = 0; start < keys.length; start += READS_AT_ONCE) {
      await Promise.all(
        keys.slice(start, start + READS_AT_ONCE).map(async (key) => {
          const { chip, knownAt } = wanted.get(key) as Lookup;
          knowledge.set(key, await this.knowledge(chip, knownAt));
        }),
      );
    }
    return lookups.map((lookup) => {
      const answer = knowledge.get(`${lookup.chip}|${lookup.knownAt.getTime()}`)?.answer(lookup.destination, lookup.asOf);
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

  /** What was known about the chip at `knownAt`: from the cache when it can vouch for it, else from the facts. */
  private async knowledge(chip: string, knownAt: Date): Promise<ChipKnowledge | undefined> {
    return (await this.cache?.knowledge(chip, knownAt)) ?? (await this.reader.at(chip, knownAt));
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

/** RFC 4180 quoting, and a leading quote on anything a spreadsheet would run as a formula. */
export function csvCell(value: unknown): string {
  let text = String(value ?? '');
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
