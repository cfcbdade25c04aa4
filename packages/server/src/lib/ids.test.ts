import { describe, expect, it } from 'vitest';
import { hashSecret, newId, newSecret } from './ids.ts';

describe('identifiers and secrets', () => {
  it('secrets are 256-bit base64url values, never repeated across many pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const secret = newSecret();
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(secret);
    }
    expect(seen.size).toBe(2000);
  });

  it('ids carry their prefix, are unique and sort in creation order', () => {
    const ids = Array.from({ length: 2000 }, () => newId('tkn'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^tkn_[0-9a-hjkmnp-tv-z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
  });

  it('a secret is stored as its SHA-256, base64url', () => {
    expect(hashSecret('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});
