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
export async function copyLines(tx: Sql, statement: string, lines: Iterable<string>): Promise<void> {
  // The pool would run it on whichever connection is free, outside the caller's transaction.
  if (tx instanceof Database) throw new Error('COPY runs on a transaction’s connection, not on the pool.');
  await pipeline(Readable.from(chunked(lines)), (tx as PoolClient).query(copyFrom(statement)));
}

const COPY_ROWS = 10_000;

/**
 * `rows` by COPY, each line made as the stream asks for it, in statements of at most COPY_ROWS rows: a batch can be
 * large, and each statement must stay well inside the connection's statement timeout.
 */
export async function copyRows<T>(tx: Sql, statement: string, rows: readonly T[], line: (row: T) => string): Promise<void> {
  for (let start = 0; start < rows.length; start += COPY_ROWS) {
    await copyLines(tx, statement, linesOf(rows.slice(start, start + COPY_ROWS), line));
  }
}

function* linesOf<T>(rows: Iterable<T>, line: (row: T) => string): Generator<string> {
  for (const row of rows) yield line(row);
}

/** A text value as COPY's text format reads it: backslash, tab and line breaks escaped; everything else as it is. */
export function copyText(value: string): string {
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** A nullable value for COPY (`\N` is NULL). */
export function copyNullable(value: string | null | undefined): string {
  return value === null || value === undefined ? '\\N' : copyText(value);
}

/** A text[] (or uuid[]) literal for COPY: every element quoted, so commas, braces and spaces need no thought. */
export function copyArray(values: readonly string[]): string {
  return copyText(`{${values.map((value) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`);
}

const CHUNK_BYTES = 256 * 1024;

/**
 * Lines encoded straight into buffers of about CHUNK_BYTES, so the COPY stream is not driven one line at a time.
 * Joining them into one long string first made V8 flatten it before encoding: several times the encoding's cost
 * (8 % of an import's profile, 12 % of a policy rebuild's).
 */
function* chunked(lines: Iterable<string>): Generator<Buffer> {
  let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  for (const line of lines) {
    // A UTF-16 code unit takes at most three bytes of UTF-8: a line that may not fit starts a new buffer.
    if (used + line.length * 3 > buffer.length) {
      if (used > 0) yield buffer.subarray(0, used);
      buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, line.length * 3));
      used = 0;
    }
    used += buffer.write(line, used);
  }
  if (used > 0) yield buffer.subarray(0, used);
}
