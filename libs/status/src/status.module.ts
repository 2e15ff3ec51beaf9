import { Module } from '@nestjs/common';
import { Database } from '@chiptrail/db';
import { Clock } from '@chiptrail/runtime';
import { StatusController } from './status.controller';
import { StatusQueries } from './status.queries';

@Module({
  controllers: [StatusController],
  providers: [{ provide: StatusQueries, useFactory: (db: Database, clock: Clock) => new StatusQueries(db, clock), inject: [Database, Clock] }],
  exports: [StatusQueries],
})
export class StatusModule {}
