import { z } from 'zod';
import { IllegalStateError, NotFoundError, ValidationError, instantText, parseInstant, parseWith } from '@chiptrail/domain';
import type { Principal } from '@chiptrail/auth';
import type { Database } from '@chiptrail/db';
import { UUID_PATTERN, type Clock } from '@chiptrail/runtime';
import type { DeliveryQueue } from './delivery-queue';

export const deliveriesQuery = z
  .object({
    subscriptionId: z.uuid().optional(),
    status: z.enum(['pending', 'retrying', 'scheduled', 'digest', 'digested', 'delivered', 'dead', 'skipped', 'failed']).optional().describe('"failed" means retrying or dead'),
    type: z.string().max(100).optional(),
    since: instantText.optional(),
    limit: z.string().regex(/^\d{1,3}$/, 'must be a number from 1 to 500').optional(),
    before: z.string().max(100).optional().describe('Cursor: the createdAt|id of the last row of the previous page'),
  })
  .strict();

interface DeliveryRow {
  id: string;
  subscription_id: string | null;
  recipient: string;
  channel: string;
  target: string;
  type: string;
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  payload: unknown;
  attempt_log: Array<{ attempt: number; attempted_at: string; status_code: number | null; latency_ms: number; outcome: string; error: string | null }> | null;
}

function view(row: DeliveryRow) {
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return {
    id: row.id,
    webhookId: row.channel === 'webhook' ? `msg_${row.id.replace(/-/g, '')}` : null,
    subscriptionId: row.subscription_id,
    recipient: row.recipient,
    channel: row.channel,
    target: row.target,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: iso(row.next_attempt_at),
    lastAttemptAt: iso(row.last_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: row.created_at.toISOString(),
    deliveredAt: iso(row.delivered_at),
    payload: row.payload,
    attemptLog: (row.attempt_log ?? []).map((a) => ({
      attempt: a.attempt,
      at: a.attempted_at,
      statusCode: a.status_code,
      latencyMs: a.latency_ms,
      outcome: a.outcome,
      error: a.error,
    })),
  };
}

const SELECT = `
  SELECT d.*, s.owner AS owner,
         (SELECT json_agg(a ORDER BY a.attempt) FROM delivery_attempts a WHERE a.delivery_id = d.id) AS attempt_log
    FROM deliveries d LEFT JOIN subscriptions s ON s.id = d.subscription_id`;

/** The delivery log: every alert to every recipient and every attempt at it. */
export class DeliveriesQueries {
  constructor(
    private readonly db: Database,
    private readonly queue: DeliveryQueue,
    private readonly clock: Clock,
  ) {}

  async list(rawQuery: unknown, principal: Principal) {
    const query = parseWith(deliveriesQuery, rawQuery ?? {}, 'query');
    const limit = query.limit ? Number(query.limit) : 50;
    if (limit < 1 || limit > 500) throw ValidationError.field('query.limit', 'must be a number from 1 to 500');
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (clause: (p: string) => string, value: unknown) => {
      values.push(value);
      where.push(clause(`$${values.length}`));
    };
    if (principal.role !== 'admin') add((p) => `s.owner = ${p}`, principal.id);
    if (query.subscriptionId) add((p) => `d.subscription_id = ${p}`, query.subscriptionId);
    if (query.status === 'failed') where.push(`d.status IN ('retrying', 'dead')`);
    else if (query.status) add((p) => `d.status = ${p}`, query.status);
    if (query.type) add((p) => `d.type = ${p}`, query.type);
    if (query.since) add((p) => `d.created_at >= ${p}`, parseInstant(query.since));
    if (query.before) {
      const [at, id] = query.before.split('|');
      if (!at || Number.isNaN(Date.parse(at)) || !id || !UUID_PATTERN.test(id)) throw ValidationError.field('query.before', 'is not a cursor this API returned.');
      values.push(at, id);
      where.push(`(d.created_at, d.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(limit + 1);
    const { rows } = await this.db.query<DeliveryRow>(
      `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.created_at DESC, d.id DESC LIMIT $${values.length}`,
      values,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(view), nextCursor: rows.length > limit && last ? `${last.created_at.toISOString()}|${last.id}` : null };
  }

  async get(id: string, principal: Principal) {
    return view(await this.row(id, principal));
  }

  /** Sends a failed (or dead) delivery again now. */
  async retry(id: string, principal: Principal) {
    const row = await this.row(id, principal);
    if (!['retrying', 'dead', 'skipped'].includes(row.status)) {
      throw new IllegalStateError('not_failed', `Delivery ${id} is ${row.status}; only failed deliveries are retried.`);
    }
    await this.db.query(`UPDATE deliveries SET status = 'retrying', next_attempt_at = $2 WHERE id = $1`, [id, this.clock.now()]);
    await this.queue.enqueue(id, row.attempts + 1, 0);
    return view(await this.row(id, principal));
  }

  private async row(id: string, principal: Principal): Promise<DeliveryRow> {
    if (!UUID_PATTERN.test(id)) throw ValidationError.field('id', 'must be a UUID.');
    const { rows } = await this.db.query<DeliveryRow & { owner: string | null }>(`${SELECT} WHERE d.id = $1`, [id]);
    const row = rows[0];
    if (!row || (principal.role !== 'admin' && (row as { owner?: string | null }).owner !== principal.id)) {
      throw new NotFoundError('delivery_not_found', `No delivery ${id}.`);
    }
    return row;
  }
}
