import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { Runtime } from '@chiptrail/platform';
import { QueueBackend } from '@chiptrail/queue';
import { Clock, Logger } from '@chiptrail/runtime';
import { CONFIG } from './config.token';
import { HealthCheck } from './health/health-check';
import { HealthController } from './health/health.controller';
import { ProblemDetailsFilter } from './http/problem-details';
import { IntegrityController } from './integrity/integrity.controller';

/** Shared infrastructure from the composition root, offered to every feature module under its own class. */
export function runtimeProviders(runtime: Runtime) {
  return [
    { provide: Runtime, useValue: runtime },
    { provide: CONFIG, useValue: runtime.config },
    { provide: Database, useValue: runtime.db },
    { provide: EventStore, useValue: runtime.store },
    { provide: QueueBackend, useValue: runtime.queues },
    { provide: Clock, useValue: runtime.clock },
    { provide: Logger, useValue: runtime.logger },
  ];
}

@Module({})
export class ApiModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: ApiModule,
      global: true,
      controllers: [HealthController, IntegrityController],
      providers: [
        ...runtimeProviders(runtime),
        { provide: HealthCheck, useFactory: () => new HealthCheck(runtime.db, runtime.queues, runtime.clock) },
        { provide: APP_FILTER, useFactory: () => new ProblemDetailsFilter(runtime.logger) },
      ],
      exports: runtimeProviders(runtime).map((provider) => provider.provide),
    };
  }
}
