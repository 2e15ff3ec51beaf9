import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { QueueBackend } from '@chiptrail/queue';
import { Clock, Logger } from '@chiptrail/runtime';
import { Runtime } from './runtime';

/** Offers the composition root's shared infrastructure to every feature module, each under its own class. */
@Module({})
export class RuntimeModule {
  static register(runtime: Runtime): DynamicModule {
    const providers = [
      { provide: Runtime, useValue: runtime },
      { provide: APP_CONFIG, useValue: runtime.config },
      { provide: Database, useValue: runtime.db },
      { provide: EventStore, useValue: runtime.store },
      { provide: QueueBackend, useValue: runtime.queues },
      { provide: Clock, useValue: runtime.clock },
      { provide: Logger, useValue: runtime.logger },
    ];
    return { module: RuntimeModule, global: true, providers, exports: providers.map((provider) => provider.provide) };
  }
}
