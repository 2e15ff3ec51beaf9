import { rmSync } from 'node:fs';
import { figuresFile, readFigures } from './figures';

/** Prints the figures of the run: what was done to the system and what it lost (which must be nothing). */
export default function teardown(): void {
  const all = readFigures();
  const lines = ['', 'Fault, abuse and security figures', '================================='];
  for (const { scenario, figures } of all) {
    lines.push(`${scenario}:`);
    for (const [name, value] of Object.entries(figures)) lines.push(`  ${name.padEnd(50)} ${value.toLocaleString('en-US')}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  rmSync(figuresFile(), { force: true });
}
