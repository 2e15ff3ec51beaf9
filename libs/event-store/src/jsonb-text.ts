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
  // Like JSON.stringify: toJSON is asked once, and what it gives is written as it is.
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      return Number.isFinite(value) ? numericText(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object': {
      if (value === null) return 'null';
      // Appended in place, not joined from arrays of parts: an import writes every event this way (a fifth faster).
      if (Array.isArray(value)) {
        let text = '[';
        for (let index = 0; index < value.length; index += 1) text += (index === 0 ? '' : ', ') + (serialize(value[index], true) as string);
        return `${text}]`;
      }
      const keys = Object.keys(value);
      if (keys.length > 1) sortKeys(keys);
      let text = '{';
      for (const key of keys) {
        const item = serialize((value as Record<string, unknown>)[key], false);
        if (item === undefined) continue;
        text += `${text.length === 1 ? '' : ', '}${quoted(key)}: ${item}`;
      }
      return `${text}}`;
    }
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : undefined;
    default:
      return undefined;
  }
}

// What JSON.stringify escapes: quotes, backslashes, control characters and (lone) surrogates. Most text has none,
// and quoting it directly takes half the time of a call to JSON.stringify (an import quotes every key and string).
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

function quoted(text: string): string {
  return ESCAPED.test(text) ? JSON.stringify(text) : `"${text}"`;
}

const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Puts keys in jsonb's order: shorter UTF-8 first, then bytewise; for ASCII keys (nearly all) that is length, then
 * code units. The few keys of an event's objects are sorted in place: Array.prototype.sort copies the array first,
 * and those copies were an eighth of all an import allocated.
 */
function sortKeys(keys: string[]): void {
  if (keys.length > 16 || keys.some((key) => NON_ASCII.test(key))) {
    keys.sort(compareKeys);
    return;
  }
  for (let index = 1; index < keys.length; index += 1) {
    const key = keys[index] as string;
    let at = index;
    for (; at > 0 && compareAscii(keys[at - 1] as string, key) > 0; at -= 1) keys[at] = keys[at - 1] as string;
    keys[at] = key;
  }
}

function compareAscii(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

function compareKeys(a: string, b: string): number {
  if (!NON_ASCII.test(a) && !NON_ASCII.test(b)) return compareAscii(a, b);
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
