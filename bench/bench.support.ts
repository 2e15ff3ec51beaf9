import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { BenchConfig } from '@chiptrail/config';
import type { ScratchDatabase } from '@chiptrail/db';

/** One line of the results table: a figure, the baseline measured in the same run, and the target it must meet. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The baseline's figure in the same unit (null when the issue sets an absolute target only). */
  readonly baseline: number | null;
  readonly baselineName: string | null;
  /** value / baseline, oriented so that higher is better for throughputs and lower is better for latencies. */
  readonly ratio: number | null;
  readonly target: string | null;
  readonly met: boolean | null;
}

export interface BenchContext {
  readonly config: BenchConfig;
  readonly quick: boolean;
  /** Where the compiled product lives (dist/), to start its processes. */
  readonly root: string;
  log(message: string): void;
}

export const ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Measured rounds for a suite: BENCH_REPETITIONS when given, else the suite's own for a quick or a full run. */
export function roundsFor(context: BenchContext, quick: number, full: number): number {
  return context.config.repetitions ?? (context.quick ? quick : full);
}

/** Runs `once` `warmup` times unmeasured, then `repetitions` times; the median of what it returns. */
export async function medianOf(repetitions: number, once: (round: number) => Promise<number>, warmup = 1): Promise<number> {
  for (let round = 0; round < warmup; round += 1) await once(-1 - round);
  const values: number[] = [];
  for (let round = 0; round < repetitions; round += 1) values.push(await once(round));
  return median(values);
}

/**
 * Runs each contender `warmup` times unmeasured, then `repetitions` rounds in which every contender runs once (the
 * order turning each round), and gives each one's median. On a machine whose speed drifts (shared hosts, disks that
 * flush in bursts), interleaving lets the drift fall on all of them alike instead of on whichever ran last.
 */
export async function interleavedMedians<K extends string>(
  repetitions: number,
  contenders: Record<K, () => Promise<number>>,
  warmup = 1,
): Promise<Record<K, number>> {
  const names = Object.keys(contenders) as K[];
  for (let round = 0; round < warmup; round += 1) for (const name of names) await contenders[name]();
  const values = new Map<K, number[]>(names.map((name) => [name, []]));
  for (let round = 0; round < repetitions; round += 1) {
    for (let turn = 0; turn < names.length; turn += 1) {
      const name = names[(round + turn) % names.length] as K;
      values.get(name)!.push(await contenders[name]());
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(values.get(name)!)])) as Record<K, number>;
}

/** `writers` loops in parallel, each doing `perWriter` operations; the operations per second of the whole. */
export async function throughput(writers: number, perWriter: number, operation: (writer: number, index: number) => Promise<unknown>, itemsPerOperation = 1): Promise<number> {
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let index = 0; index < perWriter; index += 1) await operation(writer, index);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return (writers * perWriter * itemsPerOperation) / seconds;
}

export function throughputFigure(name: string, value: number, unit: string, baselineName: string, baseline: number, minimumRatio: number | null): Figure {
  const ratio = value / baseline;
  return {
    name,
    value,
    unit,
    baseline,
    baselineName,
    ratio,
    target: minimumRatio === null ? null : `≥ ${minimumRatio} × ${baselineName}`,
    met: minimumRatio === null ? null : ratio >= minimumRatio,
  };
}

/** A latency (lower is better) with an absolute ceiling; the ratio compares it with the baseline's. */
export function latencyFigure(name: string, value: number, baselineName: string | null, baseline: number | null, ceiling: number | null): Figure {
  return {
    name,
    value,
    unit: 'ms',
    baseline,
    baselineName,
    ratio: baseline ? value / baseline : null,
    target: ceiling === null ? null : `< ${ceiling} ms`,
    met: ceiling === null ? null : value < ceiling,
  };
}

export function plainFigure(name: string, value: number, unit: string): Figure {
  return { name, value, unit, baseline: null, baselineName: null, ratio: null, target: null, met: null };
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

export async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the exit code; the child's peak RSS (KiB) comes from its `peak-rss` line when it prints one. */
  readonly exited: Promise<number>;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a compiled entry point of the product (dist/...) with its own environment. */
export function startNode(context: BenchContext, entry: string, env: Record<string, string>, args: string[] = []): Child {
  const child = spawn(process.execPath, [path.join(ROOT, entry), ...args], { env: { PATH: context.config.path, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const exited = once(child, 'exit').then(([code]) => (code as number | null) ?? 1);
  return {
    process: child,
    exited,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Samples a process's resident set (from /proc) until stopped; the peak in MiB. */
export function rssSampler(pid: number, everyMs = 100): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
    } catch {
      // The process has ended: the last sample stands.
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop() {
      read();
      clearInterval(timer);
      return peak;
    },
  };
}

export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Polls `check` (every 2 ms: latencies are measured with it) until it holds; false when `timeoutMs` passed first. */
export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const ADMIN = { email: 'bench@chiptrail.local', password: 'bench password, long enough' };

/** The product's own environment for a scratch database: Redis for BullMQ, its own queue namespace. */
function productEnv(context: BenchContext, database: ScratchDatabase, extra: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: database.appUrl,
    MIGRATION_DATABASE_URL: database.ownerUrl,
    REDIS_URL: context.config.redisUrl,
    QUEUE_NAMESPACE: `bench${process.pid}${database.name.slice(-8)}`,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** The api process (dist/apps/api), signed in as the admin. */
export async function startApi(context: BenchContext, database: ScratchDatabase, extra: Record<string, string> = {}): Promise<{ child: Child; url: string; token: string }> {
  const port = await freePort();
  const child = startNode(
    context,
    'dist/apps/api/src/main.js',
    productEnv(context, database, { PORT: String(port), HOST: '127.0.0.1', SEED_DATASET: 'false', ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, ...extra }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/health`);
  } catch (error) {
    await child.stop();
    throw new Error(`${(error as Error).message}\n${child.output()}`);
  }
  const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
  const { token } = (await login.json()) as { token: string };
  return { child, url, token };
}

/** The worker process (dist/apps/worker): projections, deliveries, feeds. */
export function startWorker(context: BenchContext, database: ScratchDatabase, extra: Record<string, string> = {}): Child {
  return startNode(context, 'dist/apps/worker/src/main.js', productEnv(context, database, { PROJECTION_POLL_MS: '200', ...extra }));
}
