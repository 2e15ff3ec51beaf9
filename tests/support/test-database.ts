import { loadTestConfig } from '@chiptrail/config';
import { createScratchDatabase, type ScratchDatabase } from '@chiptrail/db';

export { withDatabase } from '@chiptrail/db';
export type TestDatabase = ScratchDatabase;

/** A migrated database of the test's own on the local server (`chiptrail_test_*`), dropped again by `drop()`. */
export function createTestDatabase(prefix = 'ct'): Promise<TestDatabase> {
  return createScratchDatabase(loadTestConfig().adminDatabaseUrl, `test_${prefix}`);
}
