import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';

/**
 * The only place that reads the process environment. Everything else receives a parsed, validated `AppConfig`.
 * A bad value stops the boot with one sentence naming the variable (ConfigError).
 */

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  /** Absent: the launcher starts an embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Owner role for migrations and rebuilds; defaults to `databaseUrl`. */
  readonly migrationDatabaseUrl: string | undefined;
  /** Absent: BullMQ runs on its PostgreSQL backend in the same database. */
  readonly redisUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPgPort: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly databasePoolSize: number;
  readonly projectionPollMs: number;
  /** A projection with events to read that has not moved for this long is reported stalled (/health, /metrics). */
  readonly projectionStallSeconds: number;
  readonly adminEmail: string;
  readonly adminPassword: string | undefined;
  readonly tokenSecret: string | undefined;
  readonly tokenTtlSeconds: number;
  /** Sign-in attempts per client address per minute (all replicas together); the address then waits a minute. */
  readonly loginRateLimit: number;
  readonly seedDataset: boolean;
  readonly outboundAllowlist: readonly Cidr[];
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly publicUrl: string | undefined;
  readonly runWorker: boolean;
  /** Processes the api runs on its own (dist/apps/api): one answers alone; more share its port under a supervisor. */
  readonly apiProcesses: number;
  readonly corsOrigins: readonly string[];
  /** The worker touches this file while it is alive (container health checks read its age). */
  readonly workerHeartbeatFile: string | undefined;
  /** Whole-exchange deadline for fetching a feed (the issue's 20 s by default). */
  readonly feedTimeoutMs: number;
  /** Consecutive failed polls after which a feed counts as failing (and admins are told). */
  readonly feedFailureThreshold: number;
  /** How long a delivery job's lock lasts: a worker that dies mid-delivery is noticed after about this long. */
  readonly deliveryLockMs: number;
  /** Separates several installations (or test runs) sharing one Redis: a key prefix / a PostgreSQL schema. */
  readonly queueNamespace: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the real environment. Callers that need a variant (tests, child processes) pass their own map. */
export function environment(): Env {
  return process.env;
}

export function loadConfig(env: Env = environment()): AppConfig {
  const dataDir = path.resolve(text(env, 'DATA_DIR') ?? '.data');
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: text(env, 'HOST') ?? '127.0.0.1',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    migrationDatabaseUrl: url(env, 'MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    dataDir,
    embeddedPgPort: integer(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    projectionPollMs: integer(env, 'PROJECTION_POLL_MS', 1000, 10, 60_000),
    projectionStallSeconds: integer(env, 'PROJECTION_STALL_SECONDS', 30, 1, 86_400),
    adminEmail: email(env, 'ADMIN_EMAIL') ?? 'admin@chiptrail.local',
    adminPassword: password(env, 'ADMIN_PASSWORD'),
    tokenSecret: secret(env, 'TOKEN_SECRET'),
    tokenTtlSeconds: integer(env, 'TOKEN_TTL_SECONDS', 12 * 3600, 60, 30 * 24 * 3600),
    loginRateLimit: integer(env, 'LOGIN_RATE_LIMIT', 20, 1, 100_000),
    seedDataset: boolean(env, 'SEED_DATASET', true),
    outboundAllowlist: cidrList(env, 'OUTBOUND_ALLOWLIST'),
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: email(env, 'MAIL_FROM') ?? 'alerts@chiptrail.local',
    publicUrl: url(env, 'PUBLIC_URL', ['http:', 'https:']),
    runWorker: boolean(env, 'RUN_WORKER', true),
    apiProcesses: processCount(env, 'API_PROCESSES'),
    workerHeartbeatFile: text(env, 'WORKER_HEARTBEAT_FILE'),
    feedTimeoutMs: integer(env, 'FEED_TIMEOUT_MS', 20_000, 100, 120_000),
    feedFailureThreshold: integer(env, 'FEED_FAILURE_THRESHOLD', 3, 1, 100),
    deliveryLockMs: integer(env, 'DELIVERY_LOCK_MS', 30_000, 1000, 600_000),
    queueNamespace: namespace(env, 'QUEUE_NAMESPACE'),
    corsOrigins: list(env, 'CORS_ORIGINS').map((origin) => {
      try {
        return new URL(origin).origin;
      } catch {
        throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin such as https://admin.example.com.`);
      }
    }),
  };
}

function text(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number between ${min} and ${max}, got "${raw}".`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}.`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}".`);
}

