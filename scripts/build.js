#!/usr/bin/env node
// Compiles apps, libs and migrations to dist/ (tsc, then tsc-alias to turn @chiptrail/* imports into relative paths)
// and bundles the admin UI (apps/admin, Vite) into dist/admin.
// With --if-needed it does nothing when dist is newer than every source file, so `npm start` stays fast.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const sources = ['apps', 'libs', 'migrations', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function newest(entry) {
  const full = path.join(root, entry);
  if (!fs.existsSync(full)) return 0;
  const stat = fs.statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const child of fs.readdirSync(full)) {
    if (child === 'node_modules' || child === 'dist') continue;
    latest = Math.max(latest, newest(path.join(entry, child)));
  }
  return latest;
}

if (process.argv.includes('--if-needed') && fs.existsSync(stamp)) {
  const built = fs.statSync(stamp).mtimeMs;
  if (sources.every((entry) => newest(entry) <= built)) process.exit(0);
}

const bin = (name) => path.join(root, 'node_modules', '.bin', name);
if (!fs.existsSync(bin('tsc'))) {
  console.error('TypeScript is not installed: run `npm install` (development dependencies are needed to build).');
  process.exit(1);
}
process.stdout.write('building chiptrail…\n');
execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
execFileSync(bin('vite'), ['build', '--config', 'apps/admin/vite.config.ts'], { cwd: root, stdio: 'inherit' });
fs.writeFileSync(stamp, new Date().toISOString());
