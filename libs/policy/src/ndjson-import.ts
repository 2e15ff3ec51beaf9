import { setImmediate as nextTurn } from 'node:timers/promises';
import { ValidationError, assertStorableText, jsonTextMayBeUnstorable, parseRecordEventRequest } from '@chiptrail/domain';
import { PayloadTooLargeError } from '@chiptrail/http';
import type { Clock } from '@chiptrail/runtime';
import type { ImportPolicyEvents, ImportRequest } from './import-policy-events.handler';
import type { Provenance } from './record-policy-event.handler';

export const IMPORT_BATCH = 10_000;
export const IMPORT_MAX_LINE_BYTES = 1024 * 1024;
export const IMPORT_MAX_BYTES = 2 * 1024 ** 3;
/**
 * Lines read between two turns of the event loop. Each database round trip of the batch being written waits for the
 * next turn: at 256 lines a turn (about 2.5 ms of reading) its setup took 45 ms of every batch of 10,000, at 32 lines
 * 33 ms.
 */
export const IMPORT_LINES_PER_TURN = 32;


export interface NdjsonImportResult {
  readonly imported: number;
  readonly alreadyRecorded: number;
  readonly lines: number;
  readonly seconds: number;
}

/** A line that is not an acceptable event: nothing from its batch was written, earlier batches were. */
export class ImportLineError extends ValidationError {
  constructor(
    readonly line: number,
    cause: unknown,
    readonly committed: { imported: number; alreadyRecorded: number },
  ) {
    const reason =
      cause instanceof ValidationError
        ? `${cause.message}${cause.problems.map((p) => ` ${p.field}: ${p.message}`).join(';')}`
        : cause instanceof SyntaxError
          ? `not JSON (${cause.message})`
          : String((cause as Error).message ?? cause);
    super(
      'import_line_invalid',
      `Line ${line}: ${reason}. Nothing from its batch of ${IMPORT_BATCH.toLocaleString('en-US')} was recorded; ${committed.imported} events before it were (send ids, and a second run skips them).`,
      [{ field: `line.${line}`, message: reason }],
    );
  }
}

/**
 * Records events given one `POST /api/v1/events` body per line, in transactions of IMPORT_BATCH events, through
 * the same rules as the API. One batch is written while the next is read and checked, so the database and this
 * process work side by side (reading lets the writing go on every IMPORT_LINES_PER_TURN lines). Used by
 * `npm run import` and `POST /api/v1/events/import`.
 */
export async function importNdjson(
  lines: AsyncIterable<string>,
  importer: ImportPolicyEvents,
  provenance: Provenance,
  clock: Clock,
  onProgress: (imported: number) => void = () => undefined,
): Promise<NdjsonImportResult> {
  const started = Date.now();
  let imported = 0;
  let alreadyRecorded = 0;
  let lineNumber = 0;
  let batch: ImportRequest[] = [];
  let batchLines: number[] = [];
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    await writing;
    if (batch.length === 0) return;
    const requests = batch;
    const numbers = batchLines;
    batch = [];
    batchLines = [];
    writing = importer.handle(requests, provenance, (index) => `Line ${numbers[index]}`).then((result) => {
      imported += result.imported;
      alreadyRecorded += result.alreadyRecorded;
      onProgress(imported);
    });
  };
  try {
    for await (const line of lines) {
      lineNumber += 1;
      // Buffered lines arrive as resolved promises, so reading alone would never let the event loop turn: the batch
      // being written would see its database replies only once the next batch was read (the server idle meanwhile),
      // and the api would answer nothing else for as long.
      if (lineNumber % IMPORT_LINES_PER_TURN === 0) await nextTurn();
      if (line.trim() === '') continue;
      try {
        const value: unknown = JSON.parse(line);
        if (jsonTextMayBeUnstorable(line)) assertStorableText(value);
        batch.push(parseRecordEventRequest(value, clock.now()));
        batchLines.push(lineNumber);
      } catch (error) {
        await writing;
        throw new ImportLineError(lineNumber, error, { imported, alreadyRecorded });
      }
      if (batch.length >= IMPORT_BATCH) await flush();
    }
    await flush();
    await writing;
  } catch (error) {
    // The batch being written when reading failed: wait for it, so the caller's counts are true.
    await writing.catch(() => undefined);
    throw error;
  }
  return { imported, alreadyRecorded, lines: lineNumber, seconds: (Date.now() - started) / 1000 };
}

/**
 * Lines of an NDJSON byte stream, without ever holding more than one line: a line over IMPORT_MAX_LINE_BYTES or a
 * body over IMPORT_MAX_BYTES stops it with a clear error instead of growing memory.
 */
export async function* ndjsonLines(body: AsyncIterable<Buffer | string>, maxLine = IMPORT_MAX_LINE_BYTES, maxTotal = IMPORT_MAX_BYTES): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  let line = 0;
  for await (const piece of body) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    total += chunk.length;
    if (total > maxTotal) throw new PayloadTooLargeError(`The import is over ${maxTotal} bytes; split it into several.`);
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      line += 1;
      if (pendingBytes + newline - start > maxLine) throw ValidationError.field(`line.${line}`, `is longer than ${maxLine} bytes.`);
      // Most lines lie within one chunk: decoded in place, without copying them out first.
      yield withoutCarriageReturn(
        pending.length === 0 ? chunk.toString('utf8', start, newline) : Buffer.concat([...pending, chunk.subarray(start, newline)]).toString('utf8'),
      );
      pending = [];
      pendingBytes = 0;
      start = newline + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLine) throw ValidationError.field(`line.${line + 1}`, `is longer than ${maxLine} bytes.`);
    }
  }
  if (pendingBytes > 0) yield withoutCarriageReturn(Buffer.concat(pending).toString('utf8'));
}

function withoutCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
