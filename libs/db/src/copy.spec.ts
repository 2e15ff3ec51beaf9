import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { copyRows } from './copy';
import { Database } from './database';

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase('copy');
  db = await Database.connect({ url: database.ownerUrl, poolSize: 2, applicationName: 'copy-spec' });
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

it('writes every row, over several statements, with text, nulls and arrays exactly as given', async () => {
  // COPY's own escapes, the text that means NULL to it, and what an array literal would split on.
  // Short values are escaped a character at a time, long ones (over 64) another way: both kinds, in arrays too.
  const short = ['plain', '', 'tab\there', 'line\nbreak', 'cr\rhere', 'back\\slash', '\\N', 'quote "q"', 'comma, {brace}', 'NULL', 'ü 😀', ' spaced '];
  const hostile = [...short, ...short.map((value) => `${'long '.repeat(14)}${value}\\"\t"`)];
  const rows = Array.from({ length: 25_001 }, (_, n) => ({
    n,
    text: hostile[n % hostile.length]!,
    maybe: n % 3 === 0 ? null : hostile[(n + 1) % hostile.length]!,
    list: n % 5 === 0 ? [] : hostile.slice(0, (n % hostile.length) + 1),
  }));
  const stored = await db.transaction(async (tx) => {
    await tx.query(`CREATE TEMP TABLE copied (n int PRIMARY KEY, text text NOT NULL, maybe text, list text[] NOT NULL) ON COMMIT DROP`);
    await copyRows(tx, `COPY copied (n, text, maybe, list) FROM STDIN`, rows, (r, out) => out.text(String(r.n)).text(r.text).nullable(r.maybe).array(r.list).end());
    return (await tx.query(`SELECT n, text, maybe, list FROM copied ORDER BY n`)).rows;
  });
  expect(stored).toEqual(rows);
});

it('writes lines longer than its buffers, and multi-byte text wherever a buffer ends, byte for byte', async () => {
  // Sizes around the 256 KiB buffers: a line that only just fits, one that does not, one far over, in UTF-8 of 1-4 bytes.
  const pieces = ['a', 'ü', '€', '😀'];
  const rows = Array.from({ length: 600 }, (_, n) => ({
    n,
    text: n % 150 === 7 ? pieces[n % 4]!.repeat(90_000 + n) : `${pieces[n % 4]!.repeat(n * 7)}\t${n}`,
  }));
  const stored = await db.transaction(async (tx) => {
    await tx.query(`CREATE TEMP TABLE long_lines (n int PRIMARY KEY, text text NOT NULL) ON COMMIT DROP`);
    await copyRows(tx, `COPY long_lines (n, text) FROM STDIN`, rows, (r, out) => out.text(String(r.n)).text(r.text).end());
    return (await tx.query(`SELECT n, text FROM long_lines ORDER BY n`)).rows;
  });
  expect(stored).toEqual(rows);
});

it('refuses to COPY on the pool, where it would run outside the caller’s transaction', async () => {
  await expect(copyRows(db, `COPY copied (n) FROM STDIN`, [1], (n, out) => out.text(String(n)).end())).rejects.toThrow(/transaction/);
});
