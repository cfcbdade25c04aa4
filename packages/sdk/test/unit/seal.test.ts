import { describe, expect, it } from 'vitest';
import { CookieSealer } from '../../src/seal.ts';

const secretA = `${'a'.repeat(32)}-first-secret`;
const secretB = `${'b'.repeat(32)}-second-secret`;
const now = new Date(Date.UTC(2030, 0, 1));
const payload = { u: { sub: 'usr_1', name: 'Zoë' }, at: 'token', n: 42 };

/** Changes one character in the middle of the JWE's part `index` (0 header … 4 tag). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const part = parts[index] ?? '';
  const middle = Math.floor(part.length / 2);
  parts[index] = part.slice(0, middle) + (part[middle] === 'A' ? 'B' : 'A') + part.slice(middle + 1);
  return parts.join('.');
}

describe('CookieSealer', () => {
  it('opens what it sealed', async () => {
    const sealer = new CookieSealer([secretA]);
    const sealed = await sealer.seal(payload, 60, now);
    expect(await sealer.open(sealed, now)).toMatchObject(payload);
  });

  it('a sealed cookie is encrypted: no part of the payload is readable', async () => {
    const sealed = await new CookieSealer([secretA]).seal(payload, 60, now);
    const decoded = sealed
      .split('.')
      .map((p) => Buffer.from(p, 'base64url').toString('latin1'))
      .join('');
    expect(decoded).not.toContain('usr_1');
    expect(decoded).not.toContain('token');
  });

  it.each([
    ['header', 0],
    ['initialization vector', 2],
    ['ciphertext', 3],
    ['authentication tag', 4],
  ])('a tampered %s opens as null', async (_name, index) => {
    const sealer = new CookieSealer([secretA]);
    const sealed = await sealer.seal(payload, 60, now);
    expect(await sealer.open(tamper(sealed, index), now)).toBeNull();
  });

  it('a truncated cookie opens as null', async () => {
    const sealer = new CookieSealer([secretA]);
    const sealed = await sealer.seal(payload, 60, now);
    for (const cut of [1, 10, Math.floor(sealed.length / 2), sealed.length - 1]) {
      expect(await sealer.open(sealed.slice(0, cut), now)).toBeNull();
    }
  });

  it('garbage opens as null', async () => {
    const sealer = new CookieSealer([secretA]);
    for (const garbage of [
      undefined,
      null,
      '',
      'garbage',
      '....',
      'a.b.c.d.e',
      '%00%ff',
      '{"kid":"x"}',
      'e30.e30.e30.e30.e30',
      'x'.repeat(70_000),
    ]) {
      expect(await sealer.open(garbage, now)).toBeNull();
    }
  });

  it('a JWE with a known kid but another algorithm opens as null', async () => {
    const sealer = new CookieSealer([secretA]);
    const sealed = await sealer.seal(payload, 60, now);
    const header = JSON.parse(Buffer.from(sealed.split('.')[0] ?? '', 'base64url').toString());
    const swapped = Buffer.from(JSON.stringify({ ...header, enc: 'A128GCM' })).toString('base64url');
    expect(await sealer.open([swapped, ...sealed.split('.').slice(1)].join('.'), now)).toBeNull();
  });

  it('a cookie sealed with the old secret still opens when that secret is listed second', async () => {
    const sealed = await new CookieSealer([secretB]).seal(payload, 60, now);
    const rotated = new CookieSealer([secretA, secretB]);
    expect(await rotated.open(sealed, now)).toMatchObject(payload);
    const resealed = await rotated.seal(payload, 60, now);
    expect(await new CookieSealer([secretA]).open(resealed, now)).toMatchObject(payload);
  });

  it('a cookie sealed with a removed secret opens as null', async () => {
    const sealed = await new CookieSealer([secretB]).seal(payload, 60, now);
    expect(await new CookieSealer([secretA]).open(sealed, now)).toBeNull();
  });

  it('an expired cookie opens as null', async () => {
    const sealer = new CookieSealer([secretA]);
    const sealed = await sealer.seal(payload, 60, now);
    expect(await sealer.open(sealed, new Date(now.getTime() + 59_000))).not.toBeNull();
    expect(await sealer.open(sealed, new Date(now.getTime() + 60_000))).toBeNull();
  });
});
