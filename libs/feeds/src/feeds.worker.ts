import type { SafeFetcher } from '@chiptrail/outbound';
import type { Runtime } from '@chiptrail/platform';
import { FEEDS_QUEUE } from './feed-scheduler';
import { feedComponents } from './feeds.components';

/**
 * The worker side of feeds: reconciles the schedulers with the feeds table, then polls feeds as their scheduler
 * ticks. A tick that finds its feed not yet due (backoff, TTL, Retry-After) does nothing.
 */
export async function startFeedWorker(runtime: Runtime, fetcher?: SafeFetcher): Promise<() => Promise<void>> {
  const { feeds, poller, scheduler } = feedComponents(runtime, fetcher ? { fetcher } : {});
  await scheduler.reconcile(await feeds.schedulable());
  const worker = runtime.queues.worker<{ feedId: string }>(FEEDS_QUEUE, async (job) => poller.poll(job.data.feedId, { force: false }), { concurrency: 4 });
  return async () => {
    await worker.close();
  };
}
