import { isIP } from 'node:net';
import { z } from 'zod';
import {
  IllegalStateError,
  NotFoundError,
  ValidationError,
  instantText,
  parseInstant,
  parseWith,
  subscriptionFiltersSchema,
  type SubscriptionFilters,
} from '@chiptrail/domain';
import type { Principal } from '@chiptrail/auth';
import type { Database } from '@chiptrail/db';
import type { AddressGuard } from '@chiptrail/outbound';
import { UUID_PATTERN, deterministicUuid, uuidv7, type Clock } from '@chiptrail/runtime';
import type { DeliveryQueue } from './delivery-queue';
import type { DeliveryService } from './delivery.service';
import type { DigestScheduler } from './digests';
import type { LinkTokens } from './link-tokens';
import { newWebhookSecret } from './webhook-signature';

const digest = z
  .object({
    time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)'),
    timezone: z.string().max(64).refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Berlin' }),
  })
  .strict();

const common = { filters: subscriptionFiltersSchema.optional(), mode: z.enum(['immediate', 'daily']).optional(), digest: digest.optional() };

export const createSubscriptionBody = z
  .discriminatedUnion('channel', [
    z.object({ channel: z.literal('email'), address: z.email('must be an e-mail address').max(320), ...common }).strict(),
    z.object({ channel: z.literal('webhook'), url: z.string().max(2000), ...common }).strict(),
  ])
  .refine((body) => body.mode !== 'daily' || body.digest !== undefined, { message: 'a daily digest needs digest.time and digest.timezone', path: ['digest'] });

export const recoverBody = z.object({ since: instantText }).strict();

export interface SubscriptionRow {
  id: string;
  owner: string;
  channel: 'email' | 'webhook';
  target: string;
  filters: SubscriptionFilters;
  mode: 'immediate' | 'daily';
  digest_time: string | null;
  digest_timezone: string | null;
  status: string;
  previous_secret_until: Date | null;
  failing_since: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
  confirmed_at: Date | null;
}

function view(row: SubscriptionRow) {
  return {
    id: row.id,
    owner: row.owner,
    channel: row.channel,
    ...(row.channel === 'email' ? { address: row.target } : { url: row.target }),
    filters: row.filters,
    mode: row.mode,
    digest: row.digest_time ? { time: row.digest_time, timezone: row.digest_timezone } : null,
    status: row.status,
    failingSince: row.failing_since?.toISOString() ?? null,
    disabledReason: row.disabled_reason,
    previousSecretValidUntil: row.previous_secret_until?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    confirmedAt: row.confirmed_at?.toISOString() ?? null,
  };
}

/** Subscriptions: who wants to hear about what, and how. Owners see and manage their own; admins all. */
export class SubscriptionsService {
  constructor(
    private readonly db: Database,
    private readonly queue: DeliveryQueue,
    private readonly deliveries: DeliveryService,
    private readonly digests: DigestScheduler,
    private readonly links: LinkTokens,
    private readonly guard: AddressGuard,
    private readonly clock: Clock,
  ) {}

  async create(rawBody: unknown, principal: Principal) {
    const body = parseWith(createSubscriptionBody, rawBody, 'body');
    const now = this.clock.now();
    const id = uuidv7(now.getTime());
    const target = body.channel === 'email' ? body.address.toLowerCase() : this.checkWebhookUrl(body.url);
    const secret = body.channel === 'webhook' ? newWebhookSecret() : null;
    const status = body.channel === 'email' ? 'pending' : 'active';
    // created_at and confirmed_at are the database's time: they are compared with events' recorded_at.
    await this.db.query(
      `INSERT INTO subscriptions (id, owner, channel, target, filters, mode, digest_time, digest_timezone, status, secret, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp(), $11)`,
      [id, principal.id, body.channel, target, JSON.stringify(body.filters ?? {}), body.mode ?? 'immediate', body.digest?.time ?? null, body.digest?.timezone ?? null, status, secret, now],
    );
    if (body.channel === 'email') await this.sendConfirmation(id, target, now);
    await this.syncDigest(id);
    return { ...view(await this.row(id)), ...(secret ? { secret } : {}) };
  }

  async list(principal: Principal) {
    const { rows } = await this.db.query<SubscriptionRow>(
      `SELECT * FROM subscriptions WHERE status <> 'deleted' AND ($1 OR owner = $2) ORDER BY created_at`,
      [principal.role === 'admin', principal.id],
    );
    return rows.map(view);
  }

  async get(id: string, principal: Principal) {
    return view(await this.visible(id, principal));
  }

  async pause(id: string, principal: Principal) {
    const row = await this.visible(id, principal);
    if (row.status !== 'active') throw new IllegalStateError('not_active', `Subscription ${id} is ${row.status}, not active.`);
    await this.setStatus(id, 'paused');
    return this.get(id, principal);
  }

  /** Resumes a paused subscription, or re-enables an endpoint that was disabled for failing. */
  async resume(id: string, principal: Principal) {
    const row = await this.visible(id, principal);
    if (!['paused', 'disabled'].includes(row.status)) throw new IllegalStateError('not_paused', `Subscription ${id} is ${row.status}; only paused or disabled ones resume.`);
    await this.db.query(`UPDATE subscriptions SET status = 'active', failing_since = NULL, disabled_reason = NULL, updated_at = $2 WHERE id = $1`, [id, this.clock.now()]);
    await this.syncDigest(id);
    return this.get(id, principal);
  }

  async remove(id: string, principal: Principal): Promise<void> {
    await this.visible(id, principal);
    await this.setStatus(id, 'deleted');
  }

