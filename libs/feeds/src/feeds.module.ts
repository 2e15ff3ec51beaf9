import { Module } from '@nestjs/common';
import { Runtime } from '@chiptrail/platform';
import { PolicyModule, RecordPolicyEvent } from '@chiptrail/policy';
import { feedComponents } from './feeds.components';
import { FeedsController, InboxController } from './feeds.controller';
import { FeedsService } from './feeds.service';
import { InboxService } from './inbox.service';

const COMPONENTS = Symbol('FeedComponents');

@Module({
  imports: [PolicyModule],
  controllers: [FeedsController, InboxController],
  providers: [
    { provide: COMPONENTS, useFactory: (runtime: Runtime, record: RecordPolicyEvent) => feedComponents(runtime, { record }), inject: [Runtime, RecordPolicyEvent] },
    { provide: FeedsService, useFactory: (c: ReturnType<typeof feedComponents>) => c.feeds, inject: [COMPONENTS] },
    { provide: InboxService, useFactory: (c: ReturnType<typeof feedComponents>) => c.inbox, inject: [COMPONENTS] },
  ],
  exports: [FeedsService, InboxService],
})
export class FeedsModule {}
