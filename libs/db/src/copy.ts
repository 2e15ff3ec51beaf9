import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Database, type Sql } from './database';

/**
 * Bulk writes through `COPY … FROM STDIN` (text format). Each value is parsed once by its column's input function,
 * where a `jsonb_to_recordset` parameter is parsed as one document and then taken apart again: for the policy
 * projection's cited answers that was about half of what the server spent on them.
 */
const COPY_ROWS = 10_000;

/**
 * `rows` by COPY, each line written by `line` as the stream asks for it, in statements of at most COPY_ROWS rows: a
 * batch can be large, and each statement must stay well inside the connection's statement timeout.
 */
export async function copyRows<T>(tx: Sql, statement: string, rows: readonly T[], line: (row: T, out: CopyLine) => void): Promise<void> {
  for (let start = 0; start < rows.length; start += COPY_ROWS) {
    const slice = rows.slice(start, start + COPY_ROWS);
    await copyWritten(tx, statement, function* (out) {
      for (const row of slice) yield line(row, out);
    });
  }
}

/**
 * One COPY statement of the lines `lines` writes into `out`, pausing (yielding) after each: they are written as the
 * stream asks for them, and sent in buffers of about CHUNK_BYTES.
 */
export async function copyWritten(tx: Sql, statement: string, lines: (out: CopyLine) => Iterable<unknown>): Promise<void> {
  await copyChunks(tx, statement, chunks(lines));
}

async function copyChunks(tx: Sql, statement: string, chunks: Iterable<Buffer>): Promise<void> {
  // The pool would run it on whichever connection is free, outside the caller's transaction.
  if (tx instanceof Database) throw new Error('COPY runs on a transaction’s connection, not on the pool.');
  await pipeline(Readable.from(chunks), (tx as PoolClient).query(copyFrom(statement)));
}

/** A text value as COPY's text format reads it: backslash, tab and line breaks escaped; everything else as it is. */
export function copyText(value: string): string {
  if (!COPY_SPECIALS.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

const COPY_SPECIALS = /[\\\t\n\r]/;
const CHUNK_BYTES = 256 * 1024;
/** Shorter values are written a code unit at a time; longer ones by the native encoder. */
const SHORT = 64;
const [BACKSLASH, QUOTE, TAB, NEWLINE, RETURN] = [0x5c, 0x22, 0x09, 0x0a, 0x0d];

/**
 * One line of COPY text being written: each field goes straight into the stream's buffers, tab-separated. Building
 * each line as a string first (with array literals and escapes as strings of their own) allocated a kilobyte and a
 * half per policy fact, and V8 flattened every line before encoding it: a fifth of a rebuild's allocations.
 */
export class CopyLine {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private fields = 0;
  /** Buffers filled up, to be sent before the current one. */
  readonly full: Buffer[] = [];

  /** A text field (as text: numbers, ids and instants too). */
  text(value: string): this {
    this.separate(value.length * 3);
    this.put(value, false);
    return this;
  }

  /** A field that may be NULL. */
  nullable(value: string | null | undefined): this {
    return value === null || value === undefined ? this.verbatimField('\\N') : this.text(value);
  }

  /** A text[] (or uuid[]) field: every element quoted, so commas, braces and spaces need no thought. */
  array(values: Iterable<string>): this {
    this.separate(2);
    this.byte(0x7b);
    let first = true;
    for (const value of values) {
      // Quoted, escaped for the array literal (backslash, quote) and then for COPY (backslash, tab, line breaks).
      this.room(value.length * 6 + 3);
      if (!first) this.byte(0x2c);
      first = false;
      this.byte(QUOTE);
      this.put(value, true);
      this.byte(QUOTE);
    }
    this.room(1);
    this.byte(0x7d);
    return this;
  }

  /** A field whose text needs no escaping (`t`, `infinity`, a literal already escaped). */
  verbatimField(text: string): this {
    this.separate(text.length * 3);
    this.used += this.buffer.write(text, this.used);
    return this;
  }

  /** Ends the line. */
  end(): void {
    this.room(1);
    this.byte(NEWLINE);
    this.fields = 0;
  }

  /** What the buffers hold, the current one's part handed over and a fresh one started. */
  take(): Buffer[] {
    if (this.used > 0) {
      this.full.push(this.buffer.subarray(0, this.used));
      this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      this.used = 0;
    }
    return this.full.splice(0);
  }

  /** Whether the buffers hold enough to send. */
  get filled(): boolean {
    return this.full.length > 0;
  }

  private separate(bytes: number): void {
    this.room(bytes + 1);
    if (this.fields > 0) this.byte(TAB);
    this.fields += 1;
  }

  /** Makes room for `bytes` more; a full buffer is set aside to be sent. */
  private room(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return;
    if (this.used > 0) this.full.push(this.buffer.subarray(0, this.used));
    this.buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.used = 0;
  }

  private byte(value: number): void {
    this.buffer[this.used] = value;
    this.used += 1;
  }

  /** Writes `value` escaped (for an array element first when `element`); room for it is made. */
  private put(value: string, element: boolean): void {
    const length = value.length;
    if (length <= SHORT) {
      const buffer = this.buffer;
      let at = this.used;
      for (let index = 0; index < length; index += 1) {
        const code = value.charCodeAt(index);
        if (code >= 0x80) return this.putEncoded(value, element);
        if (code === BACKSLASH) {
          // `\\` in COPY; an element's own escape doubles it again.
          buffer[at++] = BACKSLASH;
          buffer[at++] = BACKSLASH;
          if (element) {
            buffer[at++] = BACKSLASH;
            buffer[at++] = BACKSLASH;
          }
        } else if (code === TAB || code === NEWLINE || code === RETURN) {
          buffer[at++] = BACKSLASH;
          buffer[at++] = code === TAB ? 0x74 : code === NEWLINE ? 0x6e : 0x72;
        } else if (code === QUOTE && element) {
          buffer[at++] = BACKSLASH;
          buffer[at++] = BACKSLASH;
          buffer[at++] = QUOTE;
        } else {
          buffer[at++] = code;
        }
      }
      this.used = at;
      return;
    }
    this.putEncoded(value, element);
  }

  private putEncoded(value: string, element: boolean): void {
    const escaped = copyText(element ? value.replace(/[\\"]/g, (c) => `\\${c}`) : value);
    this.room(escaped.length * 3);
    this.used += this.buffer.write(escaped, this.used);
  }
}

function* chunks(lines: (out: CopyLine) => Iterable<unknown>): Generator<Buffer> {
  const out = new CopyLine();
  for (const _ of lines(out)) if (out.filled) yield* out.full.splice(0);
  yield* out.take();
}
