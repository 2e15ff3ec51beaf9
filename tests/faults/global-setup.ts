import { rmSync } from 'node:fs';
import { figuresFile } from './figures';

export default function setup(): void {
  process.env.CHIPTRAIL_FAULT_RUN = `${process.pid}`;
  rmSync(figuresFile(), { force: true });
}
