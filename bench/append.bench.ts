import { randomUUID } from 'node:crypto';
import { createScratchDatabase, Database, withDatabase } from '@chiptrail/db';
import { EventStore, type EventToAppend } from '@chiptrail/event-store';
import { Clock } from '@chiptrail/runtime';
import { interleavedMedians, roundsFor, throughput, throughputFigure, type BenchContext, type Figure } from './bench.support';

/** About 1 KB of jsonb, like a real control event with its title and scope. */
export function sampleData(n: number): Record<string, unknown> {
  return {
    measureId: `bench-${n}`,
    authority: 'US-BIS',
    direction: 'export',
    requirement: 'license_required',
    scope: { chips: [`chip-${n % 500}`], eccnBands: ['3A090.a'] },
    destinations: ['CN', 'HK', 'MO', 'RU', 'BY', 'IR', 'KP'],
    licensePolicy: 'presumption_of_denial',
    title: 'Implementation of additional export controls: certain advanced computing items; supercomputer and semiconductor end use',
    notes: 'x'.repeat(560),
  };
}

const metadata = { actor: 'system:bench', source: { url: 'https://www.federalregister.gov/d/2023-23055', title: 'Rule', publishedAt: '2023-10-25' } };

function events(count: number, n: number): EventToAppend[] {
  return Array.from({ length: count }, (_, index) => ({ type: 'ControlImposed', data: sampleData(n + index), metadata, effectiveAt: new Date('2025-04-09T00:00:00Z') }));
}

const RAW_INSERT = `INSERT INTO raw_events (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata,
  recorded_at, effective_at, transaction_id, hash)
  VALUES (nextval('raw_events_seq'), $1, $2, $3, $4, 1, $5, $6, clock_timestamp(), $7, pg_current_xact_id(), '\\x00')`;

/**
 * Appends: ours (one statement per append, hash chain, version check, idempotency check) against a raw single-row
 * INSERT into a table of the same shape and indexes, and against Emmett's appendToStream, on the same server.
 */
export async function appendFigures(context: BenchContext): Promise<Figure[]> {
  const quick = context.quick;
  const repetitions = roundsFor(context, 5, 7);
  const database = await createScratchDatabase(context.config.adminDatabaseUrl, 'bench_append');
  const emmettName = `${database.name}_emmett`;
  const admin = await Database.connect({ url: context.config.adminDatabaseUrl, poolSize: 1, applicationName: 'bench' });
  await admin.query(`CREATE DATABASE ${emmettName}`);
  const app = await Database.connect({ url: database.appUrl, poolSize: 10, applicationName: 'bench-append' });
  const owner = await Database.connect({ url: database.ownerUrl, poolSize: 10, applicationName: 'bench-raw' });
  const store = new EventStore(app, new Clock());
  // Emmett ships as ESM with a CommonJS build; it is a development dependency used only here.
  const { getPostgreSQLEventStore } = await import('@event-driven-io/emmett-postgresql');
  const emmett = getPostgreSQLEventStore(withDatabase(context.config.adminDatabaseUrl, emmettName));
  try {
    await emmett.schema.migrate();
    await owner.query(`CREATE TABLE raw_events (LIKE events INCLUDING ALL); CREATE SEQUENCE raw_events_seq;`);

    const figures: Figure[] = [];
    let n = 0;
    const ours = async (writers: number, perWriter: number, batch: number) => {
      const streams = Array.from({ length: writers }, () => ({ id: `bench-${randomUUID()}`, version: 0 }));
      return throughput(
        writers,
        perWriter,
        async (writer) => {
          const stream = streams[writer]!;
          const result = await store.append(stream.id, stream.version === 0 ? 'no_stream' : stream.version, events(batch, (n += batch)));
          stream.version = result.streamVersion;
        },
        batch,
      );
    };
    const raw = async (writers: number, perWriter: number) => {
      const streams = Array.from({ length: writers }, () => ({ id: `raw-${randomUUID()}`, version: 0 }));
      return throughput(writers, perWriter, async (writer) => {
        const stream = streams[writer]!;
        stream.version += 1;
        await owner.query({
          name: 'raw_insert',
          text: RAW_INSERT,
          values: [randomUUID(), stream.id, stream.version, 'ControlImposed', JSON.stringify(sampleData((n += 1))), JSON.stringify(metadata), '2025-04-09T00:00:00Z'],
        });
      });
    };
    const viaEmmett = async (writers: number, perWriter: number, batch: number) => {
      const streams = Array.from({ length: writers }, () => `emmett-${randomUUID()}`);
      return throughput(
        writers,
        perWriter,
        async (writer) => {
          await emmett.appendToStream(
            streams[writer]!,
            Array.from({ length: batch }, () => ({ type: 'ControlImposed', data: sampleData((n += 1)), metadata })),
          );
        },
        batch,
      );
    };

    for (const writers of [1, 8]) {
      const perWriter = Math.round((quick ? 300 : 1500) / Math.sqrt(writers));
      context.log(`append: 1 event per append, ${writers} writer(s), ${perWriter} appends each`);
      const rates = await interleavedMedians(repetitions, {
        raw: () => raw(writers, perWriter),
        ours: () => ours(writers, perWriter, 1),
        emmett: () => viaEmmett(writers, perWriter, 1),
      });
      const [rawRate, ourRate, emmettRate] = [rates.raw, rates.ours, rates.emmett];
      figures.push(throughputFigure(`append 1 event/append, ${writers} writer${writers > 1 ? 's' : ''} vs raw INSERT`, ourRate, 'events/s', 'raw single-row INSERT', rawRate, 0.8));
      figures.push(throughputFigure(`append 1 event/append, ${writers} writer${writers > 1 ? 's' : ''} vs Emmett`, ourRate, 'events/s', 'Emmett appendToStream', emmettRate, 1.2));
    }
    const perWriter = quick ? 60 : 250;
    context.log(`append: 10 events per append, 8 writers, ${perWriter} appends each`);
    const batches = await interleavedMedians(repetitions, { ours: () => ours(8, perWriter, 10), emmett: () => viaEmmett(8, perWriter, 10) });
    const [ourBatches, emmettBatches] = [batches.ours, batches.emmett];
    figures.push(throughputFigure('append 10 events/append, 8 writers vs Emmett', ourBatches, 'events/s', 'Emmett appendToStream', emmettBatches, 1));
    return figures;
  } finally {
    await emmett.close();
    await app.close();
    await owner.close();
    await database.drop();
    await admin.query(`DROP DATABASE IF EXISTS ${emmettName} WITH (FORCE)`);
    await admin.close();
  }
}
