import { DISABLE_AFTER_MS, nextRetryDelay, stableJson, statusView, type DeliveryFailure } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { EventStore } from '@chiptrail/event-store';
import { OutboundError, type SafeFetcher } from '@chiptrail/outbound';
import { ChipKnowledgeReader } from '@chiptrail/status';
import type { Clock, Logger } from '@chiptrail/runtime';
import { DISPATCH_LOCK } from './alert-dispatcher.projection';
import type { DeliveryQueue } from './delivery-queue';
import type { LinkTokens } from './link-tokens';
import { MailError, type Mailer } from './mailer';
import { renderMail, type AlertPayload } from './render';
import { signWebhook } from './webhook-signature';

export const WEBHOOK_TIMEOUT_MS = 15_000;

/** The delivery row is not visible yet (its transaction has not committed): the job retries shortly. */
export class DeliveryNotReady extends Error {}

interface Row {
  id: string;
  subscription_id: string | null;
  recipient: string;
  channel: 'email' | 'webhook';
  target: string;
  type: string;
  payload: AlertPayload;
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  sub_status: string | null;
  sub_mode: string | null;
  owner: string | null;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  failing_since: Date | null;
}

type Outcome = { ok: true; statusCode?: number } | { ok: false; failure: DeliveryFailure; statusCode?: number; error: string; permanent?: boolean };

/**
 * One attempt of one delivery. A webhook is signed per Standard Webhooks with a `webhook-id` that stays the same
 * across attempts; an e-mail carries one-click unsubscribe headers. Failures are retried on the Svix-like schedule
 * by a new delayed job; 410 and five days of failure disable the endpoint, and the owner and admins are told.
 */
