import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { Client, type Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import { migrations } from '../../../migrations';

/** Anything that runs SQL: the pool, or a client inside a transaction. */
export interface Sql {
  query<R extends QueryResultRow = QueryResultRow>(
    text: string | { name?: string; text: string; values?: unknown[] },
    values?: unknown[],
  ): Promise<QueryResult<R>>;
}

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly applicationName: string;
  /** Fail fast when the server is unreachable instead of queueing requests forever. */
  readonly connectTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
}

/**
 * The connection to PostgreSQL. TypeORM owns the pool, the transactions and the migrations; queries are plain SQL
 * run on the driver's `pg` client so they stay visible and can be prepared by name on hot paths.
 */
export class Database implements Sql {
  private constructor(
    readonly dataSource: DataSource,
    private readonly options: DatabaseOptions,
  ) {}

  static async connect(options: DatabaseOptions): Promise<Database> {
    const dataSource = new DataSource({
      type: 'postgres',
      url: options.url,
      applicationName: options.applicationName,
      migrations,
      migrationsTableName: 'schema_migrations',
      migrationsTransactionMode: 'each',
      synchronize: false,
      logging: false,
      poolSize: options.poolSize,
      connectTimeoutMS: options.connectTimeoutMs ?? 5000,
      extra: {
        statement_timeout: options.statementTimeoutMs ?? 30_000,
        idle_in_transaction_session_timeout: 120_000,
        keepAlive: true,
        // Every statement here is short (lookups, batch writes), and compiling one costs 100–150 ms. Planned without
        // statistics (tables a projection fills grow ahead of them, and autovacuum may lag or be off), a projection's
        // per-key lookups were estimated past jit_above_cost and compiled every batch: a rebuild's loads took 10 s.
        options: '-c jit=off',
      },
    });
    await dataSource.initialize();
    return new Database(dataSource, options);
  }

  get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  query<R extends QueryResultRow = QueryResultRow>(
    text: string | { name?: string; text: string; values?: unknown[] },
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    return this.pool.query<R>(text as string, values);
  }

  /** Runs `work` in one transaction on one connection; commits if it resolves, rolls back if it throws. */
  async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    try {
      await runner.startTransaction();
      const result = await work(client);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /** A dedicated connection outside the pool, for LISTEN and session-level advisory locks. */
  async dedicatedClient(purpose: string): Promise<Client> {
    const client = new Client({
      connectionString: this.options.url,
      application_name: `${this.options.applicationName}:${purpose}`,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
      keepAlive: true,
    });
    await client.connect();
    return client;
  }

  async runMigrations(): Promise<string[]> {
    const applied = await this.dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
