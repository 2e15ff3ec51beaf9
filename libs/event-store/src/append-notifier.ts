import type { Sql } from '@chiptrail/db';

export const EVENTS_CHANNEL = 'chiptrail_events';

/**
 * Wakes log readers (projections, the alert dispatcher) after appends commit.
 *
 * NOTIFY is sent after the commit, outside the appending transaction: a NOTIFY inside it would take PostgreSQL's
 * notification-queue lock at commit and serialize every concurrent append. Many appends in a burst share one
 * NOTIFY. A lost notification only delays readers until their next poll.
 */
export class AppendNotifier {
  private pending = false;

  constructor(private readonly db: Sql) {}

  appended(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.db.query(`SELECT pg_notify('${EVENTS_CHANNEL}', '')`).catch(() => undefined);
    });
  }
}
