import { AddressGuard, SafeFetcher } from '@chiptrail/outbound';
import type { Runtime } from '@chiptrail/platform';
import type { RecordPolicyEvent } from '@chiptrail/policy';
import { FeedPoller } from './feed-poller';
import { FeedScheduler } from './feed-scheduler';
import { FeedsService } from './feeds.service';
import { InboxService } from './inbox.service';

/** Builds the feeds feature once, the same way for the api (Nest providers) and the worker. */
export function feedComponents(runtime: Runtime, options: { fetcher?: SafeFetcher; record?: RecordPolicyEvent } = {}) {
  const guard = new AddressGuard(runtime.config.outboundAllowlist);
  const fetcher = options.fetcher ?? new SafeFetcher(guard);
  const poller = new FeedPoller(runtime.db, runtime.store, fetcher, runtime.clock, runtime.logger, {
    timeoutMs: runtime.config.feedTimeoutMs,
    failureThreshold: runtime.config.feedFailureThreshold,
  });
  const scheduler = new FeedScheduler(runtime.queues);
  return {
    guard,
    fetcher,
    poller,
    scheduler,
    feeds: new FeedsService(runtime.db, scheduler, poller, guard, runtime.clock),
    inbox: options.record ? new InboxService(runtime.db, options.record, runtime.clock) : undefined,
  };
}
