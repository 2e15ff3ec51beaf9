import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, type AppConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { Clock } from '@chiptrail/runtime';
import { AccessGuard } from './access';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { RateLimitStorage } from './rate-limit.storage';
import { SigningKeys } from './signing-keys';

@Module({
  imports: [
    // Only the sign-in route uses ThrottlerGuard (see AuthController): one window for the whole fleet.
    ThrottlerModule.forRootAsync({
      inject: [Database, Clock, APP_CONFIG],
      useFactory: (db: Database, clock: Clock, config: AppConfig) => ({
        throttlers: [{ name: 'default', ttl: 60_000, limit: config.loginRateLimit, blockDuration: 60_000 }],
        storage: new RateLimitStorage(db, clock),
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [
    { provide: SigningKeys, useFactory: (db: Database, config: AppConfig) => new SigningKeys(db, config.tokenSecret), inject: [Database, APP_CONFIG] },
    {
      provide: AuthService,
      useFactory: (db: Database, clock: Clock, keys: SigningKeys, config: AppConfig) => new AuthService(db, clock, keys, { tokenTtlSeconds: config.tokenTtlSeconds, secureCookies: config.publicUrl?.startsWith('https:') ?? false }),
      inject: [Database, Clock, SigningKeys, APP_CONFIG],
    },
    { provide: APP_GUARD, useClass: AccessGuard },
  ],
  exports: [AuthService, SigningKeys],
})
export class AuthModule {}
