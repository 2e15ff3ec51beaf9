import { createHash } from 'node:crypto';
import { chipAliases, classifyItem } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { EventStore } from '@chiptrail/event-store';
import { OutboundError, type SafeFetcher } from '@chiptrail/outbound';
import { uuidv7, type Clock, type Logger } from '@chiptrail/runtime';
import { FeedParseError, parseFeedDocument, type ParsedItem } from './feed-document';

export const FEED_MAX_BYTES = 15 * 1024 * 1024;
export const FEED_MAX_REDIRECTS = 5;
const DAY_MS = 24 * 3600 * 1000;
const LEASE_MS = 5 * 60 * 1000;

export interface PollOutcome {
  readonly feedId: string;
  readonly outcome: 'ok' | 'not_modified' | 'error' | 'skipped';
  readonly reason?: string;
  readonly httpStatus?: number;
  readonly errorCode?: string;
  readonly error?: string;
  readonly itemsNew: number;
  readonly itemsUpdated: number;
  readonly itemsSkipped: number;
  readonly nextPollAt?: string;
}

interface FeedRow {
  id: string;
  url: string;
  name: string;
  kind: string;
  default_authority: string | null;
  poll_interval_seconds: number;
  enabled: boolean;
  deleted_at: Date | null;
  etag: string | null;
  last_modified: string | null;
  consecutive_errors: number;
  next_poll_at: Date | null;
  healthy: boolean;
}

class PollFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * One poll of one feed: fetch (conditionally, safely), parse, dedupe into the inbox with a proposal per item, and
 * record how it went. Feed failures are recorded and back off (doubling per error up to a day, never stopping for
 * good); only infrastructure failures (the database) throw, so the queue retries.
 */
