import { Module } from '@nestjs/common';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { EventQueries } from './event-queries';
import { EventsController } from './events.controller';
import { ImportPolicyEvents } from './import-policy-events.handler';
import { RecordPolicyEvent } from './record-policy-event.handler';
import { Clock } from '@chiptrail/runtime';

@Module({
  controllers: [EventsController],
  providers: [
    { provide: RecordPolicyEvent, useFactory: (store: EventStore) => new RecordPolicyEvent(store), inject: [EventStore] },
    { provide: ImportPolicyEvents, useFactory: (store: EventStore, clock: Clock) => new ImportPolicyEvents(store, clock), inject: [EventStore, Clock] },
    { provide: EventQueries, useFactory: (db: Database) => new EventQueries(db), inject: [Database] },
  ],
  exports: [RecordPolicyEvent, ImportPolicyEvents, EventQueries],
})
export class PolicyModule {}
