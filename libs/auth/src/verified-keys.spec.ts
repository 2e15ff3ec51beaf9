import type { Principal } from './auth.service';
import { VerifiedKeys } from './verified-keys';

const viewer: Principal = { id: 'api-key:0123456789abcdef', role: 'viewer' };

const REVOKED = 'The API key is unknown or revoked.';

/**
 * A check that decides when it starts (as the real one reads the key's row first) and answers when told to (as the
 * slow hash finishes later), counting how often it was started. It refuses once `revoked` is set.
 */
function gatedCheck(answer: Principal = viewer) {
  const gates: Array<() => void> = [];
  const check = {
    started: 0,
    revoked: false,
    run: () => {
      check.started += 1;
      const refused = check.revoked;
      return new Promise<Principal>((resolve, reject) => gates.push(() => (refused ? reject(new Error(REVOKED)) : resolve(answer))));
    },
    release: async (count = gates.length) => {
      gates.splice(0, count).forEach((open) => open());
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return check;
}

/** A cache whose key was checked once at 0 and is remembered, with the check it will use from then on. */
async function rememberedKey(): Promise<{ keys: VerifiedKeys; check: ReturnType<typeof gatedCheck> }> {
  const keys = new VerifiedKeys(30_000, 5_000);
  const check = gatedCheck();
  const first = keys.principal('k', 0, check.run);
  await check.release();
  await first;
  return { keys, check };
}

/** A request at `now` that has to wait for a check, and is refused by it. */
async function refusedAt(keys: VerifiedKeys, check: ReturnType<typeof gatedCheck>, now: number): Promise<void> {
  const refused = expect(keys.principal('k', now, check.run)).rejects.toThrow('revoked');
  await check.release();
  await refused;
}

describe('VerifiedKeys', () => {
  it('given a burst of requests with one unchecked key, checks it once and answers them all', async () => {
    const keys = new VerifiedKeys(30_000, 5_000);
    const check = gatedCheck();
    const answers = Promise.all(Array.from({ length: 50 }, () => keys.principal('k', 1_000, check.run)));
    await check.release();
    expect(await answers).toEqual(Array.from({ length: 50 }, () => viewer));
    expect(check.started).toBe(1);
  });

  it('answers from memory until the last stretch before expiry, then answers at once and checks again behind it', async () => {
    const { keys, check } = await rememberedKey();
    expect(await keys.principal('k', 24_999, check.run)).toEqual(viewer);
    expect(check.started).toBe(1);

    // In the last five seconds: the answer does not wait for the check, and a burst starts only one.
    const burst = await Promise.all(Array.from({ length: 20 }, () => keys.principal('k', 26_000, check.run)));
    expect(burst).toEqual(Array.from({ length: 20 }, () => viewer));
    expect(check.started).toBe(2);
    await check.release();
    // The background check renewed the entry from when it started.
    expect(await keys.principal('k', 50_000, check.run)).toEqual(viewer);
    expect(check.started).toBe(2);
  });

  it('never answers past expiry without a check, and remembers nothing from a failed one', async () => {
    const { keys, check } = await rememberedKey();

    check.revoked = true;
    await refusedAt(keys, check, 30_000);
    await refusedAt(keys, check, 30_001);
    expect(check.started).toBe(3);
  });

  it('drops an entry whose background check fails, so the next request waits for a check of its own', async () => {
    const { keys, check } = await rememberedKey();
    check.revoked = true;
    expect(await keys.principal('k', 27_000, check.run)).toEqual(viewer);
    await check.release();
    await refusedAt(keys, check, 27_001);
    expect(check.started).toBe(3);
  });

  it('forgets a revoked key at once, and keeps nothing that a check running at the revocation found', async () => {
    const { keys, check } = await rememberedKey();
    keys.forget(viewer.id);
    const racing = keys.principal('k', 1, check.run);
    keys.forget(viewer.id);
    await check.release();
    expect(await racing).toEqual(viewer);
    keys.principal('k', 2, check.run).catch(() => undefined);
    expect(check.started).toBe(3);
  });

  it('lets no request after a revocation join a check that was running when it happened', async () => {
    const keys = new VerifiedKeys(30_000, 5_000);
    const check = gatedCheck();
    const before = keys.principal('k', 0, check.run);
    check.revoked = true;
    keys.forget(viewer.id);
    const after = keys.principal('k', 1, check.run).catch((error: Error) => error.message);
    expect(check.started).toBe(2);
    await check.release(1);
    expect(await before).toEqual(viewer);
    // The earlier check ending does not cut later requests off from the one that is still running.
    const later = keys.principal('k', 2, check.run).catch((error: Error) => error.message);
    expect(check.started).toBe(2);
    await check.release();
    expect(await after).toBe(REVOKED);
    expect(await later).toBe(REVOKED);
  });

  it('keeps keys apart', async () => {
    const keys = new VerifiedKeys(30_000, 5_000);
    const other: Principal = { id: 'api-key:fedcba9876543210', role: 'admin' };
    const a = gatedCheck();
    const b = gatedCheck(other);
    const answers = Promise.all([keys.principal('a', 0, a.run), keys.principal('b', 0, b.run)]);
    await a.release();
    await b.release();
    expect(await answers).toEqual([viewer, other]);
    expect(await keys.principal('b', 1, a.run)).toEqual(other);
  });
});
