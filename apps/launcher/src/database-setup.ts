import type { AppConfig } from '@chiptrail/config';
import { Database, EmbeddedDatabase } from '@chiptrail/db';
import { QueueBackend } from '@chiptrail/queue';

/**
 * How long the batch commands (import, rebuild, verify) wait for a new connection. The api fails fast; a batch job
 * that opens connections late (a rebuild builds its deferred indexes on fresh ones) waits for a server busy writing
 * back what it just wrote, rather than fail after minutes of work (5 s ran out there once, on a slow disk).
 */
export const BATCH_CONNECT_TIMEOUT_MS = 60_000;

export interface PreparedDatabase {
  /** Owner role: migrations, verification, rebuilds. */
  readonly ownerUrl: string;
  /** Runtime role: what the api and worker connect as. */
  readonly appUrl: string;
  readonly embedded: EmbeddedDatabase | undefined;
}

/**
 * Starts the embedded cluster when no DATABASE_URL is configured, then brings the schema up to date (ours and, with
 * no Redis, BullMQ's) with the owner role.
 */
export async function prepareDatabase(config: AppConfig, log: (line: string) => void): Promise<PreparedDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  let ownerUrl: string;
  let appUrl: string;
  if (config.databaseUrl) {
    ownerUrl = config.migrationDatabaseUrl ?? config.databaseUrl;
    appUrl = config.databaseUrl;
  } else {
    embedded = await EmbeddedDatabase.start({ dataDir: config.dataDir, port: config.embeddedPgPort, log });
    ownerUrl = embedded.ownerUrl;
    appUrl = embedded.appUrl;
  }
  try {
    await migrate(ownerUrl, log);
    await QueueBackend.migrate({ redisUrl: config.redisUrl, databaseUrl: appUrl, namespace: config.queueNamespace }, ownerUrl);
    await embedded?.ensureRuntimeRole();
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  return { ownerUrl, appUrl, embedded };
}

export async function migrate(ownerUrl: string, log: (line: string) => void): Promise<void> {
  const db = await Database.connect({ url: ownerUrl, poolSize: 2, applicationName: 'chiptrail-migrate', statementTimeoutMs: 0 });
  try {
    const applied = await db.runMigrations();
    for (const name of applied) log(`applied migration ${name}`);
  } finally {
    await db.close();
  }
}
