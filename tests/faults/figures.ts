import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Where the suite's figures collect during one run (the global setup empties it, the teardown prints it). The suite
 * runs in band, so setup, tests and teardown share this process id.
 */
export function figuresFile(): string {
  return path.join(tmpdir(), `chiptrail-fault-figures-${process.pid}.jsonl`);
}

/** Records what a scenario did: operations, faults injected, requests fuzzed, events lost. */
export function recordFigures(scenario: string, figures: Record<string, number>): void {
  appendFileSync(figuresFile(), `${JSON.stringify({ scenario, figures })}\n`);
}

export function readFigures(): Array<{ scenario: string; figures: Record<string, number> }> {
  const file = figuresFile();
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { scenario: string; figures: Record<string, number> });
}
