import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, loadTestConfig, type AppConfig } from '@chiptrail/config';
import { Runtime } from '@chiptrail/platform';
import { QueueBackend } from '@chiptrail/queue';
import { Clock, Logger } from '@chiptrail/runtime';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface TestApp {
  readonly baseUrl: string;
  readonly runtime: Runtime;
  readonly app: NestFastifyApplication;
  readonly database: TestDatabase;
  readonly config: AppConfig;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** 'redis' uses the local test Redis; 'postgres' BullMQ's PostgreSQL backend; or an explicit redis:// URL. */
  readonly queue?: 'redis' | 'postgres' | string;
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  readonly database?: TestDatabase;
}

/** The real api on 127.0.0.1 and a random port, on a database (and queue namespace) of the test's own. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase('app'));
  const testConfig = loadTestConfig();
  const redisUrl =
    options.queue === 'redis' ? testConfig.redisUrl : options.queue && options.queue !== 'postgres' ? options.queue : undefined;
  const config = loadConfig({
    PORT: '0',
    DATABASE_URL: database.appUrl,
    SEED_DATASET: 'false',
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    LOG_LEVEL: 'error',
    ...options.env,
  });
  const namespace = `t${process.pid}${randomBytes(3).toString('hex')}`;
  await QueueBackend.migrate({ redisUrl: config.redisUrl, databaseUrl: database.appUrl, namespace }, database.ownerUrl);
  const runtime = await Runtime.create(config, {
    databaseUrl: database.appUrl,
    applicationName: 'chiptrail-test',
    logger: new Logger('error'),
    clock: options.clock,
    queueNamespace: namespace,
  });
  const app = await createApiApp(runtime);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    runtime,
    app,
    database,
    config,
    async close() {
      await app.close();
      await runtime.queues.obliterate().catch(() => undefined);
      await runtime.close();
      if (!options.database) await database.drop();
    },
  };
}

/** A JSON response body as a plain object, for assertions. */
export async function readJson(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}
