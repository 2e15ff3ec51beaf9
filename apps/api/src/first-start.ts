import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuthService } from '@chiptrail/auth';
import { DatasetSeeder } from '@chiptrail/dataset';
import type { Runtime } from '@chiptrail/platform';
import { ImportPolicyEvents } from '@chiptrail/policy';

/**
 * What the first start of an empty installation does: create the admin account (printing a generated password
 * once, if none was configured) and load the curated dataset (unless SEED_DATASET=false).
 */
export async function onFirstStart(app: NestFastifyApplication, runtime: Runtime, print: (text: string) => void): Promise<void> {
  const admin = await app.get(AuthService).ensureAdmin(runtime.config.adminEmail, runtime.config.adminPassword);
  if (admin.generatedPassword) {
    print(
      `\nCreated the admin account ${runtime.config.adminEmail} with the password ${admin.generatedPassword}\n` +
        'It is shown this once; set ADMIN_PASSWORD before the first start to choose it.\n\n',
    );
  }
  if (runtime.config.seedDataset) {
    await new DatasetSeeder(runtime.db, app.get(ImportPolicyEvents), runtime.clock, runtime.logger).seedIfEmpty();
  }
}