/** A number of processes, or `auto`: one per core the machine gives this process (at most 64). */
function processCount(env: Env, name: string): number {
  if (text(env, name)?.toLowerCase() === 'auto') return Math.min(availableParallelism(), 64);
  try {
    return integer(env, name, 1, 1, 64);
  } catch {
    throw new ConfigError(name, `must be auto (one per core) or a whole number between 1 and 64, got "${text(env, name) ?? ''}".`);
  }
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}".`);
  }
  return raw as T;
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL (expected ${protocols.map((p) => `${p}//…`).join(' or ')}).`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}.`);
  }
  return raw;
}

function email(env: Env, name: string): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  if (!/^[^\s@]+@[^\s@]+$/.test(raw)) throw new ConfigError(name, `is not an e-mail address: "${raw}".`);
  return raw.toLowerCase();
}

function password(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 12) throw new ConfigError(name, 'must be at least 12 characters long.');
  return raw;
}

function secret(env: Env, name: string): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < 32) throw new ConfigError(name, 'must be at least 32 characters long.');
  return raw;
}

function namespace(env: Env, name: string): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(raw)) throw new ConfigError(name, `must be 1-31 lowercase letters, digits or "_", starting with a letter, got "${raw}".`);
  return raw;
}

function list(env: Env, name: string): string[] {
  const raw = text(env, name);
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function cidrList(env: Env, name: string): Cidr[] {
  return list(env, name).map((item) => {
    const cidr = parseCidr(item);
    if (!cidr) throw new ConfigError(name, `"${item}" is not an IP address or CIDR such as 127.0.0.1/32.`);
    return cidr;
  });
}

export function parseCidr(item: string): Cidr | undefined {
  const [address, prefixText] = item.split('/');
  const family = isIP(address ?? '');
  if (family !== 4 && family !== 6) return undefined;
  const maxPrefix = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d+$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
  if (prefix > maxPrefix) return undefined;
  return { address: address as string, prefix, family };
}

export interface TestConfig {
  /** A server where tests may create and drop databases of their own (never a user's database). */
  readonly adminDatabaseUrl: string;
  readonly redisUrl: string;
}

export function loadTestConfig(env: Env = environment()): TestConfig {
  return {
    adminDatabaseUrl: url(env, 'TEST_DATABASE_ADMIN_URL', ['postgres:', 'postgresql:']) ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: url(env, 'TEST_REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
  };
}

export interface BenchConfig {
  /** Where `npm run bench` creates (and drops) its own databases. */
  readonly adminDatabaseUrl: string;
  readonly redisUrl: string;
  /** BENCH_QUICK=1: a smaller version of every figure (under 5 minutes). */
  readonly quick: boolean;
  /** Figures to run (names or prefixes); empty: all. */
  readonly only: readonly string[];
  /** BENCH_REPETITIONS: measured rounds per figure instead of each suite's own (fewer: a full-size run in less time). */
  readonly repetitions: number | null;
  /** PATH for the processes the benchmark starts (they get no other variable of ours). */
  readonly path: string;
}

export function loadBenchConfig(env: Env = environment()): BenchConfig {
  const quick = env.BENCH_QUICK ?? '';
  if (!['', '0', '1', 'true', 'false'].includes(quick)) throw new ConfigError('BENCH_QUICK', 'must be 1 or 0.');
  return {
    adminDatabaseUrl: url(env, 'BENCH_DATABASE_ADMIN_URL', ['postgres:', 'postgresql:']) ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: url(env, 'BENCH_REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
    quick: quick === '1' || quick === 'true',
    only: (env.BENCH_ONLY ?? '').split(',').map((name) => name.trim()).filter(Boolean),
    repetitions: env.BENCH_REPETITIONS === undefined ? null : integer(env, 'BENCH_REPETITIONS', 1, 1, 20),
    path: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  };
}

/** Injection token for the parsed `AppConfig` in Nest modules. */
export const APP_CONFIG = Symbol('AppConfig');
