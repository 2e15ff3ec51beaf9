import 'reflect-metadata';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Runtime } from '@chiptrail/platform';
import { Logger } from '@chiptrail/runtime';
import { createApiApp } from '../../api/src/bootstrap';
import { WorkerHost } from '../../worker/src/worker-host';
import { workerParts } from '../../worker/src/worker-parts';
import { prepareDatabase } from './database-setup';
import { onFirstStart } from '../../api/src/first-start';

/**
 * `npm start`: database (embedded unless DATABASE_URL is set), migrations, then api and worker in this one process.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new Logger(config.logLevel);
  const log = (line: string) => logger.info(line, 'Launcher');
  if (config.apiProcesses > 1) {
    logger.warn('API_PROCESSES applies to the api run on its own (node dist/apps/api/src/main.js); npm start answers from this one process.', 'Launcher');
  }
  const database = await prepareDatabase(config, log);
  const runtime = await Runtime.create(config, { databaseUrl: database.appUrl, applicationName: 'chiptrail', logger });
  const app = await createApiApp(runtime);
  await onFirstStart(app, runtime, (text) => process.stdout.write(text));
  const worker = config.runWorker ? new WorkerHost(runtime, workerParts(runtime)) : undefined;
  await worker?.start();
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  process.stdout.write(
    `\nchiptrail is running at ${url}\n` +
      `  database: ${database.embedded ? `embedded PostgreSQL (data in ${config.dataDir})` : 'DATABASE_URL'}\n` +
      `  queue:    ${runtime.queues.kind === 'redis' ? 'Redis (REDIS_URL)' : 'BullMQ on PostgreSQL'}\n` +
      `  health:   ${url}/health   API docs: ${url}/api/docs\n\n`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down`);
    await app.close().catch(() => undefined);
    await worker?.stop();
    await runtime.close().catch(() => undefined);
    await database.embedded?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: Error) => {
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : error.stack}\n`);
  process.exit(1);
});
