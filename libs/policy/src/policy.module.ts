import { Module } from '@nestjs/common';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { EventQueries } from './event-queries';
import { EventsController } from './events.controller';
import { RecordPolicyEvent } from './record-policy-event.handler';

@Module({
  controllers: [EventsController],
  providers: [
    { provide: RecordPolicyEvent, useFactory: (store: EventStore) => new RecordPolicyEvent(store), inject: [EventStore] },
    { provide: EventQueries, useFactory: (db: Database) => new EventQueries(db), inject: [Database] },
  ],
  exports: [RecordPolicyEvent, EventQueries],
})
export class PolicyModule {}
