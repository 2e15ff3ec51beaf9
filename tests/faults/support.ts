import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { environment } from '@chiptrail/config';
import { Database, createScratchDatabase, type ScratchDatabase } from '@chiptrail/db';
import { freePort, spawnProcess, startRedisProcess, until, waitForHttp, type RedisProcess, type Spawned } from '@chiptrail/testing';

export { until } from '@chiptrail/testing';

export const ROOT = path.resolve(__dirname, '../..');
export const ADMIN = { email: 'admin@faults.test', password: 'fault-suite admin password' };
export const SOURCE = { url: 'https://example.gov/rule', title: 'Rule', publishedAt: '2025-01-01' };

export function buildOnce(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.js'), '--if-needed'], { cwd: ROOT, stdio: 'inherit' });
}


export interface PostgresProcess {
  readonly port: number;
  readonly adminUrl: string;
  /** Stops the server: 'fast' (SIGINT) or 'immediate' (SIGQUIT, as after a crash), and waits until it is gone. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server of the test's own (Debian's binaries, a fresh cluster in a temporary directory, its own port)
 * that the test may stop, crash and start again. Never the shared server. As root it runs as the postgres user.
 */
export async function startPostgresProcess(): Promise<PostgresProcess> {
  const versions = readdirSync('/usr/lib/postgresql').sort();
  const bin = path.join('/usr/lib/postgresql', versions[versions.length - 1]!, 'bin');
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'chiptrail-faults-pg-'));
  chmodSync(dir, 0o700);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (command: string, args: string[]) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]) as [string, string[]];
  const [initCommand, initArgs] = run(path.join(bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  execFileSync(initCommand, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;

  const postmasterPid = (): number | undefined => {
    const file = path.join(dir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    return Number(readFileSync(file, 'utf8').split('\n')[0]);
  };
  const start = async () => {
    const [command, args] = run(path.join(bin, 'postgres'), ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200']);
    child = spawn(command, args, { stdio: 'ignore' });
    await until(async () => answers(adminUrl), 30_000, `PostgreSQL on port ${port} to answer`);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    const pid = postmasterPid();
    const running = child;
    if (!pid || !running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    await exited;
    await until(async () => !existsSync(path.join(dir, 'postmaster.pid')) || !(await answers(adminUrl)), 30_000, 'PostgreSQL to stop');
  };
  await start();
  return {
    port,
    adminUrl,
    start,
    stop,
    async destroy() {
      await stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    await client.end();
    return true;
  } catch {
    await client.end().catch(() => undefined);
    return false;
  }
}

export interface Product {
  readonly url: string;
  readonly database: ScratchDatabase;
  readonly postgres: PostgresProcess;
  readonly redis: RedisProcess | undefined;
  api: Spawned;
  worker: Spawned | undefined;
  /** An admin bearer token (fetched again after restarts: tokens survive them). */
  token(): Promise<string>;
  call(method: string, route: string, body?: unknown, token?: string): Promise<Response>;
  startApi(): Promise<void>;
  startWorker(): void;
  /** SIGKILL to the whole process group, and wait for it to be gone. */
  kill(which: 'api' | 'worker'): Promise<void>;
  owner(): Promise<Database>;
  close(): Promise<void>;
}

/** The product as separate api and worker processes on its own PostgreSQL (and Redis, unless told otherwise). */
export async function startProduct(options: { redis?: boolean; worker?: boolean; env?: Record<string, string> } = {}): Promise<Product> {
  const postgres = await startPostgresProcess();
  const redis = options.redis === false ? undefined : await startRedisProcess();
  const database = await createScratchDatabase(postgres.adminUrl, 'faults');
  const port = await freePort();
  const outer = environment();
  const env = {
    PATH: outer.PATH,
    HOME: outer.HOME,
    PORT: String(port),
    DATABASE_URL: database.appUrl,
    MIGRATION_DATABASE_URL: database.ownerUrl,
    ...(redis ? { REDIS_URL: redis.url } : {}),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    TOKEN_SECRET: 'fault-suite token secret, long enough to be one',
    SEED_DATASET: 'false',
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    PROJECTION_POLL_MS: '200',
    DELIVERY_LOCK_MS: '2000',
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const base = `http://127.0.0.1:${port}`;
  let cachedToken: string | undefined;
  const product: Product = {
    url: base,
    database,
    postgres,
    redis,
    api: undefined as unknown as Spawned,
    worker: undefined,
    async token() {
      if (cachedToken) return cachedToken;
      const response = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
      if (response.status !== 200) throw new Error(`sign-in: ${response.status} ${await response.text()}`);
      cachedToken = ((await response.json()) as { token: string }).token;
      return cachedToken;
    },
    async call(method, route, body, token) {
      return fetch(`${base}${route}`, {
        method,
        headers: { authorization: `Bearer ${token ?? (await product.token())}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    },
    async startApi() {
      product.api = spawnProcess(process.execPath, [path.join(ROOT, 'dist/apps/api/src/main.js')], { cwd: ROOT, env });
      await waitForHttp(`${base}/health`, 60_000, (status): boolean => status === 200 || status === 503, product.api.output);
    },
    startWorker() {
      product.worker = spawnProcess(process.execPath, [path.join(ROOT, 'dist/apps/worker/src/main.js')], { cwd: ROOT, env });
    },
    async kill(which) {
      const target = which === 'api' ? product.api : product.worker;
      if (!target) return;
      target.kill('SIGKILL');
      await target.exited;
    },
    owner: () => Database.connect({ url: database.ownerUrl, poolSize: 2, applicationName: 'fault-suite', statementTimeoutMs: 0 }),
    async close() {
      for (const spawned of [product.api, product.worker]) {
        if (!spawned) continue;
        spawned.kill('SIGTERM');
        const timer = setTimeout(() => spawned.kill('SIGKILL'), 10_000);
        await spawned.exited;
        clearTimeout(timer);
      }
      await redis?.stop('SIGKILL');
      await postgres.destroy();
    },
  };
  await product.startApi();
  if (options.worker !== false) product.startWorker();
  return product;
}

/** A digest of each table's whole content, independent of row order, in one query. */
export async function tableDigests(db: Database, tables: readonly string[]): Promise<Record<string, string>> {
  const sql = tables
    .map((table) => `SELECT '${table}' AS t, md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) AS h FROM "${table}" x`)
    .join(' UNION ALL ');
  const { rows } = await db.query<{ t: string; h: string }>(sql);
  return Object.fromEntries(rows.map((row) => [row.t, row.h]));
}
