import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadBenchConfig } from '@chiptrail/config';
import { appendFigures } from './append.bench';
import { importAndRebuildFigures } from './import-rebuild.bench';
import { statusReadFigures } from './status-read.bench';
import { alertFigures } from './alerts.bench';
import { feedFigures } from './feeds.bench';
import { ROOT, machine, serverVersion, type BenchContext, type Figure } from './bench.support';

/**
 * `npm run bench`: every figure next to a baseline measured in the same run on the same machine (machines here are
 * noisy, so only ratios mean anything). Prints a table and writes bench/results/<date>.json.
 * BENCH_QUICK=1 runs a smaller version of every figure; BENCH_ONLY=append,import runs some of them (written to
 * <date>-append-import.json, beside the day's full run).
 */
const SUITES: Array<{ name: string; run: (context: BenchContext) => Promise<Figure[]> }> = [
  { name: 'append', run: appendFigures },
  { name: 'import', run: importAndRebuildFigures },
  { name: 'read', run: statusReadFigures },
  { name: 'alerts', run: alertFigures },
  { name: 'feeds', run: feedFigures },
];

function format(value: number | null, digits = 0): string {
  if (value === null) return '—';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function table(figures: readonly Figure[]): string {
  const rows = [
    ['figure', 'value', 'baseline', 'ratio', 'target', 'met'],
    ...figures.map((f) => [
      f.name,
      `${format(f.value, f.unit === 'ms' ? 1 : 0)} ${f.unit}`,
      f.baseline === null ? '—' : `${format(f.baseline, f.unit === 'ms' ? 1 : 0)} (${f.baselineName})`,
      f.ratio === null ? '—' : `${format(f.ratio, 2)} ×`,
      f.target ?? '—',
      f.met === null ? '—' : f.met ? 'yes' : 'NO',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`).join('\n');
}

async function main(): Promise<void> {
  const config = loadBenchConfig();
  const started = Date.now();
  const context: BenchContext = {
    config,
    quick: config.quick,
    root: ROOT,
    log: (message) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`),
  };
  const unknown = config.only.filter((name) => !SUITES.some((suite) => suite.name === name));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: no suite ${unknown.join(', ')}; the suites are ${SUITES.map((suite) => suite.name).join(', ')}.`);
  const figures: Figure[] = [];
  for (const suite of SUITES) {
    if (config.only.length > 0 && !config.only.includes(suite.name)) continue;
    figures.push(...(await suite.run(context)));
  }
  const result = {
    date: new Date().toISOString(),
    quick: config.quick,
    repetitions: config.repetitions,
    machine: { ...machine(), postgres: await serverVersion(config.adminDatabaseUrl) },
    durationSeconds: Math.round((Date.now() - started) / 1000),
    figures: figures.map((f) => ({ name: f.name, value: round(f.value), unit: f.unit, baseline: f.baseline === null ? null : round(f.baseline), baselineName: f.baselineName, ratio: f.ratio === null ? null : Math.round(f.ratio * 100) / 100, target: f.target, met: f.met })),
  };
  const directory = path.join(ROOT, 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  // A run of some suites must not replace the day's run of all of them.
  const suites = config.only.length > 0 ? `-${SUITES.filter((suite) => config.only.includes(suite.name)).map((suite) => suite.name).join('-')}` : '';
  const file = path.join(directory, `${result.date.slice(0, 10)}${config.quick ? '-quick' : ''}${suites}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${table(figures)}\n\nmachine: ${JSON.stringify(result.machine)}\nwritten to ${path.relative(ROOT, file)}\n`);
  const missed = figures.filter((f) => f.met === false);
  if (missed.length > 0) process.stdout.write(`${missed.length} target(s) not met: ${missed.map((f) => f.name).join('; ')}\n`);
}

function round(value: number): number {
  return value >= 100 ? Math.round(value) : Math.round(value * 100) / 100;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
