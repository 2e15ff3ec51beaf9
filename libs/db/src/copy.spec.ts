import { createTestDatabase, type TestDatabase } from '@chiptrail/testing';
import { CopyRow, copyBinaryRows, copyBinaryWritten } from './copy';
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

it('writes numbers, bytes and jsonb taken from a buffer exactly as given, among rows larger than its buffers', async () => {
  // Sizes around the 256 KiB buffers: a jsonb that only just fits, one that does not, one far over, in UTF-8 of 1-4
  // bytes, each taken out of a larger buffer.
  const pieces = ['a', 'ü', '€', '😀'];
  const rows = Array.from({ length: 600 }, (_, n) => {
    const text = n % 150 === 7 ? pieces[n % 4]!.repeat(90_000 + n) : `${pieces[n % 4]!.repeat(n * 7)}\t\\${n}`;
    return {
      n,
      big: [0, 1, -1, 2 ** 31, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER][n % 7]!,
      small: [0, 1, -1, 2 ** 31 - 1, -(2 ** 31)][n % 5]!,
      bytes: Buffer.from(Array.from({ length: n % 40 }, (_, i) => (i * 37 + n) % 256)),
      document: { text, n, list: [true, null, 1.5] },
    };
  });
  const stored = await db.transaction(async (tx) => {
    await tx.query(`CREATE TEMP TABLE numbers_and_bytes (n int PRIMARY KEY, big bigint NOT NULL, small int NOT NULL, bytes bytea NOT NULL, document jsonb NOT NULL) ON COMMIT DROP`);
    await copyBinaryWritten(tx, `COPY numbers_and_bytes (n, big, small, bytes, document) FROM STDIN WITH (FORMAT binary)`, function* (out) {
      for (const r of rows) {
        const json = JSON.stringify(r.document);
        const source = Buffer.from(`prefix ${json} suffix`);
        const start = Buffer.byteLength('prefix ');
        yield out.row(5).integer(r.n).bigint(r.big).integer(r.small).bytea(r.bytes).jsonb(source, start, start + Buffer.byteLength(json));
      }
    });
    return (await tx.query(`SELECT n, big::text, small, bytes, document FROM numbers_and_bytes ORDER BY n`)).rows;
  });
  expect(stored).toEqual(rows.map((r) => ({ ...r, big: String(r.big) })));
});

it('refuses numbers their columns cannot hold exactly, before writing them', () => {
  const out = new CopyRow();
  expect(() => out.bigint(2 ** 53)).toThrow(RangeError);
  expect(() => out.bigint(1.5)).toThrow(RangeError);
  expect(() => out.integer(2 ** 31)).toThrow(RangeError);
  expect(() => out.integer(Number.NaN)).toThrow(RangeError);
});

it('refuses to COPY on the pool, where it would run outside the caller’s transaction', async () => {
  await expect(copyBinaryWritten(db, `COPY copied (n) FROM STDIN WITH (FORMAT binary)`, function* (out) {
    yield out.row(1).text('1');
  })).rejects.toThrow(/transaction/);
  await expect(copyBinaryRows(db, `COPY copied (n) FROM STDIN WITH (FORMAT binary)`, ['1'], (n, out) => out.row(1).text(n))).rejects.toThrow(/transaction/);
});

it('writes binary rows: text, uuids, instants (infinity and before 2000 too), booleans, arrays and NULLs exactly as given', async () => {
  const texts = ['plain', '', 'tab\there', 'back\\slash', 'ü 😀', `${'long '.repeat(20)}ü`, 'NULL', '\\N'];
  const instants = [new Date('2022-10-07T00:00:00.000Z'), new Date('1999-12-31T23:59:59.999Z'), new Date('1970-01-01T00:00:00.001Z'), new Date('2100-02-03T04:05:06.789Z'), null];
  const uuids = ['0f8e6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b', 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', '00000000-0000-0000-0000-000000000000'];
  const rows = Array.from({ length: 12_345 }, (_, n) => ({
    n,
    text: texts[n % texts.length]!,
    maybe: n % 3 === 0 ? null : texts[(n + 1) % texts.length]!,
    id: uuids[n % uuids.length]!,
    maybeId: n % 4 === 0 ? null : uuids[(n + 1) % uuids.length]!,
    at: instants[n % instants.length]!,
    flag: n % 2 === 0,
    list: n % 5 === 0 ? [] : texts.slice(0, (n % texts.length) + 1),
    ids: n % 6 === 0 ? [] : uuids.slice(0, (n % uuids.length) + 1),
  }));
  const stored = await db.transaction(async (tx) => {
    await tx.query(
      `CREATE TEMP TABLE binary_rows (n text PRIMARY KEY, text text NOT NULL, maybe text, id uuid NOT NULL, maybe_id uuid,
         at timestamptz NOT NULL, flag boolean NOT NULL, list text[] NOT NULL, ids uuid[] NOT NULL) ON COMMIT DROP`,
    );
    await copyBinaryRows(tx, `COPY binary_rows (n, text, maybe, id, maybe_id, at, flag, list, ids) FROM STDIN WITH (FORMAT binary)`, rows, (r, out) =>
      out
        .row(9)
        .text(String(r.n))
        .text(r.text)
        .nullableText(r.maybe)
        .uuid(r.id)
        .nullableUuid(r.maybeId)
        .timestamp(r.at)
        .bool(r.flag)
        .textArray(new Set(r.list))
        .uuidArray(r.ids),
    );
    return (await tx.query(`SELECT n, text, maybe, id::text, maybe_id::text, at, at = 'infinity' AS endless, flag, list, ids::text[] FROM binary_rows ORDER BY n::int`)).rows;
  });
  expect(stored).toEqual(
    rows.map((r) => ({
      n: String(r.n),
      text: r.text,
      maybe: r.maybe,
      id: r.id.toLowerCase(),
      maybe_id: r.maybeId?.toLowerCase() ?? null,
      at: r.at ?? Infinity,
      endless: r.at === null,
      flag: r.flag,
      list: [...new Set(r.list)],
      ids: r.ids.map((id) => id.toLowerCase()),
    })),
  );
});

it.each(['not-a-uuid', '0f8e6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5g', '0f8e6a3c11b2d-4e5f-8a9b-0c1d2e3f4a5b', '0f8e6a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5bb', ''])(
  'refuses to write %j as a uuid',
  async (bad) => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`CREATE TEMP TABLE bad_ids (id uuid NOT NULL) ON COMMIT DROP`);
        await copyBinaryRows(tx, `COPY bad_ids (id) FROM STDIN WITH (FORMAT binary)`, [bad], (id, out) => out.row(1).uuid(id));
      }),
    ).rejects.toThrow(/not one/);
  },
);
