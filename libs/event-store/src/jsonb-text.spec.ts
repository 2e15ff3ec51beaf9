import { Client } from 'pg';
import { loadTestConfig } from '@chiptrail/config';
import { jsonbText } from './jsonb-text';

/** The JavaScript rendering must equal PostgreSQL's byte for byte, or imported events would fail verification. */
let client: Client;
beforeAll(async () => {
  client = new Client({ connectionString: loadTestConfig().adminDatabaseUrl });
  await client.connect();
});
afterAll(() => client?.end());

async function postgres(values: readonly unknown[]): Promise<string[]> {
  const { rows } = await client.query<{ text: string }>(
    `SELECT t::jsonb::text AS text FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n) ORDER BY n`,
    [values.map((value) => JSON.stringify(value))],
  );
  return rows.map((row) => row.text);
}

/** A small deterministic generator of JSON-ish values, with the awkward corners weighted in. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const strings = ['', 'a', 'é', 'ä', 'aa', 'Z', '\u0000x', '\u001f', '\n\t\r\b\f', '"\\/', '\u2028\u2029', '💾', 'ｆｕｌｌ', 'ключ', '中文', '\u007f', 'b'];
  const numbers = [0, -0, 1, -1, 1.5, 0.1 + 0.2, 1e21, 1e-7, 1.5e-7, -2.5e-9, 1.2345e25, 123456789012, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE, 1e-6, 999999.99];
  const value = (depth: number): unknown => {
    const kind = depth > 3 ? Math.floor(next() * 5) : Math.floor(next() * 8);
    switch (kind) {
      case 0:
        return pick(strings) + (next() < 0.3 ? pick(strings) : '');
      case 1:
        return next() < 0.5 ? pick(numbers) : Math.round((next() - 0.5) * 1e6) / 10 ** Math.floor(next() * 8);
      case 2:
        return next() < 0.5;
      case 3:
        return null;
      case 4:
        return pick([undefined, NaN, Infinity, new Date(Date.UTC(2025, 3, 9))]);
      case 5:
      case 6: {
        const object: Record<string, unknown> = {};
        const size = Math.floor(next() * 6);
        for (let i = 0; i < size; i += 1) object[pick(strings) + pick(['', 'k', 'key', 'é'])] = value(depth + 1);
        return object;
      }
      default:
        return Array.from({ length: Math.floor(next() * 5) }, () => value(depth + 1));
    }
  };
  return () => value(0);
}

describe('jsonb text in JavaScript', () => {
  it('equals PostgreSQL for the awkward corners: key order, escapes, numbers, unicode', async () => {
    const values = [
      { b: 1, aa: 2, a: [1.5, 1e21, 1e-7, -0, 0.1, '\u0001é\u2028\\"'], é: null, z: true, ä: 1, x: 100 },
      { '💾': 1, ｆ: 2, 'ü': 3, u: 4, '': 5 },
      [undefined, () => 1, NaN, -Infinity, { skip: undefined, keep: 0 }],
      'plain',
      12345.678,
      { nested: { deeper: { list: [[], {}, [{}]] } } },
      // More keys than are sorted in place.
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${(i * 7) % 20}${i % 3 ? 'x' : ''}`, i])),
    ];
    expect(values.map(jsonbText)).toEqual(await postgres(values));
  });

  it('quotes text exactly as JSON.stringify does, for every UTF-16 code unit, in strings and keys', () => {
    const mismatches: string[] = [];
    for (let unit = 0; unit <= 0xffff; unit += 1) {
      const text = `a${String.fromCharCode(unit)}b`;
      if (jsonbText(text) !== JSON.stringify(text) || jsonbText({ [text]: 1 }) !== `{${JSON.stringify(text)}: 1}`) mismatches.push(unit.toString(16));
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('equals PostgreSQL for 3,000 generated values', async () => {
    const next = generator(20251128);
    const values = Array.from({ length: 3000 }, () => next()).filter((value) => !JSON.stringify(value ?? null).includes('\\u0000'));
    expect(values.length).toBeGreaterThan(2500);
    const expected = await postgres(values.map((value) => value ?? null));
    const actual = values.map((value) => jsonbText(value ?? null));
    const mismatches = actual.map((text, index) => (text === expected[index] ? null : { value: values[index], js: text, pg: expected[index] })).filter(Boolean);
    expect(mismatches.slice(0, 3)).toEqual([]);
  });
});
