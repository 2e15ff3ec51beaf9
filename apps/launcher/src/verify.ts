import 'reflect-metadata';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { verifyIntegrity } from '@chiptrail/event-store';
import { Logger } from '@chiptrail/runtime';
import { BATCH_CONNECT_TIMEOUT_MS, prepareDatabase } from './database-setup';
import { progressLine } from './progress';

/** `npm run verify`: recomputes the hash chain; exits 1 and names the first broken link if there is one. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new Logger(config.logLevel);
  const database = await prepareDatabase(config, (line) => logger.info(line, 'Verify'));
  const db = await Database.connect({ url: database.ownerUrl, poolSize: 2, applicationName: 'chiptrail-verify', statementTimeoutMs: 0, connectTimeoutMs: BATCH_CONNECT_TIMEOUT_MS });
  const started = Date.now();
  try {
    const report = await verifyIntegrity(db, () => new Date(), (done, total) =>
      progressLine('verify', done, total, Date.now() - started),
    );
    process.stdout.write(`\n${JSON.stringify(report, null, 2)}\n`);
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await db.close();
    await database.embedded?.stop();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : error.stack}\n`);
  process.exit(2);
});
