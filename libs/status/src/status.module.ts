import { Module } from '@nestjs/common';
import { Database } from '@chiptrail/db';
import { Clock, Logger } from '@chiptrail/runtime';
import { StatusCache } from './status-cache';
import { StatusController } from './status.controller';
import { StatusQueries } from './status.queries';

@Module({
  controllers: [StatusController],
  providers: [
    {
      provide: StatusCache,
      useFactory: async (db: Database, logger: Logger) => {
        const cache = new StatusCache(db, logger);
        await cache.start();
        return cache;
      },
      inject: [Database, Logger],
    },
    {
      provide: StatusQueries,
      useFactory: (db: Database, clock: Clock, cache: StatusCache) => new StatusQueries(db, clock, cache),
      inject: [Database, Clock, StatusCache],
    },
  ],
  exports: [StatusQueries, StatusCache],
})
export class StatusModule {}
