import type { Principal } from './auth.service';

interface Entry {
  readonly principal: Principal;
  readonly until: number;
}

/**
 * Successful API-key checks, remembered for `ttlMs` so the slow hash is not paid on every request.
 *
 * Every request that finds no fresh entry for a key waits for the same single check: otherwise a burst on a cold or
 * just-expired entry (50 connections of one client) runs the slow hash once per request, seconds of CPU in which
 * the api answers little else. An entry used in its last `refreshAheadMs` is checked again in the background while it
 * keeps answering, so steady traffic never waits for the hash. No entry is ever served past its expiry, and after a
 * revocation in this process no request is answered from before it: entries, and checks that were running, are
 * dropped for the requests that come after.
 */
export class VerifiedKeys {
  private readonly entries = new Map<string, Entry>();
  private readonly checks = new Map<string, Promise<Principal>>();
  private revocations = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly refreshAheadMs: number,
  ) {}

  /** The principal of the credential behind `cacheKey`: remembered, or from `check` (which throws when it fails). */
  async principal(cacheKey: string, now: number, check: () => Promise<Principal>): Promise<Principal> {
    const entry = this.entries.get(cacheKey);
    if (entry && entry.until > now) {
      // A failed background check has already dropped the entry; the next request sees why.
      if (entry.until - now <= this.refreshAheadMs) this.check(cacheKey, now, check).catch(() => undefined);
      return entry.principal;
    }
    return this.check(cacheKey, now, check);
  }

  /** A key was revoked: forget it here at once, keep nothing a check in flight finds, and let no request join one. */
  forget(principalId: string): void {
    this.revocations += 1;
    this.checks.clear();
    for (const [cacheKey, entry] of this.entries) if (entry.principal.id === principalId) this.entries.delete(cacheKey);
  }

  private check(cacheKey: string, now: number, check: () => Promise<Principal>): Promise<Principal> {
    const running = this.checks.get(cacheKey);
    if (running) return running;
    const revocations = this.revocations;
    const run = check()
      .then(
        (principal) => {
          if (revocations === this.revocations) this.entries.set(cacheKey, { principal, until: now + this.ttlMs });
          return principal;
        },
        (error: unknown) => {
          this.entries.delete(cacheKey);
          throw error;
        },
      )
      .finally(() => {
        if (this.checks.get(cacheKey) === run) this.checks.delete(cacheKey);
      });
    this.checks.set(cacheKey, run);
    return run;
  }
}
