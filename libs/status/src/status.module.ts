import { Module } from '@nestjs/common';
import { Database } from '@chiptrail/db';
import { Clock, Logger } from '@chiptrail/runtime';
import { ChipKnowledgeReader } from './chip-knowledge';
import { StatusCache } from './status-cache';
import { StatusController } from './status.controller';
import { StatusQueries } from './status.queries';

@Module({
  controllers: [StatusController],
  providers: [
    { provide: ChipKnowledgeReader, useFactory: (db: Database) => new ChipKnowledgeReader(db), inject: [Database] },
    {
      provide: StatusCache,
      useFactory: async (db: Database, reader: ChipKnowledgeReader, logger: Logger) => {
        const cache = new StatusCache(db, reader, logger);
        await cache.start();
        return cache;
      },
      inject: [Database, ChipKnowledgeReader, Logger],
    },
    {
      provide: StatusQueries,
      useFactory: (db: Database, clock: Clock, reader: ChipKnowledgeReader, cache: StatusCache) => new StatusQueries(db, clock, reader, cache),
      inject: [Database, Clock, ChipKnowledgeReader, StatusCache],
    },
  ],
  exports: [StatusQueries, StatusCache, ChipKnowledgeReader],
})
export class StatusModule {}
