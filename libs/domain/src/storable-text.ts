import { ValidationError } from './errors';

// NUL, or half of a UTF-16 surrogate pair: PostgreSQL refuses the first and would silently replace the second.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The path of the first key or string in a JSON value that cannot be stored as written, or null. */
export function unstorableTextAt(value: unknown): string | null {
  const pending: Array<[unknown, string]> = [[value, '']];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      if (UNSTORABLE.test(current)) return path || '(body)';
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => pending.push([item, `${path}[${index}]`]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const at = path ? `${path}.${key}` : key;
        if (UNSTORABLE.test(key)) return at;
        pending.push([item, at]);
      }
    }
  }
  return null;
}

/**
 * Whether JSON text can parse to text that `unstorableTextAt` refuses. A string in JSON holds NUL only as an escape,
 * and a lone surrogate only as an escape or as a surrogate already in the text (a UTF-8 decoder never makes one), so
 * text without either parses to storable text: bulk imports walk only the lines that could fail.
 */
export function jsonTextMayBeUnstorable(text: string): boolean {
  return /\\u|[\u0000\ud800-\udfff]/.test(text);
}

/** Refuses text that cannot be stored faithfully, naming where it is. */
export function assertStorableText(value: unknown): void {
  const at = unstorableTextAt(value);
  if (at !== null) {
    throw new ValidationError('invalid_text', `${at}: text may not contain the NUL character or unpaired UTF-16 surrogates.`, [
      { field: at, message: 'contains NUL or an unpaired surrogate' },
    ]);
  }
}