  /** A new secret, shown once; the old one keeps signing alongside it for 24 hours. */
  async rotateSecret(id: string, principal: Principal) {
    const row = await this.visible(id, principal);
    if (row.channel !== 'webhook') throw new IllegalStateError('not_a_webhook', 'Only webhook subscriptions have a signing secret.');
    const now = this.clock.now();
    const secret = newWebhookSecret();
    await this.db.query(
      `UPDATE subscriptions SET previous_secret = secret, previous_secret_until = $3, secret = $2, updated_at = $4 WHERE id = $1`,
      [id, secret, new Date(now.getTime() + 24 * 3600 * 1000), now],
    );
    return { ...view(await this.row(id)), secret };
  }

  async recover(id: string, rawBody: unknown, principal: Principal) {
    await this.visible(id, principal);
    const { since } = parseWith(recoverBody, rawBody, 'body');
    return { requeued: await this.deliveries.recover(id, parseInstant(since) as Date) };
  }

  /** Double opt-in: only the POSTed confirmation of a signed, unexpired link activates an e-mail subscription. */
  async confirm(token: unknown): Promise<{ id: string; status: string }> {
    const id = await this.links.verify(token, 'confirm', this.clock.now());
    const row = await this.row(id);
    if (row.status === 'pending') {
      await this.db.query(`UPDATE subscriptions SET status = 'active', confirmed_at = clock_timestamp(), updated_at = $2 WHERE id = $1 AND status = 'pending'`, [id, this.clock.now()]);
      await this.syncDigest(id);
    } else if (row.status !== 'active') {
      throw new IllegalStateError('cannot_confirm', `This subscription is ${row.status}.`);
    }
    return { id, status: 'active' };
  }

  /** One-click unsubscribe (RFC 8058), for subscriptions and for admins' operational notices alike. */
  async unsubscribe(token: unknown): Promise<{ target: string }> {
    const subject = await this.links.verify(token, 'unsubscribe', this.clock.now());
    if (subject.startsWith('admin:') || subject.startsWith('owner:')) {
      const email = subject.slice(subject.indexOf(':') + 1);
      await this.db.query(`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [`notices-optout:${email}`, this.clock.now().toISOString()]);
      return { target: email };
    }
    const row = await this.row(subject);
    if (row.status !== 'deleted') await this.setStatus(subject, 'unsubscribed');
    return { target: row.target };
  }

  /** Every subscription as the digest scheduler needs it, for reconciling at worker start. */
  async digestSchedules() {
    const { rows } = await this.db.query<{ id: string; status: string; mode: string; digest_time: string | null; digest_timezone: string | null }>(
      `SELECT id, status, mode, digest_time, digest_timezone FROM subscriptions`,
    );
    return rows.map((row) => ({ id: row.id, active: row.status === 'active' && row.mode === 'daily', time: row.digest_time, timezone: row.digest_timezone }));
  }

  private async sendConfirmation(id: string, address: string, now: Date): Promise<void> {
    const recipient = `sub:${id}`;
    const deliveryId = deterministicUuid(`delivery:${recipient}:confirm`);
    await this.db.query(
      `INSERT INTO deliveries (id, subscription_id, recipient, alert_key, channel, target, type, payload, status, next_attempt_at, occurred_at, created_at)
       VALUES ($1, $2, $3, 'confirm', 'email', $4, 'subscription.confirmation', $5, 'pending', $6, $6, $6) ON CONFLICT (recipient, alert_key) DO NOTHING`,
      [deliveryId, id, recipient, address, JSON.stringify({ type: 'subscription.confirmation', timestamp: now.toISOString(), data: { subscriptionId: id } }), now],
    );
    // If the queue is away, the sweeper sends it once it is back: the delivery row is what counts.
    await this.queue.enqueue(deliveryId, 1, 0).catch(() => undefined);
  }

  private async syncDigest(id: string): Promise<void> {
    const row = await this.row(id);
    await this.digests.sync({ id, active: row.status === 'active' && row.mode === 'daily', time: row.digest_time, timezone: row.digest_timezone });
  }

  private async setStatus(id: string, status: string): Promise<void> {
    await this.db.query(`UPDATE subscriptions SET status = $2, updated_at = $3 WHERE id = $1`, [id, status, this.clock.now()]);
    await this.syncDigest(id);
  }

  /** https anywhere public; http only to hosts the outbound allowlist names (test receivers). */
  private checkWebhookUrl(raw: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw ValidationError.field('body.url', 'must be an https URL.');
    }
    if (url.username || url.password) throw ValidationError.field('body.url', 'must not carry credentials.');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol === 'https:') {
      if (isIP(host) && !this.guard.check(host).allowed) throw ValidationError.field('body.url', `${host} is not an address chiptrail delivers to.`, 'forbidden_address');
      return url.toString();
    }
    if (url.protocol === 'http:' && isIP(host) && this.guard.allowlisted(host)) return url.toString();
    throw ValidationError.field('body.url', 'must be an https URL (plain http only for allow-listed test hosts).');
  }

  private async row(id: string): Promise<SubscriptionRow> {
    if (!UUID_PATTERN.test(id)) throw ValidationError.field('id', 'must be a UUID.');
    const { rows } = await this.db.query<SubscriptionRow>(`SELECT * FROM subscriptions WHERE id = $1`, [id]);
    if (!rows[0]) throw new NotFoundError('subscription_not_found', `No subscription ${id}.`);
    return rows[0];
  }

  private async visible(id: string, principal: Principal): Promise<SubscriptionRow> {
    const row = await this.row(id);
    if (row.status === 'deleted' || (principal.role !== 'admin' && row.owner !== principal.id)) {
      throw new NotFoundError('subscription_not_found', `No subscription ${id}.`);
    }
    return row;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
