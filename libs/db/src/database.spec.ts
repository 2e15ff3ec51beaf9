import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { Database } from './database';

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase('database');
  db = await Database.connect({ url: database.appUrl, poolSize: 2, applicationName: 'database-spec', statementTimeoutMs: 12_345 });
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

it('runs every connection with JIT off and the statement timeout it was given, in and out of transactions', async () => {
  const settings = async (sql: Pick<Database, 'query'>) =>
    (await sql.query<{ jit: string; timeout: string }>(`SELECT current_setting('jit') AS jit, current_setting('statement_timeout') AS timeout`)).rows[0];
  expect(await settings(db)).toEqual({ jit: 'off', timeout: '12345ms' });
  expect(await db.transaction((tx) => settings(tx))).toEqual({ jit: 'off', timeout: '12345ms' });
});
