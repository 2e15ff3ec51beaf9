import type { QueueBackend } from '@chiptrail/queue';

export const FEEDS_QUEUE = 'feeds';
export const POLL_JOB = 'poll';

export interface SchedulableFeed {
  readonly id: string;
  readonly enabled: boolean;
  readonly deleted: boolean;
  readonly pollIntervalSeconds: number;
}

/**
 * The one place that creates, changes and removes the BullMQ job schedulers that poll feeds: one scheduler per
 * active feed, ticking at its poll interval. Whether a tick actually fetches is the poller's call (backoff, TTL,
 * Retry-After), so a scheduler never needs to know a feed's health.
 */
export class FeedScheduler {
  constructor(private readonly queues: QueueBackend) {}

  async sync(feed: SchedulableFeed): Promise<void> {
    const queue = this.queues.queue(FEEDS_QUEUE);
    const schedulerId = `feed:${feed.id}`;
    if (!feed.enabled || feed.deleted) {
      await queue.removeJobScheduler(schedulerId);
      return;
    }
    await queue.upsertJobScheduler(
      schedulerId,
      { every: feed.pollIntervalSeconds * 1000 },
      { name: POLL_JOB, data: { feedId: feed.id }, opts: { removeOnComplete: 100, removeOnFail: 500, attempts: 3, backoff: { type: 'exponential', delay: 5000 } } },
    );
  }

  /** Brings the schedulers in line with the feeds table: adds missing ones, removes orphans. */
  async reconcile(feeds: readonly SchedulableFeed[]): Promise<void> {
    const queue = this.queues.queue(FEEDS_QUEUE);
    const wanted = new Set(feeds.filter((feed) => feed.enabled && !feed.deleted).map((feed) => `feed:${feed.id}`));
    for (const scheduler of await queue.getJobSchedulers(0, -1)) {
      const key = (scheduler as { key?: string; id?: string }).key ?? (scheduler as { id?: string }).id;
      if (key && key.startsWith('feed:') && !wanted.has(key)) await queue.removeJobScheduler(key);
    }
    for (const feed of feeds) await this.sync(feed);
  }

  async schedulerIds(): Promise<string[]> {
    const schedulers = await this.queues.queue(FEEDS_QUEUE).getJobSchedulers(0, -1);
    return schedulers.map((s) => (s as { key?: string; id?: string }).key ?? (s as { id?: string }).id ?? '').filter(Boolean).sort();
  }
}
