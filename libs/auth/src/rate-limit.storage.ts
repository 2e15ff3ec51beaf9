import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Sql } from '@chiptrail/db';
import type { Clock } from '@chiptrail/runtime';

/**
 * @nestjs/throttler's counts kept in PostgreSQL: every api replica sees the same count for an address, and a
 * restart forgets nothing. A fixed window per key; crossing the limit blocks the key for `blockDuration`.
 */
export class RateLimitStorage implements ThrottlerStorage {
  constructor(
    private readonly db: Sql,
    private readonly clock: Clock,
  ) {}

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string) {
    const now = this.clock.now();
    const { rows } = await this.db.query<{ hits: number; window_ends_at: Date; blocked_until: Date | null }>(
      `INSERT INTO rate_limits AS r (key, hits, window_ends_at, blocked_until)
       VALUES ($1, 1, $2::timestamptz + make_interval(secs => $3 / 1000.0), NULL)
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.window_ends_at <= $2 THEN 1 ELSE r.hits + 1 END,
         window_ends_at = CASE WHEN r.window_ends_at <= $2 THEN EXCLUDED.window_ends_at ELSE r.window_ends_at END,
         blocked_until = CASE
           WHEN r.blocked_until > $2 THEN r.blocked_until
           WHEN (CASE WHEN r.window_ends_at <= $2 THEN 1 ELSE r.hits + 1 END) > $4
             THEN $2::timestamptz + make_interval(secs => $5 / 1000.0)
           ELSE NULL END
       RETURNING hits, window_ends_at, blocked_until`,
      [`${throttlerName}:${key}`, now, ttl, limit, blockDuration],
    );
    const row = rows[0]!;
    const blockedFor = row.blocked_until ? row.blocked_until.getTime() - now.getTime() : 0;
    return {
      totalHits: row.hits,
      timeToExpire: Math.max(0, Math.ceil((row.window_ends_at.getTime() - now.getTime()) / 1000)),
      isBlocked: blockedFor > 0,
      timeToBlockExpire: Math.max(0, Math.ceil(blockedFor / 1000)),
    };
  }
}
