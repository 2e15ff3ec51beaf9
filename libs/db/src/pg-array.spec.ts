import { createTestDatabase } from '@chiptrail/testing';
import { Database } from './database';
import { pgArray } from './pg-array';

it('round-trips lists of any length and content through a text[] of array literals', async () => {
  const database = await createTestDatabase('pgarray');
  const db = await Database.connect({ url: database.appUrl, poolSize: 1, applicationName: 'pg-array-spec' });
  try {
    const lists = [[], ['h20'], ['a,b', 'quote " and \\ backslash', '{braces}', 'NULL', ' spaced ', '中文', ''], ['x', 'y', 'z']];
    const { rows } = await db.query<{ list: string[] }>(
      `SELECT r.list::text[] AS list FROM unnest($1::text[]) WITH ORDINALITY AS r(list, n) ORDER BY n`,
      [lists.map(pgArray)],
    );
    expect(rows.map((row) => row.list)).toEqual(lists);
  } finally {
    await db.close();
    await database.drop();
  }
});
