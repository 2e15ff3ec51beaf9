import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Runtime } from '@chiptrail/platform';
import { WorkerHost } from './worker-host';
import { workerParts } from './worker-parts';

/** The worker alone: projections and queue processors against external PostgreSQL (and Redis). */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    throw new ConfigError('DATABASE_URL', 'is required to run the worker on its own; `npm start` runs an embedded database.');
  }
  const runtime = await Runtime.create(config, { databaseUrl: config.databaseUrl, applicationName: 'chiptrail-worker' });
  const host = new WorkerHost(runtime, workerParts(runtime));
  await host.start();
  runtime.logger.info('chiptrail worker started', 'Main');
  const heartbeatFile = config.workerHeartbeatFile;
  const heartbeat = heartbeatFile
    ? setInterval(() => writeFileSync(heartbeatFile, JSON.stringify(host.runners.map((r) => r.status()))), 10_000)
    : undefined;
  const shutdown = async () => {
    if (heartbeat) clearInterval(heartbeat);
    await host.stop();
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
