import 'reflect-metadata';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { DomainError } from '@chiptrail/domain';
import { EventStore } from '@chiptrail/event-store';
import { Clock, Logger } from '@chiptrail/runtime';
// The policy library's own files: its index would load the HTTP layer too.
import { ImportPolicyEvents } from '../../../libs/policy/src/import-policy-events.handler';
import { importNdjson } from '../../../libs/policy/src/ndjson-import';
import { BATCH_CONNECT_TIMEOUT_MS, prepareDatabase } from './database-setup';

/**
 * `npm run import -- <file.ndjson>`: records many policy events, one `POST /api/v1/events` body per line, through
 * the same rules as the API, in transactions of 10,000 events. A bad line stops the import and names the line;
 * batches before it stay recorded, and running the same file again skips them (events with ids are recorded once).
 */
async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new UsageError('Usage: npm run import -- <file.ndjson> (one POST /api/v1/events body per line; "-" reads stdin)');
  const config = loadConfig();
  const logger = new Logger(config.logLevel);
  const database = await prepareDatabase(config, (line) => logger.info(line, 'Import'));
  const db = await Database.connect({ url: database.appUrl, poolSize: 2, applicationName: 'chiptrail-import', statementTimeoutMs: 0, connectTimeoutMs: BATCH_CONNECT_TIMEOUT_MS });
  const clock = new Clock();
  const started = Date.now();
  try {
    const lines = createInterface({ input: file === '-' ? process.stdin : createReadStream(file), crlfDelay: Infinity });
    const result = await importNdjson(lines, new ImportPolicyEvents(new EventStore(db, clock), clock), { actor: 'system:import', correlationId: `import:${started}` }, clock, (imported) => {
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(`imported ${imported.toLocaleString('en-US')} events (${Math.round(imported / seconds).toLocaleString('en-US')}/s)\n`);
    });
    process.stdout.write(
      `${JSON.stringify({ ...result, seconds: Math.round(result.seconds * 10) / 10, eventsPerSecond: Math.round(result.imported / result.seconds), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
    );
  } finally {
    await db.close();
    await database.embedded?.stop();
  }
}

class UsageError extends Error {}

main().catch((error: Error) => {
  const known = error instanceof ConfigError || error instanceof UsageError || error instanceof DomainError;
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : known ? error.message : error.stack}\n`);
  process.exit(1);
});
