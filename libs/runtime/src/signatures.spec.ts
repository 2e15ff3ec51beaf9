import { randomBytes } from 'node:crypto';
import { hmacSignature, signatureMatches } from './signatures';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('signatures', () => {
  const key = randomBytes(32);

  it('accepts the signature of the payload under the key, and nothing else', () => {
    const signature = hmacSignature(key, 'payload');
    expect(signatureMatches(key, 'payload', signature)).toBe(true);
    expect(signatureMatches(key, 'payload2', signature)).toBe(false);
    expect(signatureMatches(randomBytes(32), 'payload', signature)).toBe(false);
    expect(signatureMatches(key, 'payload', `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`)).toBe(false);
    expect(signatureMatches(key, 'payload', signature.slice(1))).toBe(false);
    expect(signatureMatches(key, 'payload', `${signature}=`)).toBe(false);
    expect(signatureMatches(key, 'payload', 'é'.repeat(signature.length / 2))).toBe(false);
  });

  it('refuses another spelling of the same bytes (the last character holds two spare bits)', () => {
    for (let round = 0; round < 50; round += 1) {
      const payload = `payload-${round}`;
      const signature = hmacSignature(key, payload);
      const last = ALPHABET.indexOf(signature.at(-1) as string);
      const respelled = signature.slice(0, -1) + (ALPHABET[last ^ 1] as string);
      expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
      expect(signatureMatches(key, payload, respelled)).toBe(false);
    }
  });
});
