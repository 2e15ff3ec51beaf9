import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createScratchDatabase, Database, type ScratchDatabase } from '@chiptrail/db';
import {
  interleavedMedians,
  median,
  plainFigure,
  roundsFor,
  rssSampler,
  startApi,
  startWorker,
  startNode,
  throughputFigure,
  type BenchContext,
  type Figure,
} from './bench.support';
import { syntheticDataset } from './synthetic-dataset';

/**
 * 3. Bulk import through the product (POST /api/v1/events/import on a running api: parse, validate, decide, hash,
 *    COPY) against a raw COPY of the same events into a table of the same shape and indexes.
 * 4. Projection rebuild (`npm run projections:rebuild`) against a raw sequential read of the events table.
 * 8. Peak RSS of the api during 3, of the worker catching up on the import, and of the rebuild.
 */
export async function importAndRebuildFigures(context: BenchContext): Promise<Figure[]> {
  // Quick: small enough that the projection passes (catch-up and rebuild, the slow part) fit the five minutes.
  const total = context.quick ? 30_000 : 1_000_000;
  const repetitions = roundsFor(context, 1, 3);
  const file = path.join(tmpdir(), `chiptrail-bench-${process.pid}.ndjson`);
  context.log(`import: writing ${total.toLocaleString('en-US')} synthetic events`);
  let lines = 0;
  {
    const out = createWriteStream(file);
    for (const event of syntheticDataset(total)) {
      lines += 1;
      if (!out.write(`${JSON.stringify(event)}\n`)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  }
  const figures: Figure[] = [];
  let database: ScratchDatabase | undefined;
  try {
    let apiPeak = 0;
    // Interleaved with its baseline, round by round: this host's speed drifts over minutes, and three raw COPYs
    // followed by three imports measured the drift as much as the import.
    context.log('import: raw COPY baseline and the import through the api, interleaved');
    const rates = await interleavedMedians(
      repetitions,
      {
        raw: async () => {
          const scratch = await createScratchDatabase(context.config.adminDatabaseUrl, 'bench_raw');
          try {
            return await rawCopy(scratch, file, lines);
          } finally {
            await scratch.drop();
          }
        },
        ours: async () => {
          await database?.drop().catch(() => undefined);
          database = await createScratchDatabase(context.config.adminDatabaseUrl, 'bench_import');
          const api = await startApi(context, database);
          const rss = rssSampler(api.child.process.pid as number);
          try {
            const started = process.hrtime.bigint();
            const response = await fetch(`${api.url}/api/v1/events/import`, {
              method: 'POST',
              headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/x-ndjson' },
              body: Readable.toWeb(createReadStream(file)) as ReadableStream,
              duplex: 'half',
            } as RequestInit);
            const result = (await response.json()) as { imported?: number; detail?: string };
            if (response.status !== 200 || result.imported !== lines) throw new Error(`import failed: ${response.status} ${JSON.stringify(result)}`);
            return lines / (Number(process.hrtime.bigint() - started) / 1e9);
          } finally {
            apiPeak = Math.max(apiPeak, rss.stop());
            await api.child.stop();
          }
        },
      },
      0,
    );
    const [raw, ours] = [rates.raw, rates.ours];
    figures.push(throughputFigure(`bulk import of ${formatCount(total)} events (api, validated, hashed)`, ours, 'events/s', 'raw COPY', raw, 0.5));
    figures.push(plainFigure('peak RSS of the api during the import', apiPeak, 'MiB'));

    const db = database as unknown as ScratchDatabase;
    context.log('import: worker catching up');
    const catchUp = await workerCatchUp(context, db, lines);
    figures.push(plainFigure(`worker catching up on ${formatCount(total)} imported events`, catchUp.eventsPerSecond, 'events/s'));
    figures.push(plainFigure('peak RSS of the worker while catching up', catchUp.peakMiB, 'MiB'));

    // Interleaved like the import: a raw read, then a rebuild, the order turning each round.
    context.log('rebuild: raw sequential read baseline and npm run projections:rebuild, interleaved');
    const reads: number[] = [];
    const rebuilt = new Map<string, number[]>();
    let rebuildPeak = 0;
    const rebuild = async () => {
      const child = startNode(context, 'dist/apps/launcher/src/rebuild.js', { DATABASE_URL: db.appUrl, MIGRATION_DATABASE_URL: db.ownerUrl, LOG_LEVEL: 'warn' });
      const rss = rssSampler(child.process.pid as number);
      const code = await child.exited;
      rebuildPeak = Math.max(rebuildPeak, rss.stop());
      if (code !== 0) throw new Error(`rebuild failed: ${child.output()}`);
      for (const match of child.output().matchAll(/(\w+): rebuilt from (\d+) events in ([\d.]+)s/g)) {
        rebuilt.set(match[1] as string, [...(rebuilt.get(match[1] as string) ?? []), Number(match[2]) / Number(match[3])]);
      }
    };
    for (let round = 0; round < repetitions; round += 1) {
      if (round % 2 === 0) reads.push(await rawRead(db));
      await rebuild();
      if (round % 2 === 1) reads.push(await rawRead(db));
    }
    const read = median(reads);
    for (const [name, rates] of rebuilt) {
      const sorted = [...rates].sort((a, b) => a - b);
      figures.push(throughputFigure(`rebuild of the ${name} projection over ${formatCount(total)} events`, sorted[Math.floor(sorted.length / 2)] as number, 'events/s', 'raw sequential read', read, 0.5));
    }
    figures.push(plainFigure('peak RSS of the rebuild', rebuildPeak, 'MiB'));
    return figures;
  } finally {
    rmSync(file, { force: true });
    await database?.drop().catch(() => undefined);
  }
}

function formatCount(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000} M` : `${n / 1000} k`;
}

/** The same events as plain rows (JSON text, counters for versions and positions), COPYed into a same-shaped table. */
async function rawCopy(database: ScratchDatabase, file: string, lines: number): Promise<number> {
  const db = await Database.connect({ url: database.ownerUrl, poolSize: 1, applicationName: 'bench-raw-copy', statementTimeoutMs: 0 });
  try {
    await db.query(`CREATE TABLE raw_events (LIKE events INCLUDING ALL)`);
    const started = process.hrtime.bigint();
    await db.transaction(async (tx) => {
      const versions = new Map<string, number>();
      const recordedAt = new Date().toISOString();
      async function* rows() {
        let position = 0;
        let chunk = '';
        for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
          const event = JSON.parse(line) as { id: string; type: string; data: Record<string, unknown>; effectiveAt: string; source: unknown };
          const stream = String(event.data.chip ?? event.data.measureId ?? event.data.licenseId ?? event.data.advisoryId ?? event.data.investigationId ?? event.data.eventId);
          const version = (versions.get(stream) ?? 0) + 1;
          versions.set(stream, version);
          position += 1;
          chunk += `${position}\t${event.id}\t${stream}\t${version}\t${event.type}\t1\t${copyText(JSON.stringify(event.data))}\t${copyText(JSON.stringify({ actor: 'system:import', source: event.source }))}\t${recordedAt}\t${event.effectiveAt}\t1\t\\\\x00\n`;
          if (chunk.length > 262_144) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk) yield chunk;
      }
      await pipeline(Readable.from(rows()), (tx as PoolClient).query(copyFrom(`COPY raw_events FROM STDIN`)));
    });
    return lines / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await db.close();
  }
}


/** A text value as COPY's text format reads it: backslash, tab and line breaks escaped; everything else as it is. */
function copyText(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** Every column of every event, in pages of 1,000 by position, parsed by the driver: what any reader pays. */
async function rawRead(database: ScratchDatabase): Promise<number> {
  const db = await Database.connect({ url: database.ownerUrl, poolSize: 1, applicationName: 'bench-raw-read', statementTimeoutMs: 0 });
  try {
    const started = process.hrtime.bigint();
    let after = 0;
    let read = 0;
    for (;;) {
      const { rows } = await db.query<{ global_position: string }>({
        name: 'raw_read',
        text: `SELECT * FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 1000`,
        values: [after],
      });
      if (rows.length === 0) break;
      read += rows.length;
      after = Number(rows[rows.length - 1]!.global_position);
    }
    return read / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await db.close();
  }
}

/** Starts the worker on an imported database and waits until every projection has read the whole log. */
async function workerCatchUp(context: BenchContext, database: ScratchDatabase, events: number): Promise<{ eventsPerSecond: number; peakMiB: number }> {
  const db = await Database.connect({ url: database.ownerUrl, poolSize: 1, applicationName: 'bench-watch' });
  const worker = startWorker(context, database);
  const rss = rssSampler(worker.process.pid as number);
  const started = process.hrtime.bigint();
  try {
    const head = Number((await db.query<{ p: string }>(`SELECT max(global_position) AS p FROM events`)).rows[0]!.p);
    for (;;) {
      const { rows } = await db.query<{ behind: string }>(
        `SELECT count(*) AS behind FROM (VALUES ('policy'), ('event_catalog')) AS p(name)
           LEFT JOIN projection_checkpoints c USING (name) WHERE coalesce(c.last_position, 0) < $1`,
        [head],
      );
      if (Number(rows[0]!.behind) === 0) break;
      if (worker.process.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return { eventsPerSecond: events / (Number(process.hrtime.bigint() - started) / 1e9), peakMiB: rss.stop() };
  } finally {
    rss.stop();
    await worker.stop();
    await db.close();
  }
}
