import { createHmac, randomBytes } from 'node:crypto';
import type { Database } from '@chiptrail/db';

/**
 * The server's signing secret (TOKEN_SECRET, or one generated once and kept in the database so every replica
 * signs alike), and keys derived from it per purpose, so a sign-in token can never pass as an unsubscribe link.
 */
export class SigningKeys {
  private secret: Promise<Buffer> | undefined;

  constructor(
    private readonly db: Database,
    private readonly configured: string | undefined,
  ) {}

  async key(purpose: string): Promise<Buffer> {
    return createHmac('sha256', await this.root()).update(`chiptrail:${purpose}`).digest();
  }

  private root(): Promise<Buffer> {
    this.secret ??= (async () => {
      if (this.configured) return Buffer.from(this.configured, 'utf8');
      await this.db.query(`INSERT INTO settings (key, value) VALUES ('token_secret', $1) ON CONFLICT (key) DO NOTHING`, [
        randomBytes(32).toString('base64'),
      ]);
      const { rows } = await this.db.query<{ value: string }>(`SELECT value FROM settings WHERE key = 'token_secret'`);
      return Buffer.from(rows[0]!.value, 'base64');
    })();
    return this.secret;
  }
}
