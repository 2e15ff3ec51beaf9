import 'reflect-metadata';
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Runtime } from '@chiptrail/platform';
import { Logger } from '@chiptrail/runtime';
import { superviseApiProcesses } from './api-processes';
import { createApiApp } from './bootstrap';
import { onFirstStart } from './first-start';

/** The api alone, for deployments that run api and worker as separate processes on external PostgreSQL. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    throw new ConfigError('DATABASE_URL', 'is required to run the api on its own; `npm start` runs an embedded database.');
  }
  if (cluster.isPrimary && config.apiProcesses > 1) {
    process.exit(await superviseApiProcesses(config.apiProcesses, new Logger(config.logLevel)));
  }
  const runtime = await Runtime.create(config, { databaseUrl: config.databaseUrl, applicationName: 'chiptrail-api' });
  const app = await createApiApp(runtime);
  await onFirstStart(app, runtime, (text) => process.stdout.write(text));
  await app.listen(config.port, config.host);
  runtime.logger.info(`chiptrail api listening on ${await app.getUrl()}`, 'Main');
  let stopping = false;
  const shutdown = async () => {
    // Under a supervisor, a terminal's Ctrl-C reaches this process twice: as SIGINT, and as the supervisor's SIGTERM.
    if (stopping) return;
    stopping = true;
    await app.close();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: Error) => {
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : error.stack}\n`);
  process.exit(1);
});
