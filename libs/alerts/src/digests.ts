import { groupDigest } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import type { QueueBackend } from '@chiptrail/queue';
import { deterministicUuid, type Clock } from '@chiptrail/runtime';
import { DIGESTS_QUEUE, type DeliveryQueue } from './delivery-queue';
import type { AlertPayload } from './render';

export interface DigestSchedule {
  readonly id: string;
  readonly active: boolean;
  readonly time: string | null;
  readonly timezone: string | null;
}

/** The one place that keeps one daily job scheduler per daily-digest subscription (`digest:<id>`, local time). */
export class DigestScheduler {
  constructor(private readonly queues: QueueBackend) {}

  async sync(subscription: DigestSchedule): Promise<void> {
    const queue = this.queues.queue(DIGESTS_QUEUE);
    const id = `digest:${subscription.id}`;
    if (!subscription.active || !subscription.time || !subscription.timezone) {
      await queue.removeJobScheduler(id);
      return;
    }
    const [hours, minutes] = subscription.time.split(':').map(Number);
    await queue.upsertJobScheduler(
      id,
      { pattern: `${minutes} ${hours} * * *`, tz: subscription.timezone },
      { name: 'compose', data: { subscriptionId: subscription.id }, opts: { removeOnComplete: 100, removeOnFail: 500, attempts: 5, backoff: { type: 'exponential', delay: 5000 } } },
    );
  }

  async reconcile(subscriptions: readonly DigestSchedule[]): Promise<void> {
    const queue = this.queues.queue(DIGESTS_QUEUE);
    const wanted = new Set(subscriptions.filter((s) => s.active && s.time).map((s) => `digest:${s.id}`));
    for (const scheduler of await queue.getJobSchedulers(0, -1)) {
      const key = (scheduler as { key?: string; id?: string }).key ?? (scheduler as { id?: string }).id;
      if (key && key.startsWith('digest:') && !wanted.has(key)) await queue.removeJobScheduler(key);
    }
    for (const subscription of subscriptions) await this.sync(subscription);
  }
}

/**
 * Composes a subscriber's daily digest: every alert collected since the last one, grouped by chip and destination,
 * sent as one delivery (retried like any other). A day with nothing to say sends nothing.
 */
export class DigestComposer {
  constructor(
    private readonly db: Database,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
  ) {}

  async compose(subscriptionId: string): Promise<{ deliveryId: string; alerts: number } | null> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const subscription = await tx.query<{ id: string; channel: 'email' | 'webhook'; target: string; digest_timezone: string | null; status: string }>(
        `SELECT id, channel, target, digest_timezone, status FROM subscriptions WHERE id = $1 FOR UPDATE`,
        [subscriptionId],
      );
      const sub = subscription.rows[0];
      if (!sub || sub.status !== 'active') return null;
      const items = await tx.query<{ id: string; payload: AlertPayload; occurred_at: Date }>(
        `SELECT id, payload, occurred_at FROM deliveries WHERE subscription_id = $1 AND status = 'digest' ORDER BY occurred_at`,
        [subscriptionId],
      );
      if (items.rows.length === 0) return null;
      const timezone = sub.digest_timezone ?? 'UTC';
      const date = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
      // The first collected alert names the digest: composing twice from the same alerts sends one digest.
      const alertKey = `digest:${date}:${items.rows[0]!.id}`;
      const recipient = `sub:${sub.id}`;
      const id = deterministicUuid(`delivery:${recipient}:${alertKey}`);
      const payload: AlertPayload = {
        type: 'digest.daily',
        timestamp: now.toISOString(),
        data: {
          subscriptionId: sub.id,
          date,
          timezone,
          ...groupDigest(items.rows.map((row) => ({ type: row.payload.type, occurredAt: row.occurred_at.toISOString(), data: row.payload.data }))),
        },
      };
      const inserted = await tx.query(
        `INSERT INTO deliveries (id, subscription_id, recipient, alert_key, channel, target, type, payload, status, next_attempt_at, occurred_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'digest.daily', $7, 'pending', $8, $8, $8) ON CONFLICT (recipient, alert_key) DO NOTHING`,
        [id, sub.id, recipient, alertKey, sub.channel, sub.target, JSON.stringify(payload), now],
      );
      if (!inserted.rowCount) return null;
      await tx.query(`UPDATE deliveries SET status = 'digested', digest_id = $2 WHERE id = ANY ($1::uuid[])`, [items.rows.map((row) => row.id), id]);
      await this.queue.enqueue(id, 1, 0);
      return { deliveryId: id, alerts: items.rows.length };
    });
  }
}