export class DeliveryService {
  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly queue: DeliveryQueue,
    private readonly fetcher: SafeFetcher,
    private readonly mailer: Mailer,
    private readonly links: LinkTokens,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: { publicUrl: string; random?: () => number; webhookTimeoutMs?: number },
  ) {}

  private async load(deliveryId: string): Promise<Row | undefined> {
    const { rows } = await this.db.query<Row>(
      `SELECT d.*, s.status AS sub_status, s.mode AS sub_mode, s.owner, s.secret, s.previous_secret, s.previous_secret_until, s.failing_since
         FROM deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id WHERE d.id = $1`,
      [deliveryId],
    );
    return rows[0];
  }

  async attempt(deliveryId: string, attempt: number): Promise<'delivered' | 'retrying' | 'dead' | 'skipped' | 'stale' | 'digest' | 'waiting'> {
    let row = await this.load(deliveryId);
    if (!row) {
      // Jobs are enqueued before the dispatcher's batch commits: wait for that commit, then look again.
      await this.db.transaction(async (tx) => {
        await tx.query(`SET LOCAL lock_timeout = '10s'`);
        await tx.query(`SELECT pg_advisory_xact_lock_shared($1, $2)`, [...DISPATCH_LOCK]);
      });
      row = await this.load(deliveryId);
    }
    if (!row) throw new DeliveryNotReady(`delivery ${deliveryId} is not visible yet`);
    if (!['pending', 'retrying', 'scheduled'].includes(row.status) || attempt !== row.attempts + 1) return 'stale';
    const now = this.clock.now();

    if (row.status === 'scheduled') {
      if (row.next_attempt_at && row.next_attempt_at.getTime() > now.getTime()) {
        await this.queue.enqueueAt(row.id, attempt, row.next_attempt_at);
        return 'waiting';
      }
      if (!(await this.stillTrue(row))) return this.finish(row, 'skipped', 'the announced change no longer holds');
      if (row.sub_mode === 'daily') {
        await this.db.query(`UPDATE deliveries SET status = 'digest' WHERE id = $1 AND status = 'scheduled'`, [row.id]);
        return 'digest';
      }
    }
    const confirmation = row.type === 'subscription.confirmation';
    if (row.subscription_id && row.sub_status !== 'active' && !(confirmation && row.sub_status === 'pending')) {
      return this.finish(row, 'skipped', `subscription is ${row.sub_status}`);
    }

    const started = Date.now();
    const outcome = row.channel === 'webhook' ? await this.sendWebhook(row, now) : await this.sendMail(row, now);
    const latency = Date.now() - started;
    const recordAttempt = `INSERT INTO delivery_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, outcome, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_id, attempt) DO NOTHING`;
    const attemptRow = [row.id, attempt, now, outcome.statusCode ?? null, latency, outcome.ok ? 'delivered' : 'failed', outcome.ok ? null : outcome.error];

    if (outcome.ok) {
      // One round trip for the common case: the attempt, the delivery, and the endpoint's health together.
      await this.db.query(
        `WITH attempt AS (${recordAttempt}),
              endpoint AS (UPDATE subscriptions SET failing_since = NULL WHERE id = $8 AND failing_since IS NOT NULL)
         UPDATE deliveries SET status = 'delivered', attempts = $2, last_attempt_at = $3, delivered_at = $3, last_status_code = $4, last_error = NULL,
                next_attempt_at = NULL WHERE id = $1`,
        [...attemptRow, row.subscription_id],
      );
      return 'delivered';
    }
    await this.db.query(recordAttempt, attemptRow);

    const delay = outcome.permanent ? null : nextRetryDelay(attempt, outcome.failure, (this.options.random ?? Math.random)());
    const failedAt = { attempts: attempt, now, statusCode: outcome.statusCode ?? null, error: outcome.error };
    if (outcome.failure.kind === 'gone') {
      await this.markFailed(row, 'dead', failedAt, null);
      await this.disable(row, 'the endpoint answered 410 Gone', now);
      return 'dead';
    }
    if (delay === null) {
      await this.markFailed(row, 'dead', failedAt, null);
    } else {
      const next = new Date(now.getTime() + delay);
      await this.markFailed(row, 'retrying', failedAt, next);
      await this.queue.enqueue(row.id, attempt + 1, delay);
    }
    if (row.subscription_id) {
      const failingSince = row.failing_since ?? now;
      if (!row.failing_since) await this.db.query(`UPDATE subscriptions SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL`, [row.subscription_id, now]);
      if (now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS) {
        await this.disable(row, `it has failed since ${failingSince.toISOString()} without a single success`, now);
      }
    }
    return delay === null ? 'dead' : 'retrying';
  }

  /** Re-sends everything that failed for a subscription since a time. */
  async recover(subscriptionId: string, since: Date): Promise<number> {
    const { rows } = await this.db.query<{ id: string; attempts: number }>(
      `UPDATE deliveries SET status = 'retrying', next_attempt_at = $3
        WHERE subscription_id = $1 AND status IN ('dead', 'retrying') AND created_at >= $2
        RETURNING id, attempts`,
      [subscriptionId, since, this.clock.now()],
    );
    for (const row of rows) await this.queue.enqueue(row.id, row.attempts + 1, 0);
    return rows.length;
  }

  /** Enqueues deliveries whose job went missing (a worker died, the queue lost its data): nothing is left behind. */
  async sweep(graceMs = 60_000): Promise<number> {
    const due = new Date(this.clock.now().getTime() - graceMs);
    const { rows } = await this.db.query<{ id: string; attempts: number }>(
      `SELECT id, attempts FROM deliveries WHERE status IN ('pending', 'retrying', 'scheduled') AND next_attempt_at <= $1 LIMIT 1000`,
      [due],
    );
    for (const row of rows) await this.queue.enqueue(row.id, row.attempts + 1, 0);
    return rows.length;
  }

  private async sendWebhook(row: Row, now: Date): Promise<Outcome> {
    const body = JSON.stringify(row.payload);
    const id = `msg_${row.id.replace(/-/g, '')}`;
    const timestamp = Math.floor(now.getTime() / 1000);
    const secrets = [row.secret, row.previous_secret && row.previous_secret_until && row.previous_secret_until > now ? row.previous_secret : null].filter(
      (secret): secret is string => Boolean(secret),
    );
    try {
      const response = await this.fetcher.fetch(row.target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(secrets, id, timestamp, body),
        },
        body,
        timeoutMs: this.options.webhookTimeoutMs ?? WEBHOOK_TIMEOUT_MS,
        maxBytes: 64 * 1024,
        maxRedirects: 0,
      });
      if (response.status >= 200 && response.status < 300) return { ok: true, statusCode: response.status };
      if (response.status === 410) return { ok: false, failure: { kind: 'gone' }, statusCode: 410, error: '410 Gone' };
      if (response.status === 429) {
        const retryAfter = retryAfterMs(response.headers['retry-after'], now);
        return { ok: false, failure: { kind: 'rate_limited', ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) }, statusCode: 429, error: '429 Too Many Requests' };
      }
      return { ok: false, failure: { kind: 'http', status: response.status }, statusCode: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      if (error instanceof OutboundError) {
        if (error.code === 'timeout') return { ok: false, failure: { kind: 'timeout' }, error: error.message };
        return { ok: false, failure: { kind: 'network', message: error.message }, error: `${error.code}: ${error.message}`, permanent: error.code === 'blocked_address' || error.code === 'invalid_url' };
      }
      throw error;
    }
  }

  private async sendMail(row: Row, now: Date): Promise<Outcome> {
    const base = this.options.publicUrl.replace(/\/$/, '');
    const unsubscribeToken = await this.links.sign(row.subscription_id ?? row.recipient, 'unsubscribe', null);
    const unsubscribe = `${base}/api/v1/subscriptions/unsubscribe?token=${unsubscribeToken}`;
    const confirm =
      row.type === 'subscription.confirmation' && row.subscription_id
        ? `${base}/api/v1/subscriptions/confirm?token=${await this.links.sign(row.subscription_id, 'confirm', new Date(now.getTime() + 7 * 24 * 3600 * 1000))}`
        : undefined;
    const rendered = renderMail(row.payload, { unsubscribe, app: `${base}/admin`, ...(confirm ? { confirm } : {}) });
    try {
      await this.mailer.send({
        to: row.target,
        ...rendered,
        headers: {
          'List-Unsubscribe': `<${unsubscribe}>`,
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          'X-Chiptrail-Alert': row.payload.type,
        },
        messageId: `<${row.id}@chiptrail>`,
      });
      return { ok: true };
    } catch (error) {
      if (error instanceof MailError) {
        return { ok: false, failure: { kind: 'network', message: error.message }, statusCode: error.responseCode, error: error.message, permanent: error.permanent };
      }
      throw error;
    }
  }

  /** A reminder is sent only if, as known now, the announced status still takes effect when announced. */
  private async stillTrue(row: Row): Promise<boolean> {
    const data = row.payload.data as { chip?: string; destination?: string; effectiveAt?: string; status?: unknown };
    if (!data.chip || !data.destination || !data.effectiveAt) return true;
    const answer = (await new ChipKnowledgeReader(this.db).at(data.chip, 'current'))?.answer(data.destination, new Date(data.effectiveAt));
    return answer ? stableJson(statusView(answer)) === stableJson(data.status) : false;
  }

  private async finish(row: Row, status: 'skipped', reason: string): Promise<'skipped'> {
    await this.db.query(`UPDATE deliveries SET status = $2, last_error = $3, next_attempt_at = NULL WHERE id = $1`, [row.id, status, reason]);
    return status;
  }

  private async markFailed(row: Row, status: 'dead' | 'retrying', failed: { attempts: number; now: Date; statusCode: number | null; error: string }, next: Date | null): Promise<void> {
    await this.db.query(
      `UPDATE deliveries SET status = $2, attempts = $3, last_attempt_at = $4, last_status_code = $5, last_error = $6, next_attempt_at = $7 WHERE id = $1`,
      [row.id, status, failed.attempts, failed.now, failed.statusCode, failed.error.slice(0, 1000), next],
    );
  }

  /** Disables the endpoint once and records why: the dispatcher tells the owner and the admins. */
  private async disable(row: Row, reason: string, now: Date): Promise<void> {
    if (!row.subscription_id) return;
    const changed = await this.db.query(
      `UPDATE subscriptions SET status = 'disabled', disabled_reason = $2, updated_at = $3 WHERE id = $1 AND status = 'active'`,
      [row.subscription_id, reason, now],
    );
    if (!changed.rowCount) return;
    this.logger.warn(`subscription ${row.subscription_id} disabled: ${reason}`, 'Deliveries');
    await this.store.append(`subscription-${row.subscription_id}`, 'any', [
      {
        type: 'SubscriptionDisabled',
        data: { subscriptionId: row.subscription_id, owner: row.owner, channel: row.channel, target: row.target, reason, failingSince: row.failing_since?.toISOString() ?? now.toISOString() },
        metadata: { actor: 'system:deliveries' },
        effectiveAt: now,
      },
    ]);
  }
}

function retryAfterMs(value: string | string[] | undefined, now: Date): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(date - now.getTime(), 0);
}
