/**
 * PostgreSQL's text form of a jsonb value (what `value::jsonb::text` prints), computed in JavaScript for a value as
 * `JSON.stringify` would send it. Bulk import hashes events before they reach the server, and the hash must be the
 * one `event_digest` computes there: keys ordered by UTF-8 length then bytes, `", "` and `": "` separators,
 * numbers as `numeric` prints them (no exponent), strings escaped exactly like JSON.stringify does.
 */
export function jsonbText(value: unknown): string {
  const text = serialize(value, false);
  return text === undefined ? 'null' : text;
}

function serialize(value: unknown, inArray: boolean): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? numericText(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : undefined;
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((item) => serialize(item, true) as string).join(', ')}]`;
      const entries: Array<[string, string]> = [];
      for (const key of Object.keys(value)) {
        const text = serialize((value as Record<string, unknown>)[key], false);
        if (text !== undefined) entries.push([key, text]);
      }
      entries.sort(([a], [b]) => compareKeys(a, b));
      return `{${entries.map(([key, text]) => `${JSON.stringify(key)}: ${text}`).join(', ')}}`;
    }
    default:
      return undefined;
  }
}

const NON_ASCII = /[^\u0000-\u007f]/;

/** jsonb's key order: shorter UTF-8 first, then bytewise. */
function compareKeys(a: string, b: string): number {
  if (!NON_ASCII.test(a) && !NON_ASCII.test(b)) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length !== y.length ? x.length - y.length : Buffer.compare(x, y);
}

/** A number as PostgreSQL's numeric prints the text JSON.stringify gives it (exponents written out). */
export function numericText(value: number): string {
  const text = String(value === 0 ? 0 : value);
  const exponentAt = text.indexOf('e');
  if (exponentAt < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, exponentAt);
  const exponent = Number(text.slice(exponentAt + 1));
  const point = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const integerDigits = (point < 0 ? mantissa.length : point) + exponent;
  let result: string;
  if (integerDigits <= 0) result = `0.${'0'.repeat(-integerDigits)}${digits}`;
  else if (integerDigits >= digits.length) result = digits + '0'.repeat(integerDigits - digits.length);
  else result = `${digits.slice(0, integerDigits)}.${digits.slice(integerDigits)}`;
  return negative ? `-${result}` : result;
}