export class FeedPoller {
  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly fetcher: SafeFetcher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: { timeoutMs: number; failureThreshold: number },
  ) {}

  async poll(feedId: string, { force }: { force: boolean }): Promise<PollOutcome> {
    const now = this.clock.now();
    const leased = await this.db.query<FeedRow>(
      `UPDATE feeds SET polling_until = $2
        WHERE id = $1 AND deleted_at IS NULL AND (polling_until IS NULL OR polling_until < $3)
          AND ($4 OR (enabled AND (next_poll_at IS NULL OR next_poll_at <= $3)))
        RETURNING *`,
      [feedId, new Date(now.getTime() + LEASE_MS), now, force],
    );
    const feed = leased.rows[0];
    if (!feed) return { feedId, outcome: 'skipped', reason: await this.whySkipped(feedId, now), itemsNew: 0, itemsUpdated: 0, itemsSkipped: 0 };

    const started = Date.now();
    let result: Omit<PollOutcome, 'feedId' | 'nextPollAt'>;
    let validators: { etag: string | null; lastModified: string | null } = { etag: feed.etag, lastModified: feed.last_modified };
    let ttlMinutes: number | null = null;
    let retryAfterMs = 0;
    let finalUrl: string | null = null;
    let bytes = 0;
    try {
      const response = await this.fetcher.fetch(feed.url, {
        timeoutMs: this.options.timeoutMs,
        maxBytes: FEED_MAX_BYTES,
        maxRedirects: FEED_MAX_REDIRECTS,
        headers: {
          accept: 'application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, application/json;q=0.9, text/xml;q=0.8, */*;q=0.5',
          ...(feed.etag ? { 'if-none-match': feed.etag } : {}),
          ...(feed.last_modified ? { 'if-modified-since': feed.last_modified } : {}),
        },
      });
      finalUrl = response.url;
      bytes = response.body.length;
      if (response.status === 304) {
        result = { outcome: 'not_modified', httpStatus: 304, itemsNew: 0, itemsUpdated: 0, itemsSkipped: 0 };
      } else if (response.status >= 200 && response.status < 300) {
        const parsed = await parseFeedDocument(response.body, header(response.headers['content-type']));
        if (feed.kind !== 'auto' && feed.kind !== parsed.kind) {
          throw new PollFailure('unexpected_kind', `The feed is configured as ${feed.kind} but the server sent ${parsed.kind}.`, response.status);
        }
        ttlMinutes = parsed.ttlMinutes;
        const counts = await this.store_items(feed, parsed.items, now);
        validators = { etag: header(response.headers.etag) ?? null, lastModified: header(response.headers['last-modified']) ?? null };
        result = { outcome: 'ok', httpStatus: response.status, ...counts };
      } else {
        const retryAfter = parseRetryAfter(header(response.headers['retry-after']), now);
        throw new PollFailure(`http_${response.status}`, `The server answered ${response.status}${retryAfter ? `; retry after ${Math.round(retryAfter / 1000)} s` : ''}.`, response.status, retryAfter);
      }
    } catch (error) {
      if (error instanceof PollFailure) {
        retryAfterMs = error.retryAfterMs ?? 0;
        result = { outcome: 'error', errorCode: error.code, error: error.message, httpStatus: error.httpStatus, itemsNew: 0, itemsUpdated: 0, itemsSkipped: 0 };
      } else if (error instanceof OutboundError || error instanceof FeedParseError) {
        result = { outcome: 'error', errorCode: error.code, error: error.message, itemsNew: 0, itemsUpdated: 0, itemsSkipped: 0 };
      } else {
        // The database or a bug: release the lease and let the queue retry.
        await this.db.query(`UPDATE feeds SET polling_until = NULL WHERE id = $1`, [feed.id]).catch(() => undefined);
        throw error;
      }
    }

    const failed = result.outcome === 'error';
    const errors = failed ? feed.consecutive_errors + 1 : 0;
    const interval = feed.poll_interval_seconds * 1000;
    const wait = failed
      ? Math.max(Math.min(interval * 2 ** errors, DAY_MS), retryAfterMs)
      : Math.max(interval, (ttlMinutes ?? 0) * 60_000);
    const nextPollAt = new Date(now.getTime() + wait);
    const healthy = errors < this.options.failureThreshold;
    await this.db.query(
      `INSERT INTO feed_fetches (id, feed_id, started_at, duration_ms, outcome, http_status, error_code, error, final_url, bytes,
                                 items_new, items_updated, items_skipped)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [uuidv7(now.getTime()), feed.id, now, Date.now() - started, result.outcome, result.httpStatus ?? null, result.errorCode ?? null,
        result.error ?? null, finalUrl, bytes, result.itemsNew, result.itemsUpdated, result.itemsSkipped],
    );
    await this.db.query(
      `UPDATE feeds SET last_fetched_at = $2, last_status = $3, last_error = $4, consecutive_errors = $5, next_poll_at = $6,
              healthy = $7, polling_until = NULL, etag = $8, last_modified = $9,
              last_success_at = CASE WHEN $10 THEN $2 ELSE last_success_at END
        WHERE id = $1`,
      [feed.id, now, result.httpStatus ? String(result.httpStatus) : result.outcome, result.error ?? null, errors, nextPollAt, healthy,
        validators.etag, validators.lastModified, !failed],
    );
    if (healthy !== feed.healthy) await this.reportHealth(feed, healthy, errors, result.error ?? null, now);
    if (failed) this.logger.warn(`feed ${feed.name} (${feed.id}): ${result.error}`, 'FeedPoller');
    return { feedId: feed.id, ...result, nextPollAt: nextPollAt.toISOString() };
  }

  /** Dedupes the items into the inbox; a known item whose content changed is marked updated, not new. */
  private async store_items(feed: FeedRow, items: readonly ParsedItem[], now: Date): Promise<{ itemsNew: number; itemsUpdated: number; itemsSkipped: number }> {
    const registry = await this.db.query<{ chip: string; vendor: string; model: string }>(`SELECT chip, vendor, model FROM chip_registry`);
    const chips = chipAliases(registry.rows);
    const seen = new Set<string>();
    let skipped = 0;
    const rows: Array<Record<string, unknown>> = [];
    for (const item of items) {
      const title = item.title ?? item.summary?.slice(0, 200) ?? null;
      const identity = item.guid ?? item.link ?? (title && item.publishedAt ? `${title}|${item.publishedAt.toISOString()}` : null);
      if (!identity || !title) {
        skipped += 1;
        continue;
      }
      const keyHash = sha256(`${item.guid ? 'guid' : item.link ? 'link' : 'title-date'}:${identity}`);
      if (seen.has(keyHash)) {
        skipped += 1;
        continue;
      }
      seen.add(keyHash);
      const classification = classifyItem({
        title,
        summary: item.summary,
        link: item.link,
        publishedAt: item.publishedAt,
        effectiveOn: item.effectiveOn,
        defaultAuthority: feed.default_authority,
        agencies: item.agencies,
        chips,
        fetchedAt: now,
      });
      rows.push({
        id: uuidv7(now.getTime()),
        feed_id: feed.id,
        key_hash: keyHash,
        guid: truncate(item.guid, 2000),
        title: truncate(title, 1000),
        link: truncate(item.link, 2000),
        published_at: item.publishedAt,
        summary: truncate(item.summary, 20_000),
        content_hash: sha256(JSON.stringify([title, item.link, item.summary, item.publishedAt?.toISOString() ?? null])),
        first_seen_at: now,
        updated_at: now,
        status: classification.relevant ? 'pending' : 'irrelevant',
        relevant: classification.relevant,
        confidence: classification.confidence,
        proposed: classification.proposed,
        evidence: classification.evidence,
        reasons: classification.reasons,
      });
    }
    if (rows.length === 0) return { itemsNew: 0, itemsUpdated: 0, itemsSkipped: skipped };
    const { rows: written } = await this.db.query<{ inserted: boolean }>(
      `INSERT INTO feed_items (id, feed_id, key_hash, guid, title, link, published_at, summary, content_hash, first_seen_at, updated_at,
                               status, relevant, confidence, proposed, evidence, reasons)
       SELECT id, feed_id, key_hash, guid, title, link, published_at, summary, content_hash, first_seen_at, updated_at,
              status, relevant, confidence, proposed, evidence, reasons
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, feed_id uuid, key_hash text, guid text, title text, link text,
              published_at timestamptz, summary text, content_hash text, first_seen_at timestamptz, updated_at timestamptz,
              status text, relevant boolean, confidence real, proposed jsonb, evidence jsonb, reasons jsonb)
       ON CONFLICT (feed_id, key_hash) DO UPDATE SET
         title = EXCLUDED.title, link = EXCLUDED.link, published_at = EXCLUDED.published_at, summary = EXCLUDED.summary,
         content_hash = EXCLUDED.content_hash, updated_at = EXCLUDED.updated_at, update_count = feed_items.update_count + 1,
         relevant = EXCLUDED.relevant, confidence = EXCLUDED.confidence, evidence = EXCLUDED.evidence, reasons = EXCLUDED.reasons,
         proposed = CASE WHEN feed_items.status IN ('pending', 'irrelevant') THEN EXCLUDED.proposed ELSE feed_items.proposed END,
         status = CASE WHEN feed_items.status IN ('pending', 'irrelevant') THEN EXCLUDED.status ELSE feed_items.status END,
         changed_after_review = feed_items.changed_after_review OR feed_items.status IN ('approved', 'rejected')
       WHERE feed_items.content_hash <> EXCLUDED.content_hash
       RETURNING (xmax = 0) AS inserted`,
      [JSON.stringify(rows)],
    );
    const inserted = written.filter((row) => row.inserted).length;
    return { itemsNew: inserted, itemsUpdated: written.length - inserted, itemsSkipped: skipped };
  }

  /** A feed turning unhealthy (or healthy again) is an event: the alerts capability tells the admins. */
  private async reportHealth(feed: FeedRow, healthy: boolean, errors: number, error: string | null, now: Date): Promise<void> {
    await this.store.append(`feed-${feed.id}`, 'any', [
      {
        type: 'FeedHealthChanged',
        data: { feedId: feed.id, name: feed.name, url: feed.url, healthy, consecutiveErrors: errors, lastError: error },
        metadata: { actor: 'system:feeds' },
        effectiveAt: now,
      },
    ]);
  }

  private async whySkipped(feedId: string, now: Date): Promise<string> {
    const { rows } = await this.db.query<{ deleted_at: Date | null; enabled: boolean; polling_until: Date | null; next_poll_at: Date | null }>(
      `SELECT deleted_at, enabled, polling_until, next_poll_at FROM feeds WHERE id = $1`,
      [feedId],
    );
    const row = rows[0];
    if (!row || row.deleted_at) return 'feed not found';
    if (row.polling_until && row.polling_until > now) return 'already being polled';
    if (!row.enabled) return 'feed disabled';
    return `not due until ${row.next_poll_at?.toISOString()}`;
  }
}

export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Math.min(Number(value.trim()) * 1000, DAY_MS);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(date - now.getTime(), 0), DAY_MS);
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function truncate(text: string | null | undefined, max: number): string | null {
  if (text === null || text === undefined) return null;
  const clean = text.replace(/\u0000/g, '');
  return clean.length > max ? clean.slice(0, max) : clean;
}
