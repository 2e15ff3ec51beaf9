import {
  ANY_DESTINATION,
  isPolicyEventType,
  matchesFilters,
  mayMatchStatusChangeOf,
  statusChangeSubject,
  summarizeStatusChange,
  type AlertSubject,
  type StatusChangeSummary,
} from '@chiptrail/domain';
import type { Sql } from '@chiptrail/db';
import type { StoredEvent } from '@chiptrail/event-store';
import type { EventProjection } from '@chiptrail/projections';
import { ChipKnowledgeReader, statusChanges, type StatusChange } from '@chiptrail/status';
import { deterministicUuid } from '@chiptrail/runtime';
import type { DeliveryQueue } from './delivery-queue';
import type { AlertPayload } from './render';
import type { SubscriptionRow as StoredSubscription } from './subscriptions.service';

/** The columns of an active subscription the dispatcher reads. */
type SubscriptionRow = Pick<StoredSubscription, 'id' | 'owner' | 'channel' | 'target' | 'filters' | 'mode' | 'created_at' | 'confirmed_at'>;

interface NewDelivery {
  readonly id: string;
  readonly subscriptionId: string | null;
  readonly recipient: string;
  readonly alertKey: string;
  readonly channel: 'email' | 'webhook';
  readonly target: string;
  readonly payload: AlertPayload;
  readonly status: 'pending' | 'scheduled' | 'digest';
  readonly nextAttemptAt: Date | null;
  readonly occurredAt: Date;
}

/** The advisory lock a dispatching batch holds until it commits (see DeliveryService.attempt). */
export const DISPATCH_LOCK = [0x43540002, 1] as const;

/**
 * The alert dispatcher: a projection over the log (the log is the outbox). For each event it works out who must be
 * told what, writes one delivery per (recipient, alert) under a unique key, and enqueues a job per new delivery
 * before its checkpoint moves: if the queue is away, the batch fails, nothing moves, and the same events are
 * dispatched again when it is back. Alerts are late, never lost, never doubled.
 *
 * It reads no further than the policy projection has got: the status changes it reports are the difference the
 * policy facts show just before and at each append.
 */
export class AlertDispatcher implements EventProjection {
  readonly name = 'alert_dispatcher';
  readonly tables = [] as const;
  readonly batchSize = 200;
  readonly rebuildable = false;

  constructor(private readonly queue: DeliveryQueue) {}

  readonly follows = 'policy';

  async apply(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    const subscriptions = (
      await tx.query<SubscriptionRow>(
        `SELECT id, owner, channel, target, filters, mode, created_at, confirmed_at FROM subscriptions WHERE status = 'active'`,
      )
    ).rows;
    const admins = (
      await tx.query<{ email: string }>(
        `SELECT email FROM users u WHERE role = 'admin'
            AND NOT EXISTS (SELECT 1 FROM settings s WHERE s.key = 'notices-optout:' || u.email)`,
      )
    ).rows.map((row) => row.email);
    const deliveries: NewDelivery[] = [];
    for (const event of events) {
      if (isPolicyEventType(event.type)) await this.policyEvent(event, subscriptions, tx, deliveries);
      else if (event.type === 'FeedHealthChanged' || event.type === 'SubscriptionDisabled') this.systemEvent(event, subscriptions, admins, deliveries);
    }
    if (deliveries.length === 0) return;
    // Held until this batch commits: a delivery job that runs before then waits on it instead of retrying later.
    await tx.query(`SELECT pg_advisory_xact_lock($1, $2)`, [...DISPATCH_LOCK]);

    const { rows } = await tx.query<{ id: string; status: string; next_attempt_at: Date | null }>(
      `INSERT INTO deliveries (id, subscription_id, recipient, alert_key, channel, target, type, payload, status, next_attempt_at, occurred_at, created_at)
       SELECT id, subscription_id, recipient, alert_key, channel, target, type, payload, status, next_attempt_at, occurred_at, occurred_at
         FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, subscription_id uuid, recipient text, alert_key text, channel text, target text,
              type text, payload jsonb, status text, next_attempt_at timestamptz, occurred_at timestamptz)
       ON CONFLICT (recipient, alert_key) DO NOTHING
       RETURNING id, status, next_attempt_at`,
      [
        JSON.stringify(
          deliveries.map((d) => ({
            id: d.id,
            subscription_id: d.subscriptionId,
            recipient: d.recipient,
            alert_key: d.alertKey,
            channel: d.channel,
            target: d.target,
            type: d.payload.type,
            payload: d.payload,
            status: d.status,
            next_attempt_at: d.nextAttemptAt,
            occurred_at: d.occurredAt,
          })),
        ),
      ],
    );
    // Enqueue before the checkpoint commits: an enqueue that fails rolls the whole batch back.
    await this.queue.enqueueFirstAttempts(rows.filter((row) => row.status === 'pending').map((row) => row.id));
    for (const row of rows) {
      if (row.status === 'scheduled' && row.next_attempt_at) await this.queue.enqueueAt(row.id, 1, row.next_attempt_at);
    }
  }

