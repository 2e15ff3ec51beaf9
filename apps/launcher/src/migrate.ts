import 'reflect-metadata';
import { ConfigError, loadConfig } from '@chiptrail/config';
import { Logger } from '@chiptrail/runtime';
import { prepareDatabase } from './database-setup';

/** `npm run migrate`: brings the schema up to date and exits. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new Logger(config.logLevel);
  const database = await prepareDatabase(config, (line) => logger.info(line, 'Migrate'));
  await database.embedded?.stop();
  process.stdout.write('migrations are up to date\n');
}

main().catch((error: Error) => {
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : error.stack}\n`);
  process.exit(1);
});
