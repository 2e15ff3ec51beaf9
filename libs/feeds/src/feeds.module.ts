import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { AddressGuard, SafeFetcher } from '@chiptrail/outbound';
import { PolicyModule, RecordPolicyEvent } from '@chiptrail/policy';
import { QueueBackend } from '@chiptrail/queue';
import { Clock, Logger } from '@chiptrail/runtime';
import { FeedPoller } from './feed-poller';
import { FeedScheduler } from './feed-scheduler';
import { FeedsController, InboxController } from './feeds.controller';
import { FeedsService } from './feeds.service';
import { InboxService } from './inbox.service';

@Module({
  imports: [PolicyModule],
  controllers: [FeedsController, InboxController],
  providers: [
    { provide: AddressGuard, useFactory: (config: AppConfig) => new AddressGuard(config.outboundAllowlist), inject: [APP_CONFIG] },
    { provide: SafeFetcher, useFactory: (guard: AddressGuard) => new SafeFetcher(guard), inject: [AddressGuard] },
    { provide: FeedScheduler, useFactory: (queues: QueueBackend) => new FeedScheduler(queues), inject: [QueueBackend] },
    {
      provide: FeedPoller,
      useFactory: (db: Database, store: EventStore, fetcher: SafeFetcher, clock: Clock, logger: Logger, config: AppConfig) =>
        new FeedPoller(db, store, fetcher, clock, logger, { timeoutMs: config.feedTimeoutMs, failureThreshold: config.feedFailureThreshold }),
      inject: [Database, EventStore, SafeFetcher, Clock, Logger, APP_CONFIG],
    },
    {
      provide: FeedsService,
      useFactory: (db: Database, scheduler: FeedScheduler, poller: FeedPoller, guard: AddressGuard, clock: Clock) =>
        new FeedsService(db, scheduler, poller, guard, clock),
      inject: [Database, FeedScheduler, FeedPoller, AddressGuard, Clock],
    },
    { provide: InboxService, useFactory: (db: Database, record: RecordPolicyEvent, clock: Clock) => new InboxService(db, record, clock), inject: [Database, RecordPolicyEvent, Clock] },
  ],
  exports: [FeedsService, FeedPoller, FeedScheduler, InboxService, SafeFetcher, AddressGuard],
})
export class FeedsModule {}
