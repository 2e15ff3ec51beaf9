import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { environment } from '@chiptrail/config';
import { freePort, spawnProcess } from '@chiptrail/testing';
import { ROOT, buildOnce, startProduct, until, type Product } from './support';

/**
 * API_PROCESSES=2: two api processes share the port under a supervisor. kill -9 of one: the other goes on answering
 * and the supervisor starts a replacement; SIGTERM to the supervisor alone stops them all and it exits cleanly.
 */
let product: Product;
beforeAll(async () => {
  buildOnce();
  // At info level the supervisor says when every api process is listening.
  product = await startProduct({ worker: false, env: { API_PROCESSES: '2', LOG_LEVEL: 'info' } });
}, 180_000);
afterAll(() => product?.close());

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('two api processes answer on one port; one killed is replaced while the other answers; SIGTERM stops them all', async () => {
  const supervisor = product.api.child.pid as number;
  await until(async () => product.api.output().includes('2 of 2 api processes share the port'), 60_000, 'both api processes listening');
  const [killed, survivor] = await until(async () => {
    const pids = children(supervisor);
    return pids.length === 2 ? pids : undefined;
  }, 60_000, 'two api processes');
  const token = await product.token();

  const counts = { answered: 0, failed: 0 };
  let running = true;
  const client = async () => {
    while (running) {
      try {
        const response = await fetch(`${product.url}/api/v1/chips`, { headers: { authorization: `Bearer ${token}` } });
        await response.arrayBuffer();
        if (response.status === 200) counts.answered += 1;
        else counts.failed += 1;
      } catch {
        counts.failed += 1; // a request in flight on the killed process
      }
    }
  };
  const clients = Array.from({ length: 10 }, client);
  try {
    await until(async () => counts.answered >= 200, 30_000, '200 answers');
    process.kill(killed as number, 'SIGKILL');
    const answeredAtKill = counts.answered;
    const replaced = await until(async () => {
      const pids = children(supervisor);
      return pids.length === 2 && !pids.includes(killed as number) ? pids : undefined;
    }, 60_000, 'a replacement api process');
    expect(replaced).toContain(survivor);
    expect(alive(killed as number)).toBe(false);
    // The survivor answered while the replacement started.
    expect(counts.answered - answeredAtKill).toBeGreaterThan(50);
    const answeredAtReplacement = counts.answered;
    await until(async () => counts.answered >= answeredAtReplacement + 200, 30_000, '200 more answers');
    running = false;
    await Promise.all(clients);
    // At most the requests that were in flight on the killed process (each client's connection to it) failed.
    expect(counts.failed).toBeLessThanOrEqual(10);

    product.api.child.kill('SIGTERM');
    expect(await product.api.exited).toBe(0);
    for (const pid of replaced) expect(alive(pid)).toBe(false);
  } finally {
    running = false;
    await Promise.all(clients);
  }
});

it('stops with exit code 1, starting nothing more, when the first api process cannot start', async () => {
  // A port nothing listens on: the first process fails to reach its database, and the others would fail the same way.
  const unused = await freePort();
  const outer = environment();
  const api = spawnProcess(process.execPath, [path.join(ROOT, 'dist/apps/api/src/main.js')], {
    cwd: ROOT,
    env: { PATH: outer.PATH, HOME: outer.HOME, DATABASE_URL: `postgres://chiptrail@127.0.0.1:${unused}/none`, API_PROCESSES: '2', PORT: String(await freePort()), LOG_LEVEL: 'warn' },
  });
  const timer = setTimeout(() => api.kill('SIGKILL'), 60_000);
  try {
    expect(await api.exited).toBe(1);
  } finally {
    clearTimeout(timer);
  }
  expect(api.output()).toContain('the first api process could not start');
  expect(api.output().match(/ECONNREFUSED/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
  expect(api.output()).not.toContain('starting another');
});
