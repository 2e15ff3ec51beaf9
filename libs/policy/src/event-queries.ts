import { z } from 'zod';
import {
  AUTHORITY,
  NotFoundError,
  POLICY_EVENT_TYPES,
  ValidationError,
  chipSlug,
  instantText,
  parseInstant,
  parseWith,
} from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import { UUID_PATTERN } from '@chiptrail/runtime';

export const listEventsQuery = z
  .object({
    chip: chipSlug.optional().describe('Events naming the chip, and band-wide controls covering its current band'),
    authority: z.string().regex(AUTHORITY, 'must look like US-BIS').optional(),
    type: z
      .string()
      .max(1000)
      .refine((value) => value.split(',').every((t) => (POLICY_EVENT_TYPES as string[]).includes(t.trim())), {
        message: `must be event types separated by commas (${POLICY_EVENT_TYPES.join(', ')})`,
      })
      .optional(),
    effectiveFrom: instantText.optional(),
    effectiveTo: instantText.optional(),
    recordedFrom: instantText.optional(),
    recordedTo: instantText.optional(),
    q: z.string().trim().min(1).max(200).optional().describe('Words that must all appear in the type, title, authority, chips, data or source (case-insensitive)'),
    includeRetracted: z.enum(['true', 'false']).optional(),
    order: z.enum(['asc', 'desc']).optional().describe('By position in the log; newest first by default'),
    cursor: z.string().max(200).optional().describe('The nextCursor of the previous page'),
    limit: z.string().regex(/^\d{1,3}$/, 'must be a number from 1 to 500').optional(),
  })
  .strict();

export interface CatalogEntry {
  readonly id: string;
  readonly position: number;
  readonly streamId: string;
  readonly type: string;
  readonly authority: string | null;
  readonly title: string | null;
  readonly chips: string[];
  readonly eccnBands: string[];
  readonly destinations: string[];
  readonly effectiveAt: string;
  readonly recordedAt: string;
  readonly data: Record<string, unknown>;
  readonly source: Record<string, unknown> | null;
  readonly actor: string;
  readonly targetEventId: string | null;
  readonly retracted: { readonly by: string; readonly at: string } | null;
  readonly correctedBy: string[];
}

interface CatalogRow {
  position: string;
  event_id: string;
  stream_id: string;
  type: string;
  authority: string | null;
  title: string | null;
  chips: string[];
  eccn_bands: string[];
  destinations: string[];
  effective_at: Date;
  recorded_at: Date;
  data: Record<string, unknown>;
  source: Record<string, unknown> | null;
  actor: string;
  target_event_id: string | null;
  retracted_by: string | null;
  retracted_at: Date | null;
  corrected_by: string[];
}

function toEntry(row: CatalogRow): CatalogEntry {
  return {
    id: row.event_id,
    position: Number(row.position),
    streamId: row.stream_id,
    type: row.type,
    authority: row.authority,
    title: row.title,
    chips: row.chips,
    eccnBands: row.eccn_bands,
    destinations: row.destinations,
    effectiveAt: row.effective_at.toISOString(),
    recordedAt: row.recorded_at.toISOString(),
    data: row.data,
    source: row.source,
    actor: row.actor,
    targetEventId: row.target_event_id,
    retracted: row.retracted_by ? { by: row.retracted_by, at: (row.retracted_at as Date).toISOString() } : null,
    correctedBy: row.corrected_by,
  };
}

/** Reads of the event catalog and single events. */
export class EventQueries {
  constructor(private readonly db: Database) {}

  async list(rawQuery: unknown): Promise<{ items: CatalogEntry[]; nextCursor: string | null }> {
    const query = parseWith(listEventsQuery, rawQuery ?? {}, 'query');
    const limit = query.limit ? Number(query.limit) : 50;
    if (limit < 1 || limit > 500) throw ValidationError.field('query.limit', 'must be a number from 1 to 500');
    const order = query.order ?? 'desc';
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (placeholder: string) => string, value: unknown) => {
      values.push(value);
      where.push(clause(`$${values.length}`));
    };
    if (query.chip) {
      add((p) => `(chips @> ARRAY[${p}]::text[] OR eccn_bands && ARRAY(SELECT band FROM chip_registry WHERE chip = ${p}))`, query.chip);
    }
    if (query.authority) add((p) => `authority = ${p}`, query.authority);
    if (query.type) add((p) => `type = ANY (${p}::text[])`, query.type.split(',').map((t) => t.trim()));
    const range = (column: string, from?: string, to?: string) => {
      if (from) add((p) => `${column} >= ${p}`, parseInstant(from));
      if (to) add((p) => `${column} <= ${p}`, parseInstant(to, true));
    };
    range('effective_at', query.effectiveFrom, query.effectiveTo);
    range('recorded_at', query.recordedFrom, query.recordedTo);
    // Each word must appear somewhere in the event as recorded; LIKE wildcards in the words are matched literally.
    for (const word of (query.q ?? '').split(/\s+/).filter(Boolean).slice(0, 10)) {
      add(
        (p) => `concat_ws(' ', type, authority, title, array_to_string(chips, ' '), data::text, source::text) ILIKE '%' || ${p} || '%'`,
        word.replace(/[\\%_]/g, (c) => `\\${c}`),
      );
    }
    if (query.includeRetracted === 'false') where.push('retracted_by IS NULL');
    if (query.cursor) add((p) => `position ${order === 'desc' ? '<' : '>'} ${p}`, decodeCursor(query.cursor));
    values.push(limit + 1);
    const { rows } = await this.db.query<CatalogRow>(
      `SELECT * FROM event_catalog ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY position ${order === 'desc' ? 'DESC' : 'ASC'} LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, limit).map(toEntry);
    const last = page[page.length - 1];
    return { items: page, nextCursor: rows.length > limit && last ? encodeCursor(last.position) : null };
  }

  /** One event with its provenance, hash and what later corrected or retracted it. */
  async get(id: string) {
    if (!UUID_PATTERN.test(id)) throw ValidationError.field('id', 'must be a UUID.');
    const { rows } = await this.db.query<CatalogRow & { hash: string; stream_version: string; metadata: Record<string, unknown> }>(
      `SELECT c.*, encode(e.hash, 'hex') AS hash, e.stream_version, e.metadata
         FROM event_catalog c JOIN events e ON e.event_id = c.event_id
        WHERE c.event_id = $1`,
      [id.toLowerCase()],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError('event_not_found', `No policy event ${id} (it may not be projected yet if it was just recorded).`);
    const related = await this.db.query<CatalogRow>(
      `SELECT * FROM event_catalog WHERE target_event_id = $1 ORDER BY position`,
      [row.event_id],
    );
    return {
      ...toEntry(row),
      streamVersion: Number(row.stream_version),
      hash: row.hash,
      metadata: row.metadata,
      corrections: related.rows.filter((r) => r.type === 'EventCorrected').map(toEntry),
      retraction: related.rows.filter((r) => r.type === 'EventRetracted').map(toEntry)[0] ?? null,
    };
  }

  /** The newest events, for the Atom feed. */
  async latest(limit: number): Promise<CatalogEntry[]> {
    const { rows } = await this.db.query<CatalogRow>(`SELECT * FROM event_catalog ORDER BY position DESC LIMIT $1`, [limit]);
    return rows.map(toEntry);
  }
}

function encodeCursor(position: number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown };
    if (typeof parsed.p === 'number' && Number.isSafeInteger(parsed.p) && parsed.p >= 0) return parsed.p;
  } catch {
    // fall through
  }
  throw ValidationError.field('query.cursor', 'is not a cursor this API returned.');
}
