import { rmSync } from 'node:fs';
import { figuresFile } from './figures';

export default function setup(): void {
  rmSync(figuresFile(), { force: true });
}
