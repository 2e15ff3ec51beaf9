import { hash, randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { ConflictError, NotFoundError, ValidationError } from '@chiptrail/domain';
import type { Database } from '@chiptrail/db';
import { hmacSignature, signatureMatches, uuidv7, type Clock } from '@chiptrail/runtime';
import type { SigningKeys } from './signing-keys';
import { VerifiedKeys } from './verified-keys';

export type Role = 'admin' | 'curator' | 'viewer';
export const ROLES: readonly Role[] = ['viewer', 'curator', 'admin'];

export interface Principal {
  /** `user:<email>` or `api-key:<id>`: recorded as the actor of what this principal writes. */
  readonly id: string;
  readonly role: Role;
}

/** 403: authenticated, but the role does not allow this. */
export class ForbiddenError extends Error {
  readonly code = 'forbidden';
  constructor(readonly required: Role, readonly actual: Role) {
    super(`This needs the ${required} role; your credential has ${actual}.`);
  }
}

/** 401: no credential, a wrong one, an expired one; or a locked account (429 with Retry-After). */
export class AuthenticationError extends Error {
  constructor(
    readonly code: 'unauthenticated' | 'invalid_credentials' | 'token_expired' | 'invalid_token' | 'account_locked',
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const scrypt = promisify(scryptCallback) as (password: string | Buffer, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const MAX_FAILED_LOGINS = 5;
const LOCKOUT_MS = 15 * 60 * 1000;
const KEY_CACHE_MS = 30_000;
const KEY_REFRESH_AHEAD_MS = 5_000;

/** scrypt with a per-secret salt; the parameters travel with the hash so they can be raised later. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(secret, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Accounts, sign-in tokens and API keys. Tokens are HMAC-signed and expire (no server state, so every replica
 * verifies them); API keys are looked up by their id and checked against a slow hash, with a short-lived cache
 * of successful checks so the hash is not paid on every request.
 */
export class AuthService {
  private readonly verifiedKeys = new VerifiedKeys(KEY_CACHE_MS, KEY_REFRESH_AHEAD_MS);
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly keys: SigningKeys,
    private readonly options: { tokenTtlSeconds: number; secureCookies?: boolean },
  ) {}

  /** Creates the admin account on first start. Returns the generated password when none was configured. */
  async ensureAdmin(email: string, password: string | undefined): Promise<{ created: boolean; generatedPassword?: string }> {
    const existing = await this.db.query(`SELECT 1 FROM users LIMIT 1`);
    if (existing.rowCount) return { created: false };
    const chosen = password ?? randomBytes(18).toString('base64url');
    const inserted = await this.db.query(
      `INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, 'admin') ON CONFLICT (email) DO NOTHING`,
      [uuidv7(this.clock.now().getTime()), email.toLowerCase(), await hashSecret(chosen)],
    );
    if (!inserted.rowCount) return { created: false };
    return password ? { created: true } : { created: true, generatedPassword: chosen };
  }

  async login(email: unknown, password: unknown): Promise<{ token: string; expiresAt: string; role: Role }> {
    if (typeof email !== 'string' || typeof password !== 'string' || email.length > 320 || password.length > 1024) {
      throw new AuthenticationError('invalid_credentials', 'The e-mail address or password is wrong.');
    }
    const now = this.clock.now();
    const { rows } = await this.db.query<{ email: string; password_hash: string; role: Role; locked_until: Date | null }>(
      `SELECT email, password_hash, role, locked_until FROM users WHERE email = $1`,
      [email.trim().toLowerCase()],
    );
    const user = rows[0];
    if (user?.locked_until && user.locked_until.getTime() > now.getTime()) {
      const seconds = Math.ceil((user.locked_until.getTime() - now.getTime()) / 1000);
      throw new AuthenticationError('account_locked', `Too many failed sign-ins; try again in ${seconds} seconds.`, seconds);
    }
    // Hash even for unknown addresses so timing does not reveal which addresses exist.
    this.dummyHash ??= hashSecret(randomBytes(16).toString('hex'));
    const ok = await verifySecret(password, user?.password_hash ?? (await this.dummyHash));
    if (!user || !ok) {
      if (user) {
        await this.db.query(
          `UPDATE users SET failed_logins = failed_logins + 1,
                  locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3::timestamptz ELSE locked_until END
            WHERE email = $1`,
          [user.email, MAX_FAILED_LOGINS, new Date(now.getTime() + LOCKOUT_MS)],
        );
      }
      throw new AuthenticationError('invalid_credentials', 'The e-mail address or password is wrong.');
    }
    await this.db.query(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE email = $1`, [user.email]);
    const expiresAt = new Date(now.getTime() + this.options.tokenTtlSeconds * 1000);
    const token = await this.sign({ sub: `user:${user.email}`, role: user.role, exp: Math.floor(expiresAt.getTime() / 1000) });
    return { token, expiresAt: expiresAt.toISOString(), role: user.role };
  }

  /** Resolves a bearer credential to a principal, or throws why not. */
  async authenticate(credential: string): Promise<Principal> {
    if (credential.startsWith('ct_tok_')) return this.verifyToken(credential);
    if (credential.startsWith('ct_key_')) return this.verifyKey(credential);
    throw new AuthenticationError('invalid_token', 'The bearer credential is not a chiptrail token or API key.');
  }

  async createApiKey(name: unknown, role: unknown, createdBy: Principal): Promise<{ id: string; key: string; name: string; role: Role; createdAt: string }> {
    if (typeof name !== 'string' || name.trim() === '' || name.length > 100) {
      throw ValidationError.field('name', 'must be 1 to 100 characters.');
    }
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw ValidationError.field('role', 'must be admin, curator or viewer.');
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const createdAt = this.clock.now();
    await this.db.query(
      `INSERT INTO api_keys (id, name, role, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, name.trim(), role, await hashSecret(secret), createdBy.id, createdAt],
    );
    return { id, key: `ct_key_${id}_${secret}`, name: name.trim(), role: role as Role, createdAt: createdAt.toISOString() };
  }

  async listApiKeys(): Promise<Array<{ id: string; name: string; role: Role; createdBy: string; createdAt: string; revokedAt: string | null }>> {
    const { rows } = await this.db.query<{ id: string; name: string; role: Role; created_by: string; created_at: Date; revoked_at: Date | null }>(
      `SELECT id, name, role, created_by, created_at, revoked_at FROM api_keys ORDER BY created_at`,
    );
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      role: row.role,
      createdBy: row.created_by,
      createdAt: row.created_at.toISOString(),
      revokedAt: row.revoked_at?.toISOString() ?? null,
    }));
  }

  async revokeApiKey(id: string): Promise<void> {
    const { rows } = await this.db.query<{ revoked_at: Date | null }>(`SELECT revoked_at FROM api_keys WHERE id = $1`, [id]);
    if (!rows[0]) throw new NotFoundError('api_key_not_found', `No API key ${id}.`);
    if (rows[0].revoked_at) throw new ConflictError('api_key_revoked', `API key ${id} is already revoked.`);
    await this.db.query(`UPDATE api_keys SET revoked_at = $2 WHERE id = $1`, [id, this.clock.now()]);
    this.verifiedKeys.forget(`api-key:${id}`);
  }

  private verifyKey(credential: string): Promise<Principal> {
    // The one-shot hash: every request with an API key pays for this, and a Hash object per call cost twice as much.
    const cacheKey = hash('sha256', credential, 'hex');
    return this.verifiedKeys.principal(cacheKey, this.clock.now().getTime(), async () => {
      const match = /^ct_key_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(credential);
      if (!match) throw new AuthenticationError('invalid_token', 'The API key is malformed.');
      const { rows } = await this.db.query<{ role: Role; key_hash: string; revoked_at: Date | null }>(
        `SELECT role, key_hash, revoked_at FROM api_keys WHERE id = $1`,
        [match[1]],
      );
      const row = rows[0];
      if (!row || row.revoked_at || !(await verifySecret(match[2] as string, row.key_hash))) {
        throw new AuthenticationError('invalid_token', 'The API key is unknown or revoked.');
      }
      return { id: `api-key:${match[1]}`, role: row.role };
    });
  }

  private async verifyToken(credential: string): Promise<Principal> {
    const [payloadPart, signature] = credential.slice('ct_tok_'.length).split('.');
    if (!payloadPart || !signature) throw new AuthenticationError('invalid_token', 'The token is malformed.');
    if (!signatureMatches(await this.signingSecret(), payloadPart, signature)) {
      throw new AuthenticationError('invalid_token', 'The token signature is not valid.');
    }
    let payload: { sub?: unknown; role?: unknown; exp?: unknown };
    try {
      payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
    } catch {
      throw new AuthenticationError('invalid_token', 'The token is malformed.');
    }
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= this.clock.now().getTime()) {
      throw new AuthenticationError('token_expired', 'The token has expired; sign in again.');
    }
    if (typeof payload.sub !== 'string' || !ROLES.includes(payload.role as Role)) {
      throw new AuthenticationError('invalid_token', 'The token is malformed.');
    }
    return { id: payload.sub, role: payload.role as Role };
  }

  private async sign(payload: { sub: string; role: Role; exp: number }): Promise<string> {
    const body = Buffer.from(JSON.stringify({ ...payload, iat: Math.floor(this.clock.now().getTime() / 1000) })).toString('base64url');
    return `ct_tok_${body}.${hmacSignature(await this.signingSecret(), body)}`;
  }

  /** The queue dashboard cannot send bearer tokens: it gets a signed cookie, valid one hour, for its path only. */
  async boardCookie(principal: Principal): Promise<string> {
    const expires = Math.floor(this.clock.now().getTime() / 1000) + 3600;
    const payload = Buffer.from(JSON.stringify({ sub: principal.id, role: principal.role, exp: expires })).toString('base64url');
    const signature = hmacSignature(await this.keys.key('queue-board'), payload);
    return `ct_board=${payload}.${signature}; Path=/admin/queues; HttpOnly; SameSite=Strict; Max-Age=3600${this.options.secureCookies ? '; Secure' : ''}`;
  }

  /** The role a queue-dashboard cookie grants, or undefined when it is missing, forged or expired. */
  async boardRole(cookieHeader: string | undefined): Promise<Role | undefined> {
    const value = /(?:^|;\s*)ct_board=([^;]+)/.exec(cookieHeader ?? '')?.[1];
    if (!value) return undefined;
    const [payload, signature] = value.split('.');
    if (!payload || !signature) return undefined;
    if (!signatureMatches(await this.keys.key('queue-board'), payload, signature)) return undefined;
    try {
      const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { role?: Role; exp?: number };
      if (!data.exp || data.exp * 1000 < this.clock.now().getTime() || !data.role || !ROLES.includes(data.role)) return undefined;
      return data.role;
    } catch {
      return undefined;
    }
  }

  private signingSecret(): Promise<Buffer> {
    return this.keys.key('sign-in-token');
  }
}

export function atLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}
