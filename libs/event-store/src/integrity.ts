import { createHash } from 'node:crypto';
import type { Sql } from '@chiptrail/db';

export interface BrokenLink {
  readonly position: number;
  readonly eventId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly reason: 'hash_mismatch' | 'missing_predecessor';
}

export interface IntegrityReport {
  readonly ok: boolean;
  readonly eventsVerified: number;
  /** The last position and a digest folding every event hash in global order: record it outside to anchor the log. */
  readonly head: { readonly position: number; readonly hash: string };
  readonly firstBroken: BrokenLink | null;
  readonly brokenCount: number;
  readonly verifiedAt: string;
}

interface Row {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_version: string;
  hash: Buffer;
  hash_ok: boolean;
  linked: boolean;
}

const BATCH = 10_000;

/**
 * Recomputes every event's hash from its stored columns and its stream predecessor's stored hash, so a change to
 * any byte of any event is reported at exactly that event's position.
 */
export async function verifyIntegrity(
  sql: Sql,
  now: () => Date,
  onProgress?: (verified: number, total: number) => void,
): Promise<IntegrityReport> {
  const total = Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM events`)).rows[0]?.n ?? 0);
  const digest = createHash('sha256');
  let after = 0;
  let verified = 0;
  let headPosition = 0;
  let brokenCount = 0;
  let firstBroken: BrokenLink | null = null;

  for (;;) {
    const { rows } = await sql.query<Row>(
      `SELECT e.global_position, e.event_id, e.stream_id, e.stream_version, e.hash,
              e.hash = event_digest(coalesce(p.hash, '\\x'::bytea), e.global_position, e.event_id, e.stream_id,
                                    e.stream_version, e.type, e.schema_version, e.data, e.metadata, e.recorded_at,
                                    e.effective_at, e.transaction_id) AS hash_ok,
              (e.stream_version = 1 OR p.global_position IS NOT NULL) AS linked
         FROM events e
         LEFT JOIN events p ON p.stream_id = e.stream_id AND p.stream_version = e.stream_version - 1
        WHERE e.global_position > $1
        ORDER BY e.global_position
        LIMIT $2`,
      [after, BATCH],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const position = Number(row.global_position);
      const positionBytes = Buffer.alloc(8);
      positionBytes.writeBigUInt64BE(BigInt(position));
      digest.update(positionBytes);
      digest.update(row.hash);
      headPosition = position;
      if (!row.hash_ok || !row.linked) {
        brokenCount += 1;
        firstBroken ??= {
          position,
          eventId: row.event_id,
          streamId: row.stream_id,
          streamVersion: Number(row.stream_version),
          reason: row.linked ? 'hash_mismatch' : 'missing_predecessor',
        };
      }
    }
    verified += rows.length;
    after = headPosition;
    onProgress?.(verified, total);
  }

  return {
    ok: brokenCount === 0,
    eventsVerified: verified,
    head: { position: headPosition, hash: digest.digest('hex') },
    firstBroken,
    brokenCount,
    verifiedAt: now().toISOString(),
  };
}

export interface LogHead {
  /** Events in the log. */
  readonly events: number;
  /** The newest event and its chained hash (it covers its stream's whole history). */
  readonly last: { readonly position: number; readonly eventId: string; readonly streamId: string; readonly hash: string; readonly recordedAt: string } | null;
}

/** The newest event and its hash, read without verifying anything (cheap enough for a page load). */
export async function logHead(sql: Sql): Promise<LogHead> {
  const { rows } = await sql.query<{ global_position: string; event_id: string; stream_id: string; hash: string; recorded_at: Date; events: string }>(
    `SELECT e.global_position, e.event_id, e.stream_id, encode(e.hash, 'hex') AS hash, e.recorded_at,
            (SELECT count(*) FROM events) AS events
       FROM events e ORDER BY e.global_position DESC LIMIT 1`,
  );
  const row = rows[0];
  if (!row) return { events: 0, last: null };
  return {
    events: Number(row.events),
    last: { position: Number(row.global_position), eventId: row.event_id, streamId: row.stream_id, hash: row.hash, recordedAt: row.recorded_at.toISOString() },
  };
}