  private async policyEvent(event: StoredEvent, subscriptions: readonly SubscriptionRow[], tx: Sql, out: NewDelivery[]): Promise<void> {
    const listening = subscriptions.filter((sub) => since(sub) <= event.recordedAt.getTime());
    if (listening.length === 0) return;
    const causes = [{ type: event.type, authority: typeof event.data.authority === 'string' ? event.data.authority : null }];
    const concerns = (chip: string) => listening.some((sub) => mayMatchStatusChangeOf(sub.filters, chip));
    for await (const { change, named } of this.statusChanges(event, concerns, tx)) {
      const summary = summarizeStatusChange(change);
      if (!summary) continue;
      // "*" stands for every destination without rules of its own: for a subscriber's destinations, that is them.
      const explicit = change.destination === ANY_DESTINATION ? named : new Set<string>();
      for (const sub of listening) {
        const destinations =
          change.destination !== ANY_DESTINATION
            ? [change.destination]
            : sub.filters.destinations?.length
              ? sub.filters.destinations.filter((d) => !explicit.has(d))
              : [ANY_DESTINATION];
        for (const destination of destinations) {
          const subject: AlertSubject = statusChangeSubject(summary, causes, destination);
          if (!matchesFilters(sub.filters, subject)) continue;
          this.statusAlerts(sub, summary, destination, event, out);
        }
      }
    }
    const subject = eventSubject(event);
    for (const sub of listening) {
      if (!matchesFilters(sub.filters, subject)) continue;
      out.push(
        delivery(sub, `event:${event.id}`, {
          type: 'policy.event.recorded',
          timestamp: event.recordedAt.toISOString(),
          data: {
            eventId: event.id,
            type: event.type,
            authority: subject.authorities[0] ?? null,
            title: typeof event.data.title === 'string' ? event.data.title : null,
            effectiveAt: event.effectiveAt.toISOString(),
            recordedAt: event.recordedAt.toISOString(),
            data: event.data,
            source: event.metadata.source ?? null,
          },
        }, event.recordedAt),
      );
    }
  }

  private statusAlerts(sub: SubscriptionRow, summary: StatusChangeSummary, destination: string, event: StoredEvent, out: NewDelivery[]): void {
    const data = { ...summary, destination, causes: [{ eventId: event.id, type: event.type, title: event.data.title ?? null, source: event.metadata.source ?? null }] };
    out.push(delivery(sub, `status:${summary.chip}:${destination}:${summary.knownAt}`, { type: 'chip.status.changed', timestamp: summary.knownAt, data }, event.recordedAt));
    for (const upcoming of summary.upcoming) {
      const payload: AlertPayload = {
        type: 'chip.status.effective',
        timestamp: upcoming.effectiveAt,
        data: { chip: summary.chip, destination, effectiveAt: upcoming.effectiveAt, status: upcoming.status, announcedAt: summary.knownAt, basis: summary.basis },
      };
      const reminder = delivery(sub, `reminder:${summary.chip}:${destination}:${upcoming.effectiveAt}`, payload, new Date(upcoming.effectiveAt));
      out.push({ ...reminder, status: 'scheduled', nextAttemptAt: new Date(upcoming.effectiveAt) });
    }
  }

