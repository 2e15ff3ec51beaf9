import type { Runtime } from '@chiptrail/platform';
import { AddressGuard, SafeFetcher } from '@chiptrail/outbound';
import { FeedPoller } from './feed-poller';
import { FEEDS_QUEUE, FeedScheduler } from './feed-scheduler';
import { FeedsService } from './feeds.service';

/**
 * The worker side of feeds: reconciles the schedulers with the feeds table, then polls feeds as their scheduler
 * ticks. A tick that finds its feed not yet due (backoff, TTL, Retry-After) does nothing.
 */
export async function startFeedWorker(runtime: Runtime, fetcher?: SafeFetcher): Promise<() => Promise<void>> {
  const guard = new AddressGuard(runtime.config.outboundAllowlist);
  const poller = new FeedPoller(runtime.db, runtime.store, fetcher ?? new SafeFetcher(guard), runtime.clock, runtime.logger, {
    timeoutMs: runtime.config.feedTimeoutMs,
    failureThreshold: runtime.config.feedFailureThreshold,
  });
  const scheduler = new FeedScheduler(runtime.queues);
  const feeds = new FeedsService(runtime.db, scheduler, poller, guard, runtime.clock);
  await scheduler.reconcile(await feeds.schedulable());
  const worker = runtime.queues.worker<{ feedId: string }>(FEEDS_QUEUE, async (job) => poller.poll(job.data.feedId, { force: false }), { concurrency: 4 });
  return async () => {
    await worker.close();
  };
}
