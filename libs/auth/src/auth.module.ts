import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { Clock } from '@chiptrail/runtime';
import { AccessGuard } from './access';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';

@Module({
  controllers: [AuthController],
  providers: [
    {
      provide: AuthService,
      useFactory: (db: Database, clock: Clock, config: AppConfig) =>
        new AuthService(db, clock, { tokenSecret: config.tokenSecret, tokenTtlSeconds: config.tokenTtlSeconds }),
      inject: [Database, Clock, APP_CONFIG],
    },
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [AuthService],
})
export class AuthModule {}
