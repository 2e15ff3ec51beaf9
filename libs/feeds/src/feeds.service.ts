import { isIP } from 'node:net';
import { z } from 'zod';
import { AUTHORITY, NotFoundError, ValidationError, parseWith } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { AddressGuard } from '@chiptrail/outbound';
import { UUID_PATTERN, uuidv7, type Clock } from '@chiptrail/runtime';
import type { FeedPoller, PollOutcome } from './feed-poller';
import type { FeedScheduler } from './feed-scheduler';

const feedUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
    } catch {
      return false;
    }
  }, { message: 'must be an http(s) URL without credentials' });

export const createFeedBody = z
  .object({
    url: feedUrl,
    name: z.string().trim().min(1).max(200),
    kind: z.enum(['auto', 'rss', 'atom', 'rdf', 'federal_register']).optional(),
    defaultAuthority: z.string().regex(AUTHORITY, 'must look like US-BIS').nullable().optional(),
    pollIntervalSeconds: z.number().int().min(1).max(7 * 24 * 3600).optional().describe('Default 3600; at least 300 is polite'),
    enabled: z.boolean().optional(),
  })
  .strict();

export const updateFeedBody = createFeedBody.partial().strict().refine((body) => Object.keys(body).length > 0, {
  message: 'name at least one field to change',
});

interface FeedRow {
  id: string;
  url: string;
  name: string;
  kind: string;
  default_authority: string | null;
  poll_interval_seconds: number;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  last_fetched_at: Date | null;
  last_success_at: Date | null;
  last_status: string | null;
  last_error: string | null;
  consecutive_errors: number;
  next_poll_at: Date | null;
  healthy: boolean;
  total: string;
  pending: string;
  irrelevant: string;
  approved: string;
  rejected: string;
}

const FEED_SELECT = `
  SELECT f.*,
         (SELECT count(*) FROM feed_items i WHERE i.feed_id = f.id) AS total,
         (SELECT count(*) FROM feed_items i WHERE i.feed_id = f.id AND i.status = 'pending') AS pending,
         (SELECT count(*) FROM feed_items i WHERE i.feed_id = f.id AND i.status = 'irrelevant') AS irrelevant,
         (SELECT count(*) FROM feed_items i WHERE i.feed_id = f.id AND i.status = 'approved') AS approved,
         (SELECT count(*) FROM feed_items i WHERE i.feed_id = f.id AND i.status = 'rejected') AS rejected
    FROM feeds f`;

