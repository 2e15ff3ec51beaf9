import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { environment } from '@chiptrail/config';
import { Database } from '@chiptrail/db';
import { EventStore } from '@chiptrail/event-store';
import { Clock } from '@chiptrail/runtime';
import { freePort, portIsFree, spawnProcess, waitForHttp } from '@chiptrail/testing';

const root = path.resolve(__dirname, '../..');

/**
 * `npm start` on a machine with nothing but Node: no DATABASE_URL, no REDIS_URL, no configuration at all. It runs
 * from a scratch directory (which links to this checkout) so `./.data` starts empty and is ours alone.
 */
describe('npm start with no configuration', () => {
  let workdir: string;
  const baseEnv = () => {
    const outer = environment();
    return { PATH: outer.PATH, HOME: outer.HOME, LANG: 'C.UTF-8' } as NodeJS.ProcessEnv;
  };

  beforeAll(() => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build.js'), '--if-needed'], { cwd: root, stdio: 'inherit' });
    workdir = mkdtempSync(path.join(tmpdir(), 'chiptrail-start-'));
    // Under root the embedded cluster runs as the postgres user, which must be able to enter the directory.
    chmodSync(workdir, 0o755);
    for (const entry of ['package.json', 'scripts', 'dist', 'node_modules', 'apps', 'libs', 'migrations', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']) {
      symlinkSync(path.join(root, entry), path.join(workdir, entry));
    }
  }, 180_000);

  afterAll(() => {
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('starts an embedded PostgreSQL under ./.data, serves /health, restarts and keeps its data', async () => {
    const env = baseEnv();
    // The defaults (3000, 54329) are what a user gets; only if this machine already uses them do we move aside.
    if (!(await portIsFree(3000))) env.PORT = String(await freePort());
    if (!(await portIsFree(54329))) env.EMBEDDED_PG_PORT = String(await freePort());
    const port = Number(env.PORT ?? 3000);
    const pgPort = Number(env.EMBEDDED_PG_PORT ?? 54329);

    const first = spawnProcess('npm', ['start'], { cwd: workdir, env });
    let eventId: string;
    try {
      const health = await waitForHttp(`http://127.0.0.1:${port}/health`, 120_000, undefined, first.output);
      expect(await health.json()).toMatchObject({ state: 'ok', database: { up: true }, queue: { backend: 'postgres', up: true } });
      expect(first.output()).toContain(`chiptrail is running at http://localhost:${port}`);

      // First start: an admin account with a password printed once, and the curated dataset loaded.
      const password = /Created the admin account admin@chiptrail\.local with the password (\S+)/.exec(first.output())?.[1];
      expect(password).toBeTruthy();
      const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@chiptrail.local', password }),
      });
      const { token } = (await login.json()) as { token: string };
      const answer = await waitForHttp(
        `http://127.0.0.1:${port}/api/v1/chips/nvidia-h20/status?destination=CN&asOf=2025-04-09`,
        60_000,
        undefined,
        first.output,
        { authorization: `Bearer ${token}` },
      );
      expect(await answer.json()).toMatchObject({ export: { status: 'license_required' } });

      const credentials = JSON.parse(readFileSync(path.join(workdir, '.data/embedded-postgres.json'), 'utf8'));
      const db = await Database.connect({
        url: `postgres://postgres:${encodeURIComponent(credentials.superuserPassword)}@127.0.0.1:${pgPort}/chiptrail`,
        poolSize: 1,
        applicationName: 'smoke',
      });
      try {
        const result = await new EventStore(db, new Clock()).append('smoke-test', 'no_stream', [
          { type: 'SmokeTested', data: { ok: true }, metadata: { actor: 'system:smoke' }, effectiveAt: new Date() },
        ]);
        eventId = result.events[0]!.id;
      } finally {
        await db.close();
      }
    } finally {
      first.kill('SIGTERM');
      await first.exited;
    }
    expect(first.output()).toContain('SIGTERM: shutting down');

    const second = spawnProcess('npm', ['start'], { cwd: workdir, env });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, 120_000, undefined, second.output);
      expect(second.output()).not.toContain('initialising embedded PostgreSQL');
      expect(second.output()).not.toContain('Created the admin account');
      const credentials = JSON.parse(readFileSync(path.join(workdir, '.data/embedded-postgres.json'), 'utf8'));
      const db = await Database.connect({
        url: `postgres://postgres:${encodeURIComponent(credentials.superuserPassword)}@127.0.0.1:${pgPort}/chiptrail`,
        poolSize: 1,
        applicationName: 'smoke',
      });
      try {
        expect((await new EventStore(db, new Clock()).getEvent(eventId))?.type).toBe('SmokeTested');
      } finally {
        await db.close();
      }
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
  }, 300_000);

  it('stops at boot with one sentence naming a bad variable', async () => {
    const run = spawnProcess(process.execPath, [path.join(root, 'dist/apps/launcher/src/main.js')], {
      cwd: workdir,
      env: { ...baseEnv(), PORT: 'eighty' },
    });
    expect(await run.exited).toBe(1);
    expect(run.output().trim()).toBe('Configuration error: PORT: must be a whole number between 0 and 65535, got "eighty".');
  });
});
