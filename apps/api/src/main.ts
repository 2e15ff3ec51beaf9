import 'reflect-metadata';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Runtime } from '@chiptrail/platform';
import { createApiApp } from './bootstrap';
import { onFirstStart } from './first-start';

/** The api alone, for deployments that run api and worker as separate processes on external PostgreSQL. */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    throw new ConfigError('DATABASE_URL', 'is required to run the api on its own; `npm start` runs an embedded database.');
  }
  const runtime = await Runtime.create(config, { databaseUrl: config.databaseUrl, applicationName: 'chiptrail-api' });
  const app = await createApiApp(runtime);
  await onFirstStart(app, runtime, (text) => process.stdout.write(text));
  await app.listen(config.port, config.host);
  runtime.logger.info(`chiptrail api listening on ${await app.getUrl()}`, 'Main');
  const shutdown = async () => {
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
