import { parseInstant } from './policy-events';

describe('parseInstant', () => {
  it.each([
    ['2025-04-09', '2025-04-09T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['1900-01-01', '1900-01-01T00:00:00.000Z'],
    ['2200-12-31', '2200-12-31T00:00:00.000Z'],
    ['2025-04-09T12:00:00Z', '2025-04-09T12:00:00.000Z'],
    ['2025-04-09T12:00+02:00', '2025-04-09T10:00:00.000Z'],
    ['2025-04-09T12:00:00.123456789-05:30', '2025-04-09T17:30:00.123Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseInstant(text)?.toISOString()).toBe(iso);
  });

  it('reads a bare date as the last millisecond of that day when asked for the end of the day', () => {
    expect(parseInstant('2025-04-09', true)?.toISOString()).toBe('2025-04-09T23:59:59.999Z');
    expect(parseInstant('2025-04-09T12:00:00Z', true)?.toISOString()).toBe('2025-04-09T12:00:00.000Z');
  });

  it.each([
    '2025-02-29',
    '2025-13-01',
    '2025-00-10',
    '2025-04-31',
    '1899-12-31',
    '2201-01-01',
    '2025-4-09',
    '2025/04/09',
    '２０２５-04-09',
    '2025-04-0a',
    '+2025-04-0',
    '2025-04-09 ',
    ' 2025-04-09',
    '2025-04-09\n',
    '2025-04-09T12:00:00',
    '2025-04-09T25:00:00Z',
    '09.04.2025',
    '',
  ])('refuses %j', (text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  it('accepts exactly the dates the pattern YYYY-MM-DD names, digit for digit', () => {
    // The definition the digit-by-digit reading must keep: a regular expression over ASCII digits.
    const reference = (text: string) => {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
      if (!match) return undefined;
      const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
      const date = new Date(Date.UTC(year, month - 1, day));
      const valid = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
      return valid && year >= 1900 && year <= 2200 ? date.toISOString() : undefined;
    };
    const characters = ['0', '1', '2', '3', '9', '-', '/', ':', 'T', ' ', '٣', '\u0000'];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648);
    for (let n = 0; n < 20_000; n += 1) {
      // Mostly well-formed dates with one character changed now and then, so both answers are exercised.
      const base = `${1890 + (next() % 320)}-${String(next() % 14).padStart(2, '0')}-${String(next() % 33).padStart(2, '0')}`;
      const at = next() % 14;
      const text = at < 10 ? base.slice(0, at) + characters[next() % characters.length] + base.slice(at + 1) : base;
      expect([text, parseInstant(text)?.toISOString()]).toEqual([text, reference(text)]);
    }
  });
});
