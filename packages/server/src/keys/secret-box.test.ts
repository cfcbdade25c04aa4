import { webcrypto } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { deriveKey, SealError, seal, unseal } from './secret-box.ts';

const secret = 'a server secret of enough length for tests';

/** Flips one character in the middle of a compact serialization's `part`-th segment. */
function tamper(compact: string, part: number): string {
  const parts = compact.split('.');
  const segment = parts[part] ?? '';
  const i = Math.floor(segment.length / 2);
  parts[part] = segment.slice(0, i) + (segment[i] === 'A' ? 'B' : 'A') + segment.slice(i + 1);
  return parts.join('.');
}

describe('deriveKey', () => {
  it('is HKDF-SHA256 with salt "sesame/v1" and the purpose as info (RFC 5869)', async () => {
    const ikm = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), 'HKDF', false, [
      'deriveBits',
    ]);
    const expected = await webcrypto.subtle.deriveBits(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: new TextEncoder().encode('sesame/v1'),
        info: new TextEncoder().encode('signing-keys'),
      },
      ikm,
      256,
    );
    const key = deriveKey(secret, 'signing-keys');
    expect(key).toBeInstanceOf(Uint8Array);
    expect(key).toHaveLength(32);
    expect(Buffer.from(key).equals(Buffer.from(expected))).toBe(true);
  });

  it('gives each purpose and each secret its own key', () => {
    const keys = [
      deriveKey(secret, 'signing-keys'),
      deriveKey(secret, 'sealed-responses'),
      deriveKey(secret, 'refresh-successors'),
      deriveKey(secret, 'csrf'),
      deriveKey(secret, 'cookies'),
      deriveKey(`${secret}!`, 'signing-keys'),
    ].map((key) => Buffer.from(key).toString('hex'));
    expect(new Set(keys).size).toBe(keys.length);
    expect(Buffer.from(deriveKey(secret, 'csrf')).toString('hex')).toBe(keys[3]);
  });

  it('refuses an empty secret', () => {
    expect(() => deriveKey('', 'csrf')).toThrow(TypeError);
  });
});

describe('seal / unseal', () => {
  const key = deriveKey(secret, 'sealed-responses');

  it('round-trips JSON as a compact JWE with dir + A256GCM (RFC 7516 §3.1)', async () => {
    const payload = { access_token: 'x', n: 1, nested: { ok: true }, list: [1, 'two'] };
    const sealed = await seal(payload, key);
    expect(sealed.split('.')).toHaveLength(5);
    expect(decodeProtectedHeader(sealed)).toEqual({ alg: 'dir', enc: 'A256GCM' });
    expect(sealed).not.toContain('access_token');
    await expect(unseal(sealed, key)).resolves.toEqual(payload);
  });

  it('rejects a tampered ciphertext, tag, iv or header', async () => {
    const sealed = await seal({ a: 'b'.repeat(40) }, key);
    for (const part of [0, 2, 3, 4]) {
      await expect(unseal(tamper(sealed, part), key)).rejects.toBeInstanceOf(SealError);
    }
  });

  it('rejects a value sealed under another key or for another purpose', async () => {
    const sealed = await seal({ a: 1 }, key);
    await expect(unseal(sealed, deriveKey('another secret', 'sealed-responses'))).rejects.toBeInstanceOf(
      SealError,
    );
    await expect(unseal(sealed, deriveKey(secret, 'cookies'))).rejects.toBeInstanceOf(SealError);
  });

  it('rejects garbage and truncated values', async () => {
    const sealed = await seal({ a: 1 }, key);
    for (const value of [
      '',
      'garbage',
      'a.b.c.d.e',
      sealed.slice(0, -5),
      sealed.split('.').slice(0, 4).join('.'),
    ]) {
      await expect(unseal(value, key)).rejects.toBeInstanceOf(SealError);
    }
  });

  it('refuses a key that is not 32 bytes (a programmer mistake, not a SealError)', async () => {
    await expect(seal({}, new Uint8Array(16))).rejects.toThrow(TypeError);
    await expect(unseal('a.b.c.d.e', new Uint8Array(16))).rejects.toThrow(TypeError);
  });
});
