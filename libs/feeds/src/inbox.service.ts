import { z } from 'zod';
import {
  IllegalStateError,
  NotFoundError,
  ValidationError,
  parseRecordEventRequest,
  parseWith,
  type RecordEventRequest,
} from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { RecordPolicyEvent, RecordedResult } from '@chiptrail/policy';
import { UUID_PATTERN, deterministicUuid, type Clock } from '@chiptrail/runtime';

export const inboxQuery = z
  .object({
    status: z.enum(['pending', 'approved', 'rejected', 'irrelevant', 'all']).optional().describe('Default: pending (irrelevant items are kept but hidden)'),
    feedId: z.uuid().optional(),
    q: z.string().max(200).optional().describe('Words in the title'),
    cursor: z.string().max(200).optional(),
    limit: z.string().regex(/^\d{1,3}$/, 'must be a number from 1 to 200').optional(),
  })
  .strict();

/** An edited proposal: an event body as POST /events takes it; the source is always the item. */
export const approveBody = z
  .object({
    type: z.string(),
    data: z.record(z.string(), z.unknown()),
    effectiveAt: z.string().optional(),
    source: z.object({ confidence: z.enum(['high', 'medium', 'low']).optional() }).passthrough().optional(),
  })
  .strict();

export const rejectBody = z.object({ reason: z.string().trim().min(1, 'say why').max(2000) }).strict();

interface ItemRow {
  id: string;
  feed_id: string;
  feed_name: string;
  feed_url: string;
  guid: string | null;
  title: string;
  link: string | null;
  published_at: Date | null;
  summary: string | null;
  first_seen_at: Date;
  updated_at: Date;
  update_count: number;
  changed_after_review: boolean;
  status: 'pending' | 'approved' | 'rejected' | 'irrelevant';
  relevant: boolean;
  confidence: number;
  proposed: RecordEventRequest | null;
  evidence: unknown[];
  reasons: string[];
  approved_event_id: string | null;
  rejected_reason: string | null;
  reviewed_by: string | null;
  reviewed_at: Date | null;
}

const ITEM_SELECT = `SELECT i.*, f.name AS feed_name, f.url AS feed_url FROM feed_items i JOIN feeds f ON f.id = i.feed_id`;

function view(row: ItemRow) {
  return {
    id: row.id,
    feedId: row.feed_id,
    feedName: row.feed_name,
    title: row.title,
    link: row.link,
    publishedAt: row.published_at?.toISOString() ?? null,
    summary: row.summary,
    proposed: row.proposed,
    confidence: row.confidence,
    evidence: row.evidence,
    reasons: row.reasons,
    status: row.status,
    updated: row.update_count > 0,
    changedAfterReview: row.changed_after_review,
    firstSeenAt: row.first_seen_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    approvedEventId: row.approved_event_id,
    rejectedReason: row.rejected_reason,
    reviewedBy: row.reviewed_by,
    reviewedAt: row.reviewed_at?.toISOString() ?? null,
  };
}

/** The curators' inbox: items proposed from feeds; nothing reaches the log until a curator approves it. */
export class InboxService {
  constructor(
    private readonly db: Database,
    private readonly record: RecordPolicyEvent,
    private readonly clock: Clock,
  ) {}

