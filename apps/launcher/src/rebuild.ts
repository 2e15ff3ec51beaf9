import 'reflect-metadata';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { rebuildProjection } from '@chiptrail/projections';
import { Clock, Logger } from '@chiptrail/runtime';
import { rebuildableProjections } from '../../worker/src/worker-parts';
import { BATCH_CONNECT_TIMEOUT_MS, prepareDatabase } from './database-setup';
import { progressLine } from './progress';

/** `npm run projections:rebuild [name]`: replays the log into fresh tables and swaps them in (all projections by default). */
async function main(): Promise<void> {
  const wanted = process.argv[2];
  const projections = rebuildableProjections();
  const selected = wanted ? projections.filter((projection) => projection.name === wanted) : projections;
  if (wanted && selected.length === 0) {
    throw new Error(`No projection named "${wanted}". Known: ${projections.map((p) => p.name).join(', ') || '(none)'}.`);
  }
  const config = loadConfig();
  const logger = new Logger(config.logLevel);
  const database = await prepareDatabase(config, (line) => logger.info(line, 'Rebuild'));
  // Three connections: the batch being applied, the next one being read, the fresh tables' statistics.
  const db = await Database.connect({ url: database.ownerUrl, poolSize: 4, applicationName: 'chiptrail-rebuild', statementTimeoutMs: 0, connectTimeoutMs: BATCH_CONNECT_TIMEOUT_MS });
  const store = new EventStore(db, new Clock());
  const started = Date.now();
  try {
    for (const projection of selected) {
      const result = await rebuildProjection(db, store, projection, (progress) =>
        progressLine(progress.projection, progress.handled, progress.total, Date.now() - started),
      );
      process.stdout.write(`\n${projection.name}: rebuilt from ${result.handled} events in ${result.seconds.toFixed(1)}s\n`);
    }
    await db.query(`SELECT pg_notify('chiptrail_events', '')`);
  } finally {
    await db.close();
    await database.embedded?.stop();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : error.message}\n`);
  process.exit(1);
});
