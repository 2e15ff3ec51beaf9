import type { SigningKeys } from '@chiptrail/auth';
import { ValidationError } from '@chiptrail/domain';
import { hmacSignature, signatureMatches } from '@chiptrail/runtime';

export type LinkPurpose = 'confirm' | 'unsubscribe';

export class LinkTokenError extends ValidationError {
  constructor(code: 'invalid_link' | 'link_expired', message: string) {
    super(code, message, [{ field: 'token', message }]);
  }
}

/** HMAC-signed links in e-mails: whose subscription, what for, until when. */
export class LinkTokens {
  constructor(private readonly keys: SigningKeys) {}

  async sign(subscriptionId: string, purpose: LinkPurpose, expiresAt: Date | null): Promise<string> {
    const payload = Buffer.from(JSON.stringify({ s: subscriptionId, p: purpose, e: expiresAt ? Math.floor(expiresAt.getTime() / 1000) : 0 })).toString('base64url');
    return `${payload}.${hmacSignature(await this.keys.key(`link:${purpose}`), payload)}`;
  }

  async verify(token: unknown, purpose: LinkPurpose, now: Date): Promise<string> {
    if (typeof token !== 'string' || token.length > 500) throw new LinkTokenError('invalid_link', 'This link is not valid.');
    const [payload, signature] = token.split('.');
    if (!payload || !signature) throw new LinkTokenError('invalid_link', 'This link is not valid.');
    if (!signatureMatches(await this.keys.key(`link:${purpose}`), payload, signature)) throw new LinkTokenError('invalid_link', 'This link is not valid.');
    let data: { s: string; p: string; e: number };
    try {
      data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { s: string; p: string; e: number };
    } catch {
      throw new LinkTokenError('invalid_link', 'This link is not valid.');
    }
    if (data.p !== purpose) throw new LinkTokenError('invalid_link', 'This link is not valid.');
    if (data.e && data.e * 1000 < now.getTime()) throw new LinkTokenError('link_expired', 'This link has expired; subscribe again to get a new one.');
    return data.s;
  }
}