  private systemEvent(event: StoredEvent, subscriptions: readonly SubscriptionRow[], admins: readonly string[], out: NewDelivery[]): void {
    const type = event.type === 'FeedHealthChanged' ? 'feed.health.changed' : 'subscription.disabled';
    const payload: AlertPayload = { type, timestamp: event.recordedAt.toISOString(), data: event.data };
    const key = `${type}:${event.id}`;
    const recipients = new Set(admins.map((email) => `admin:${email}`));
    if (event.type === 'SubscriptionDisabled') {
      const owner = String(event.data.owner ?? '');
      if (owner.startsWith('user:')) recipients.add(`owner:${owner.slice('user:'.length)}`);
    }
    for (const recipient of recipients) {
      const email = recipient.slice(recipient.indexOf(':') + 1);
      out.push({
        id: deterministicUuid(`delivery:${recipient}:${key}`),
        subscriptionId: null,
        recipient,
        alertKey: key,
        channel: 'email',
        target: email,
        payload,
        status: 'pending',
        nextAttemptAt: event.recordedAt,
        occurredAt: event.recordedAt,
      });
    }
    const subject: AlertSubject = { kind: 'event', chips: [], bands: [], destinations: [], authorities: [], eventTypes: [event.type] };
    for (const sub of subscriptions) {
      if (since(sub) > event.recordedAt.getTime() || !sub.filters.eventTypes?.includes(event.type)) continue;
      if (!matchesFilters(sub.filters, subject)) continue;
      out.push(delivery(sub, key, payload, event.recordedAt));
    }
  }

  /**
   * The status changes the event's append made, chip by chip (one chip's knowledge in memory at a time): each chip it
   * may concern that some subscriber could be told about, as known just before that append and with it, and the
   * destinations with rules of their own after.
   */
  private async *statusChanges(event: StoredEvent, concerns: (chip: string) => boolean, tx: Sql): AsyncGenerator<{ change: StatusChange; named: ReadonlySet<string> }> {
    const { rows } = await tx.query<{ known_at: Date; chips: string[] }>(`SELECT known_at, chips FROM knowledge_changes WHERE event_id = $1`, [event.id]);
    const known = rows[0];
    if (!known) return;
    const reader = new ChipKnowledgeReader(tx);
    // Knowledge times are kept to the millisecond: one millisecond earlier is the moment before the append.
    const justBefore = new Date(known.known_at.getTime() - 1);
    for (const chip of known.chips) {
      if (!concerns(chip)) continue;
      const before = await reader.at(chip, justBefore);
      const after = await reader.at(chip, known.known_at);
      const named = new Set(after?.destinations ?? []);
      for (const change of statusChanges(chip, known.known_at, before, after)) yield { change, named };
    }
  }
}

/** Subscribers hear about what is recorded after they subscribed (e-mail: after they confirmed). */
function since(sub: SubscriptionRow): number {
  return (sub.channel === 'email' ? (sub.confirmed_at ?? sub.created_at) : sub.created_at).getTime();
}

function delivery(sub: SubscriptionRow, alertKey: string, payload: AlertPayload, occurredAt: Date): NewDelivery {
  const recipient = `sub:${sub.id}`;
  return {
    id: deterministicUuid(`delivery:${recipient}:${alertKey}`),
    subscriptionId: sub.id,
    recipient,
    alertKey,
    channel: sub.channel,
    target: sub.target,
    payload,
    status: sub.mode === 'daily' ? 'digest' : 'pending',
    nextAttemptAt: sub.mode === 'daily' ? null : occurredAt,
    occurredAt,
  };
}

function eventSubject(event: StoredEvent): AlertSubject {
  const data = event.data as Record<string, unknown>;
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const scope = (data.scope ?? {}) as Record<string, unknown>;
  const subjects = (data.subjects ?? {}) as Record<string, unknown>;
  return {
    kind: 'event',
    chips: [...(typeof data.chip === 'string' ? [data.chip] : []), ...list(scope.chips), ...list(data.chips), ...list(subjects.chips)],
    bands: list(scope.eccnBands),
    destinations: list(data.destinations),
    authorities: typeof data.authority === 'string' ? [data.authority] : [],
    eventTypes: [event.type],
  };
}
