import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { environment } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { Clock } from '@chiptrail/runtime';
import { createTestDatabase, spawnProcess, type TestDatabase } from '@chiptrail/testing';

const root = path.resolve(__dirname, '../..');

describe('command-line tools against DATABASE_URL', () => {
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-needed'], { cwd: root, stdio: 'inherit' });
    database = await createTestDatabase('cli');
    const outer = environment();
    env = { PATH: outer.PATH, HOME: outer.HOME, DATABASE_URL: database.appUrl, MIGRATION_DATABASE_URL: database.ownerUrl, LOG_LEVEL: 'warn' };
    const db = await Database.connect({ url: database.appUrl, poolSize: 1, applicationName: 'cli-test' });
    await new EventStore(db, new Clock()).append('cli', 'no_stream', [1, 2, 3, 4].map((n) => ({
      type: 'Counted', data: { n }, metadata: { actor: 'system:test' }, effectiveAt: new Date('2024-01-01T00:00:00Z'),
    })));
    await db.close();
  }, 180_000);

  afterAll(() => database?.drop());

  it('npm run migrate is idempotent', async () => {
    const run = spawnProcess('npm', ['run', '--silent', 'migrate'], { cwd: root, env });
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('migrations are up to date');
  });

  it('npm run projections:rebuild replays the log into fresh tables with progress, by name or all', async () => {
    const all = spawnProcess('npm', ['run', '--silent', 'projections:rebuild'], { cwd: root, env });
    expect(await all.exited).toBe(0);
    expect(all.output()).toMatch(/policy: 100\.0% {2}4\/4 events {2}\d+ events\/s {2}ETA/);
    expect(all.output()).toContain('policy: rebuilt from 4 events');
    expect(all.output()).toContain('event_catalog: rebuilt from 4 events');
    const one = spawnProcess('npm', ['run', '--silent', 'projections:rebuild', 'event_catalog'], { cwd: root, env });
    expect(await one.exited).toBe(0);
    expect(one.output()).not.toContain('policy: rebuilt');
    const unknown = spawnProcess('npm', ['run', '--silent', 'projections:rebuild', 'nope'], { cwd: root, env });
    expect(await unknown.exited).toBe(1);
    expect(unknown.output()).toContain('No projection named "nope". Known: policy, event_catalog.');
  });

  it('npm run verify exits 0 on an intact log and 1 naming the first broken link', async () => {
    const intact = spawnProcess('npm', ['run', '--silent', 'verify'], { cwd: root, env });
    expect(await intact.exited).toBe(0);
    expect(intact.output()).toMatch(/"ok": true/);
    expect(intact.output()).toMatch(/"eventsVerified": 4/);

    const superuser = new Client({ connectionString: database.ownerUrl });
    await superuser.connect();
    const { rows } = await superuser.query(`SELECT global_position FROM events ORDER BY 1 OFFSET 2 LIMIT 1`);
    await superuser.query(`SET session_replication_role = replica`);
    await superuser.query(`UPDATE events SET effective_at = effective_at + interval '1 day' WHERE global_position = $1`, [rows[0].global_position]);
    await superuser.end();

    const broken = spawnProcess('npm', ['run', '--silent', 'verify'], { cwd: root, env });
    expect(await broken.exited).toBe(1);
    expect(broken.output()).toContain(`"position": ${Number(rows[0].global_position)}`);
    expect(broken.output()).toContain('"reason": "hash_mismatch"');
  });

  it('npm run import records NDJSON events by the API rules, names a bad line, and skips what a second run finds recorded', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'chiptrail-import-'));
    const source = { url: 'https://example.gov/rule', title: 'Rule', publishedAt: '2025-01-01' };
    const lines = [
      { id: '0193a1b2-0000-7000-8000-000000000001', type: 'ChipRegistered', data: { chip: 'cli-chip', vendor: 'NVIDIA', model: 'CLI', datacenter: true }, effectiveAt: '2024-01-01', source },
      { id: '0193a1b2-0000-7000-8000-000000000002', type: 'ControlImposed', data: { measureId: 'cli-m', authority: 'US-BIS', direction: 'export', requirement: 'license_required', scope: { chips: ['cli-chip'] }, destinations: ['CN'], title: 'Rule' }, effectiveAt: '2025-04-09', source },
    ].map((line) => JSON.stringify(line));
    const bad = path.join(dir, 'bad.ndjson');
    writeFileSync(bad, [...lines, '{"type": "ControlLifted", "data": {}}'].join('\n'));
    const refused = spawnProcess('npm', ['run', '--silent', 'import', '--', bad], { cwd: root, env });
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/Line 3: .*0 events before it were/);
    const good = path.join(dir, 'good.ndjson');
    writeFileSync(good, `${lines.join('\n')}\n`);
    const first = spawnProcess('npm', ['run', '--silent', 'import', '--', good], { cwd: root, env });
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('"imported":2,"alreadyRecorded":0');
    const again = spawnProcess('npm', ['run', '--silent', 'import', '--', good], { cwd: root, env });
    expect(await again.exited).toBe(0);
    expect(again.output()).toContain('"imported":0,"alreadyRecorded":2');
  });
});
