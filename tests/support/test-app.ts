import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, loadTestConfig, type AppConfig } from '@chiptrail/config';
import { Runtime } from '@chiptrail/platform';
import { QueueBackend } from '@chiptrail/queue';
import { Clock, Logger } from '@chiptrail/runtime';
import { AuthService, type Role } from '@chiptrail/auth';
import { ProjectionRunner } from '@chiptrail/projections';
import { StatusCache } from '@chiptrail/status';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { onFirstStart } from '../../apps/api/src/first-start';
import { workerParts } from '../../apps/worker/src/worker-parts';
import { freePort } from './processes';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface TestApp {
  readonly baseUrl: string;
  readonly runtime: Runtime;
  readonly app: NestFastifyApplication;
  readonly database: TestDatabase;
  readonly config: AppConfig;
  readonly runners: readonly ProjectionRunner[];
  /** The queue namespace, for other processes that must share this app's queues. */
  readonly namespace: string;
  /** Runs every projection until it has read everything committed so far, and the api's cache has heard of it. */
  settle(): Promise<void>;
  /** A bearer token (admin sign-in) or an API key of the role, for Authorization headers. */
  credential(role: Role): Promise<string>;
  /** fetch against the app with a role's credential and JSON handling. */
  call(role: Role | 'anonymous', method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export const TEST_ADMIN = { email: 'admin@chiptrail.test', password: 'correct horse battery staple' };

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
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: database.appUrl,
    SEED_DATASET: 'false',
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    LOG_LEVEL: 'error',
    ...options.env,
  });
  const namespace = `t${process.pid}${randomBytes(3).toString('hex')}`.toLowerCase();
  await QueueBackend.migrate({ redisUrl: config.redisUrl, databaseUrl: database.appUrl, namespace }, database.ownerUrl);
  const runtime = await Runtime.create(config, {
    databaseUrl: database.appUrl,
    applicationName: 'chiptrail-test',
    logger: new Logger('error'),
    clock: options.clock,
    queueNamespace: namespace,
  });
  const app = await createApiApp(runtime);
  await onFirstStart(app, runtime, () => undefined);
  await app.listen(port, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;
  const runners = workerParts(runtime).projections.map(
    (projection) => new ProjectionRunner(runtime.db, runtime.store, projection, { pollMs: 50, logger: runtime.logger }),
  );
  const credentials = new Map<Role, string>();
  const credential = async (role: Role): Promise<string> => {
    const known = credentials.get(role);
    if (known) return known;
    const auth = app.get(AuthService);
    const created =
      role === 'admin'
        ? (await auth.login(TEST_ADMIN.email, TEST_ADMIN.password)).token
        : (await auth.createApiKey(`test ${role}`, role, { id: 'user:test', role: 'admin' })).key;
    credentials.set(role, created);
    return created;
  };
  return {
    baseUrl,
    runtime,
    app,
    database,
    config,
    runners,
    namespace,
    async settle() {
      // Until every projection has read every event committed so far. Reading stops at the oldest transaction still
      // open anywhere on the server (another test's, another database's): wait for it rather than stop short.
      const deadline = Date.now() + 30_000;
      for (;;) {
        let applied = 0;
        for (const runner of runners) applied += await runner.catchUp();
        if (applied > 0) continue;
        const { rows } = await runtime.db.query<{ behind: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM projection_checkpoints c JOIN events e
                            ON (e.transaction_id, e.global_position) > (c.last_txid, c.last_position)) AS behind`,
        );
        if (!rows[0]?.behind) break;
        if (Date.now() > deadline) throw new Error('projections did not catch up within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The api's status cache hears of projection commits by NOTIFY: wait until it has heard of these.
      await app.get(StatusCache).barrier();
    },
    credential,
    async call(role, method, path, body, headers = {}) {
      const all: Record<string, string> = { ...headers };
      if (body !== undefined && !all['content-type']) all['content-type'] = 'application/json';
      if (role !== 'anonymous') all.authorization = `Bearer ${await credential(role)}`;
      return fetch(`${baseUrl}${path}`, {
        method,
        headers: all,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
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
