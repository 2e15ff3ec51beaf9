import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AlertsModule } from '@chiptrail/alerts';
import { AuthModule } from '@chiptrail/auth';
import { FeedsModule } from '@chiptrail/feeds';
import { ProblemDetailsFilter } from '@chiptrail/http';
import { Runtime, RuntimeModule } from '@chiptrail/platform';
import { PolicyModule } from '@chiptrail/policy';
import { StatusModule } from '@chiptrail/status';
import { HealthCheck } from './health/health-check';
import { HealthController } from './health/health.controller';
import { MetricsController } from './health/metrics.controller';
import { IntegrityController } from './integrity/integrity.controller';

@Module({})
export class ApiModule {
  static register(runtime: Runtime): DynamicModule {
    return {
      module: ApiModule,
      imports: [RuntimeModule.register(runtime), AuthModule, PolicyModule, StatusModule, FeedsModule, AlertsModule],
      controllers: [HealthController, MetricsController, IntegrityController],
      providers: [
        { provide: HealthCheck, useFactory: () => new HealthCheck(runtime.db, runtime.queues, runtime.clock, runtime.config.projectionStallSeconds * 1000) },
        { provide: APP_FILTER, useFactory: () => new ProblemDetailsFilter(runtime.logger) },
      ],
    };
  }
}
