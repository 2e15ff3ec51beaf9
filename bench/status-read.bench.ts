import { availableParallelism } from 'node:os';
import { createScratchDatabase, Database } from '@chiptrail/db';
import { freePort, latencyFigure, median, plainFigure, roundsFor, startApi, startNode, throughputFigure, until, waitForHttp, type BenchContext, type Figure } from './bench.support';

interface Load {
  readonly requestsPerSecond: number;
  readonly p99: number;
}

/** autocannon against one URL: 50 connections, a warm-up, then the median of a few runs. */
async function load(url: string, headers: Record<string, string>, seconds: number, repetitions: number): Promise<Load> {
  // autocannon is a development dependency used only here.
  const autocannon = (await import('autocannon')).default;
  const run = () => autocannon({ url, connections: 50, duration: seconds, headers });
  await autocannon({ url, connections: 50, duration: Math.max(1, Math.round(seconds / 2)), headers });
  const results: Array<{ rps: number; p99: number }> = [];
  for (let round = 0; round < repetitions; round += 1) {
    const result = await run();
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    results.push({ rps: result.requests.average, p99: result.latency.p99 });
  }
  return { requestsPerSecond: median(results.map((r) => r.rps)), p99: median(results.map((r) => r.p99)) };
}

/**
 * 5. GET /api/v1/chips/{chip}/status (the compliance answer, with auth, validation and citations) at 50
 *    connections, now and as of a past date as known at a past date, against a bare Node http server answering
 *    the very same JSON from one primary-key lookup.
 */
export async function statusReadFigures(context: BenchContext): Promise<Figure[]> {
  const seconds = context.quick ? 4 : 10;
  const repetitions = roundsFor(context, 1, 3);
  const database = await createScratchDatabase(context.config.adminDatabaseUrl, 'bench_read');
  // The api as deployed on this machine: one process per core (API_PROCESSES=auto), sharing the port. At info level
  // its supervisor says when all of them listen. The single-process api is measured too, and reported beside it.
  const processes = availableParallelism();
  const api = await startApi(context, database, { SEED_DATASET: 'true', RUN_WORKER: 'false', API_PROCESSES: 'auto', LOG_LEVEL: 'info' });
  let single: Awaited<ReturnType<typeof startApi>> | undefined;
  const owner = await Database.connect({ url: database.ownerUrl, poolSize: 1, applicationName: 'bench-read' });
  let baseline: ReturnType<typeof startNode> | undefined;
  try {
    // The dataset's projections: run the worker's job here once, so the api answers from a complete read model.
    const worker = startNode(context, 'dist/apps/launcher/src/rebuild.js', { DATABASE_URL: database.appUrl, MIGRATION_DATABASE_URL: database.ownerUrl, LOG_LEVEL: 'warn' });
    if ((await worker.exited) !== 0) throw new Error(`rebuild failed: ${worker.output()}`);
    const key = await fetch(`${api.url}/api/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', role: 'viewer' }),
    }).then((r) => r.json() as Promise<{ key: string }>);
    const headers = { authorization: `Bearer ${key.key}` };
    if (!(await until(() => api.child.output().includes(`${processes} of ${processes} api processes share the port`), 60_000))) {
      throw new Error(`the api's ${processes} processes did not all start: ${api.child.output()}`);
    }
    // A knowledge time in the past, but after the dataset was recorded (earlier, nothing was known).
    const knownAt = new Date().toISOString();
    const paths = {
      now: '/api/v1/chips/nvidia-h20/status?destination=CN',
      asOf: `/api/v1/chips/nvidia-h20/status?destination=CN&asOf=2025-09-01&knownAt=${encodeURIComponent(knownAt)}`,
    };
    await owner.query(`CREATE TABLE bench_documents (id text PRIMARY KEY, body jsonb NOT NULL)`);
    for (const path of Object.values(paths)) {
      const response = await fetch(`${api.url}${path}`, { headers });
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      await owner.query(`INSERT INTO bench_documents (id, body) VALUES ($1, $2)`, [path, await response.text()]);
    }
    const port = await freePort();
    baseline = startNode(context, 'dist/bench/baseline-server.js', {}, [String(port), database.ownerUrl]);
    await waitForHttp(`http://127.0.0.1:${port}/`);

    const figures: Figure[] = [];
    for (const [label, path] of Object.entries(paths)) {
      context.log(`status read (${label}): bare baseline, then the api`);
      const bare = await load(`http://127.0.0.1:${port}${path}`, {}, seconds, repetitions);
      const ours = await load(`${api.url}${path}`, headers, seconds, repetitions);
      const name = label === 'now' ? 'GET status (now)' : 'GET status (asOf and knownAt in the past)';
      figures.push(throughputFigure(`${name}, 50 connections, ${processes} api processes`, ours.requestsPerSecond, 'requests/s', 'bare Node http, one PK lookup', bare.requestsPerSecond, 0.5));
      figures.push(latencyFigure(`${name}, p99 at 50 connections, ${processes} api processes`, ours.p99, 'bare Node http, one PK lookup', bare.p99, 10));
    }
    await api.child.stop();
    context.log('status read (now): the api as one process');
    single = await startApi(context, database, { SEED_DATASET: 'true', RUN_WORKER: 'false' });
    const one = await load(`${single.url}${paths.now}`, headers, seconds, repetitions);
    figures.push(plainFigure('GET status (now), 50 connections, 1 api process', one.requestsPerSecond, 'requests/s'));
    figures.push(plainFigure('GET status (now), p99 at 50 connections, 1 api process', one.p99, 'ms'));
    return figures;
  } finally {
    await baseline?.stop();
    await single?.child.stop();
    await api.child.stop();
    await owner.close();
    await database.drop();
  }
}
