import { createHmac, timingSafeEqual } from 'node:crypto';

/** The HMAC-SHA256 of `payload` under `key`, base64url: what tokens, cookies and links carry. */
export function hmacSignature(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/**
 * Whether `signature` is exactly the text `hmacSignature` gives. Compared as text, not decoded: a base64 decoder
 * ignores the spare bits of the last character, so several texts decode to one signature, and a token changed in
 * any character must be refused.
 */
export function signatureMatches(key: Buffer, payload: string, signature: string): boolean {
  const expected = Buffer.from(hmacSignature(key, payload));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