  async list(rawQuery: unknown) {
    const query = parseWith(inboxQuery, rawQuery ?? {}, 'query');
    const limit = query.limit ? Number(query.limit) : 50;
    if (limit < 1 || limit > 200) throw ValidationError.field('query.limit', 'must be a number from 1 to 200');
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown) => {
      values.push(value);
      where.push(clause(`$${values.length}`));
    };
    const status = query.status ?? 'pending';
    if (status !== 'all') add((p) => `i.status = ${p}`, status);
    if (query.feedId) add((p) => `i.feed_id = ${p}`, query.feedId);
    if (query.q) add((p) => `i.title ILIKE ${p}`, `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (query.cursor) {
      const cursor = decodeCursor(query.cursor);
      values.push(cursor.at, cursor.id);
      where.push(`(i.first_seen_at, i.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(limit + 1);
    const { rows } = await this.db.query<ItemRow>(
      `${ITEM_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY i.first_seen_at DESC, i.id DESC LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(view),
      nextCursor: rows.length > limit && last ? Buffer.from(JSON.stringify({ at: last.first_seen_at.toISOString(), id: last.id })).toString('base64url') : null,
    };
  }

  async counts() {
    const { rows } = await this.db.query<{ feed_id: string; name: string; pending: string; irrelevant: string; approved: string; rejected: string }>(
      `SELECT f.id AS feed_id, f.name,
              count(*) FILTER (WHERE i.status = 'pending') AS pending,
              count(*) FILTER (WHERE i.status = 'irrelevant') AS irrelevant,
              count(*) FILTER (WHERE i.status = 'approved') AS approved,
              count(*) FILTER (WHERE i.status = 'rejected') AS rejected
         FROM feeds f LEFT JOIN feed_items i ON i.feed_id = f.id
        WHERE f.deleted_at IS NULL
        GROUP BY f.id, f.name ORDER BY f.name`,
    );
    return rows.map((row) => ({
      feedId: row.feed_id,
      name: row.name,
      pending: Number(row.pending),
      irrelevant: Number(row.irrelevant),
      approved: Number(row.approved),
      rejected: Number(row.rejected),
    }));
  }

  async get(id: string) {
    return view(await this.row(id));
  }

  /**
   * Appends the proposed (or edited) event with the item as its source and the curator as actor. The event id is
   * derived from the item, so approving twice, or twice at once, appends once.
   */
  async approve(id: string, rawBody: unknown, actor: string): Promise<{ item: ReturnType<typeof view>; event: RecordedResult | { id: string; duplicate: true } }> {
    const item = await this.row(id);
    if (item.status === 'approved' && item.approved_event_id) return { item: view(item), event: { id: item.approved_event_id, duplicate: true } };
    if (item.status === 'rejected') {
      throw new IllegalStateError('item_rejected', `Item ${id} was rejected${item.rejected_reason ? `: ${item.rejected_reason}` : ''}; it cannot be approved.`);
    }
    const edited = rawBody === undefined || rawBody === null || (typeof rawBody === 'object' && Object.keys(rawBody as object).length === 0) ? undefined : parseWith(approveBody, rawBody, 'body');
    const base = edited ?? item.proposed;
    if (!base) throw new IllegalStateError('nothing_proposed', 'This item has no proposed event; send an edited event to approve it.');
    const eventId = deterministicUuid(`inbox-approval:${item.id}`);
    const link = item.link && /^https?:\/\//i.test(item.link) ? item.link : item.feed_url;
    const parsed = parseRecordEventRequest(
      {
        id: eventId,
        type: base.type,
        data: base.data,
        ...(base.effectiveAt !== undefined ? { effectiveAt: base.effectiveAt } : {}),
        source: {
          url: link.slice(0, 2000),
          title: item.title.slice(0, 500),
          publishedAt: (item.published_at ?? item.first_seen_at).toISOString(),
          ...(edited?.source?.confidence ?? item.proposed?.source.confidence ? { confidence: edited?.source?.confidence ?? item.proposed?.source.confidence } : {}),
          feedItemId: item.id,
        },
      },
      this.clock.now(),
    );
    const result = await this.record.handle(parsed, { actor, causationId: `feed-item:${item.id}` });
    await this.db.query(
      `UPDATE feed_items SET status = 'approved', approved_event_id = $2, reviewed_by = $3, reviewed_at = $4
        WHERE id = $1 AND status <> 'rejected'`,
      [item.id, result.id, actor, this.clock.now()],
    );
    return { item: view(await this.row(id)), event: result };
  }

  async reject(id: string, rawBody: unknown, actor: string) {
    const { reason } = parseWith(rejectBody, rawBody, 'body');
    const item = await this.row(id);
    if (item.status === 'approved') throw new IllegalStateError('item_approved', `Item ${id} was approved as event ${item.approved_event_id}; retract that event instead.`);
    if (item.status !== 'rejected') {
      await this.db.query(
        `UPDATE feed_items SET status = 'rejected', rejected_reason = $2, reviewed_by = $3, reviewed_at = $4 WHERE id = $1 AND status IN ('pending', 'irrelevant')`,
        [id, reason, actor, this.clock.now()],
      );
    }
    return view(await this.row(id));
  }

  private async row(id: string): Promise<ItemRow> {
    if (!UUID_PATTERN.test(id)) throw ValidationError.field('id', 'must be a UUID.');
    const { rows } = await this.db.query<ItemRow>(`${ITEM_SELECT} WHERE i.id = $1`, [id]);
    if (!rows[0]) throw new NotFoundError('item_not_found', `No inbox item ${id}.`);
    return rows[0];
  }
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    if (typeof parsed.at === 'string' && !Number.isNaN(Date.parse(parsed.at)) && typeof parsed.id === 'string' && UUID_PATTERN.test(parsed.id)) {
      return { at: parsed.at, id: parsed.id };
    }
  } catch {
    // fall through
  }
  throw ValidationError.field('query.cursor', 'is not a cursor this API returned.');
}
