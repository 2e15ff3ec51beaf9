import { Queue, Worker, createPostgresBackend, runMigrations, type Job, type QueueOptions, type WorkerOptions } from 'bullmq';
import IORedis from 'ioredis';
import { Client } from 'pg';

export type QueueBackendKind = 'redis' | 'postgres';

export interface QueueBackendOptions {
  readonly redisUrl: string | undefined;
  /** Used by BullMQ's PostgreSQL backend when there is no Redis. */
  readonly databaseUrl: string;
  /** Isolates tests (Redis key prefix / PostgreSQL schema). */
  readonly namespace?: string;
}

/**
 * BullMQ on Redis when REDIS_URL is set, otherwise on BullMQ's PostgreSQL backend in our own database, so a bare
 * machine needs nothing but Node. Everything that creates queues or workers goes through here.
 */
export class QueueBackend {
  readonly kind: QueueBackendKind;
  private readonly prefix: string;
  private readonly schema: string;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private healthClient: IORedis | undefined;
  private producerConnection: IORedis | undefined;
  private workerConnection: IORedis | undefined;

  constructor(private readonly options: QueueBackendOptions) {
    this.kind = options.redisUrl ? 'redis' : 'postgres';
    this.prefix = options.namespace ? `chiptrail-${options.namespace}` : 'chiptrail';
    this.schema = options.namespace ? `bullmq_${options.namespace.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}` : 'bullmq';
  }

  /** Creates BullMQ's tables once (PostgreSQL backend); a no-op on Redis. Run with the owner role. */
  static async migrate(options: QueueBackendOptions, ownerUrl: string): Promise<void> {
    if (options.redisUrl) return;
    const backend = new QueueBackend(options);
    const client = new Client({ connectionString: ownerUrl });
    await client.connect();
    try {
      await runMigrations(client, backend.schema);
      await client.query(`DO $$ BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'chiptrail_runtime') THEN
          EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO chiptrail_runtime', '${backend.schema}');
          EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO chiptrail_runtime', '${backend.schema}');
          EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO chiptrail_runtime', '${backend.schema}');
          EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO chiptrail_runtime', '${backend.schema}');
        END IF;
      END $$`);
    } finally {
      await client.end();
    }
  }

  queue<T = unknown>(name: string): Queue<T> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = this.kind === 'redis'
        ? new Queue(name, { prefix: this.prefix, connection: this.producer() } as QueueOptions)
        : new Queue(name, { connection: this.pgConnection() } as QueueOptions, createPostgresBackend as never);
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue as Queue<T>;
  }

  worker<T = unknown, R = unknown>(
    name: string,
    processor: (job: Job<T, R>) => Promise<R>,
    options: Partial<WorkerOptions> = {},
  ): Worker<T, R> {
    const worker =
      this.kind === 'redis'
        ? new Worker<T, R>(name, processor, { prefix: this.prefix, connection: this.consumer(), ...options } as WorkerOptions)
        : new Worker<T, R>(name, processor, { connection: this.pgConnection(), ...options } as WorkerOptions, createPostgresBackend as never);
    worker.on('error', () => undefined);
    this.workers.push(worker as Worker);
    return worker;
  }

  /** Answers within `timeoutMs` whether the backend takes commands; never throws. */
  async ping(timeoutMs = 1500): Promise<{ kind: QueueBackendKind; up: boolean; error?: string }> {
    if (this.kind === 'postgres') {
      // The PostgreSQL backend lives in our database: it is up exactly when the database is.
      const client = new Client({ connectionString: this.options.databaseUrl, connectionTimeoutMillis: timeoutMs });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return { kind: this.kind, up: true };
      } catch (error) {
        return { kind: this.kind, up: false, error: (error as Error).message };
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    if (!this.healthClient) {
      this.healthClient = new IORedis(this.options.redisUrl as string, {
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        connectTimeout: timeoutMs,
        retryStrategy: () => 1000,
      });
      this.healthClient.on('error', () => undefined);
    }
    const client = this.healthClient;
    try {
      if (client.status !== 'ready') {
        await withTimeout(new Promise((resolve) => client.once('ready', resolve)), timeoutMs);
      }
      const reply = await withTimeout(client.ping(), timeoutMs);
      return { kind: this.kind, up: reply === 'PONG' };
    } catch (error) {
      return { kind: this.kind, up: false, error: (error as Error).message };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((worker) => worker.close()));
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.healthClient?.disconnect();
    this.producerConnection?.disconnect();
    this.workerConnection?.disconnect();
  }

  /** Removes everything this namespace created (tests). */
  async obliterate(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.obliterate({ force: true })));
  }

  /** Producers fail fast while Redis is away, so callers notice and retry instead of hanging. */
  private producer(): IORedis {
    this.producerConnection ??= new IORedis(this.options.redisUrl as string, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.producerConnection.on('error', () => undefined);
    return this.producerConnection;
  }

  /** Workers wait for Redis to return (BullMQ requires maxRetriesPerRequest: null for blocking commands). */
  private consumer(): IORedis {
    this.workerConnection ??= new IORedis(this.options.redisUrl as string, {
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    this.workerConnection.on('error', () => undefined);
    return this.workerConnection;
  }

  private pgConnection() {
    return { connectionString: this.options.databaseUrl, schema: this.schema, max: 5 };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
