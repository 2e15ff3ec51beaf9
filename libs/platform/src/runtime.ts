import type { AppConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { AppendNotifier, EventStore } from '@chiptrail/event-store';
import { QueueBackend } from '@chiptrail/queue';
import { Clock, Logger } from '@chiptrail/runtime';

export interface RuntimeOptions {
  /** Connection the process runs with (the runtime role where the deployment has one). */
  readonly databaseUrl: string;
  readonly applicationName: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Tests isolate their queues. */
  readonly queueNamespace?: string;
}

/**
 * The composition root's shared infrastructure: one pool, one queue backend, one clock per process. Built before
 * Nest boots so api and worker can share it when they run in one process.
 */
export class Runtime {
  private constructor(
    readonly config: AppConfig,
    readonly db: Database,
    readonly clock: Clock,
    readonly logger: Logger,
    readonly notifier: AppendNotifier,
    readonly store: EventStore,
    readonly queues: QueueBackend,
  ) {}

  static async create(config: AppConfig, options: RuntimeOptions): Promise<Runtime> {
    const logger = options.logger ?? new Logger(config.logLevel);
    const clock = options.clock ?? new Clock();
    const db = await Database.connect({
      url: options.databaseUrl,
      poolSize: config.databasePoolSize,
      applicationName: options.applicationName,
      connectTimeoutMs: 3000,
    });
    const notifier = new AppendNotifier(db);
    const store = new EventStore(db, clock, notifier);
    const queues = new QueueBackend({
      redisUrl: config.redisUrl,
      databaseUrl: options.databaseUrl,
      namespace: options.queueNamespace ?? config.queueNamespace,
    });
    return new Runtime(config, db, clock, logger, notifier, store, queues);
  }

  async close(): Promise<void> {
    await this.queues.close();
    await this.db.close();
  }
}