function view(row: FeedRow) {
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return {
    id: row.id,
    url: row.url,
    name: row.name,
    kind: row.kind,
    defaultAuthority: row.default_authority,
    pollIntervalSeconds: row.poll_interval_seconds,
    enabled: row.enabled,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    healthy: row.healthy,
    lastFetchedAt: iso(row.last_fetched_at),
    lastSuccessAt: iso(row.last_success_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    consecutiveErrors: row.consecutive_errors,
    nextPollAt: iso(row.next_poll_at),
    items: {
      total: Number(row.total),
      pending: Number(row.pending),
      irrelevant: Number(row.irrelevant),
      approved: Number(row.approved),
      rejected: Number(row.rejected),
    },
  };
}

export type FeedView = ReturnType<typeof view>;

/** Feed configuration: kept in a table (it is settings, not history) and mirrored into the queue's schedulers. */
export class FeedsService {
  constructor(
    private readonly db: Database,
    private readonly scheduler: FeedScheduler,
    private readonly poller: FeedPoller,
    private readonly guard: AddressGuard,
    private readonly clock: Clock,
  ) {}

  async create(rawBody: unknown): Promise<FeedView> {
    const body = parseWith(createFeedBody, rawBody, 'body');
    this.refuseForbiddenLiteral(body.url);
    const now = this.clock.now();
    const id = uuidv7(now.getTime());
    await this.db.query(
      `INSERT INTO feeds (id, url, name, kind, default_authority, poll_interval_seconds, enabled, created_at, updated_at, next_poll_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)`,
      [id, body.url, body.name, body.kind ?? 'auto', body.defaultAuthority ?? null, body.pollIntervalSeconds ?? 3600, body.enabled ?? true, now],
    );
    const feed = await this.get(id);
    await this.scheduler.sync({ id, enabled: feed.enabled, deleted: false, pollIntervalSeconds: feed.pollIntervalSeconds });
    return feed;
  }

  async list(): Promise<FeedView[]> {
    const { rows } = await this.db.query<FeedRow>(`${FEED_SELECT} WHERE f.deleted_at IS NULL ORDER BY f.created_at`);
    return rows.map(view);
  }

  async get(id: string): Promise<FeedView> {
    return view(await this.row(id));
  }

  async detail(id: string) {
    const feed = await this.get(id);
    const fetches = await this.db.query<{ started_at: Date; duration_ms: number; outcome: string; http_status: number | null; error_code: string | null; error: string | null; items_new: number; items_updated: number; items_skipped: number; bytes: number; final_url: string | null }>(
      `SELECT started_at, duration_ms, outcome, http_status, error_code, error, items_new, items_updated, items_skipped, bytes, final_url
         FROM feed_fetches WHERE feed_id = $1 ORDER BY started_at DESC LIMIT 20`,
      [id],
    );
    return {
      ...feed,
      recentFetches: fetches.rows.map((row) => ({
        startedAt: row.started_at.toISOString(),
        durationMs: row.duration_ms,
        outcome: row.outcome,
        httpStatus: row.http_status,
        errorCode: row.error_code,
        error: row.error,
        itemsNew: row.items_new,
        itemsUpdated: row.items_updated,
        itemsSkipped: row.items_skipped,
        bytes: row.bytes,
        finalUrl: row.final_url,
      })),
    };
  }

  async update(id: string, rawBody: unknown): Promise<FeedView> {
    const before = await this.row(id);
    const body = parseWith(updateFeedBody, rawBody, 'body');
    if (body.url) this.refuseForbiddenLiteral(body.url);
    const urlChanged = body.url !== undefined && body.url !== before.url;
    await this.db.query(
      `UPDATE feeds SET url = $2, name = $3, kind = $4, default_authority = $5, poll_interval_seconds = $6, enabled = $7, updated_at = $8,
              etag = CASE WHEN $9 THEN NULL ELSE etag END, last_modified = CASE WHEN $9 THEN NULL ELSE last_modified END,
              consecutive_errors = CASE WHEN $9 THEN 0 ELSE consecutive_errors END,
              next_poll_at = CASE WHEN $9 OR ($7 AND NOT enabled) THEN $8 ELSE next_poll_at END
        WHERE id = $1`,
      [
        id,
        body.url ?? before.url,
        body.name ?? before.name,
        body.kind ?? before.kind,
        body.defaultAuthority === undefined ? before.default_authority : body.defaultAuthority,
        body.pollIntervalSeconds ?? before.poll_interval_seconds,
        body.enabled ?? before.enabled,
        this.clock.now(),
        urlChanged,
      ],
    );
    const feed = await this.get(id);
    await this.scheduler.sync({ id, enabled: feed.enabled, deleted: false, pollIntervalSeconds: feed.pollIntervalSeconds });
    return feed;
  }

  /** Feeds are retired, not erased: the items and the events approved from them keep their provenance. */
  async remove(id: string): Promise<void> {
    await this.row(id);
    await this.db.query(`UPDATE feeds SET deleted_at = $2, enabled = false, updated_at = $2 WHERE id = $1`, [id, this.clock.now()]);
    await this.scheduler.sync({ id, enabled: false, deleted: true, pollIntervalSeconds: 1 });
  }

  async pollNow(id: string): Promise<PollOutcome> {
    await this.row(id);
    return this.poller.poll(id, { force: true });
  }

  /** Every feed as the scheduler needs it, for reconciling at worker start. */
  async schedulable() {
    const { rows } = await this.db.query<{ id: string; enabled: boolean; deleted_at: Date | null; poll_interval_seconds: number }>(
      `SELECT id, enabled, deleted_at, poll_interval_seconds FROM feeds`,
    );
    return rows.map((row) => ({ id: row.id, enabled: row.enabled, deleted: row.deleted_at !== null, pollIntervalSeconds: row.poll_interval_seconds }));
  }

  private async row(id: string): Promise<FeedRow> {
    if (!UUID_PATTERN.test(id)) throw ValidationError.field('id', 'must be a UUID.');
    const { rows } = await this.db.query<FeedRow>(`${FEED_SELECT} WHERE f.id = $1 AND f.deleted_at IS NULL`, [id]);
    if (!rows[0]) throw new NotFoundError('feed_not_found', `No feed ${id}.`);
    return rows[0];
  }

  /** An address we would never connect to is refused at once (names are judged when they are resolved). */
  private refuseForbiddenLiteral(url: string): void {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (!isIP(host)) return;
    const verdict = this.guard.check(host);
    if (!verdict.allowed) throw ValidationError.field('body.url', `chiptrail will not fetch from ${verdict.reason}.`, 'forbidden_address');
  }
}
