import { describe, expect, it } from 'vitest';
import {
  type CookieAttributes,
  clearChunked,
  maxCookieValueLength,
  parseCookieHeader,
  readChunked,
  serializeCookie,
  writeChunked,
} from '../../src/cookies.ts';

const attrs: CookieAttributes = { path: '/', httpOnly: true, secure: true, sameSite: 'Lax', maxAge: 3600 };

/** What a browser would send back after receiving these `Set-Cookie` values on top of `jar`. */
function apply(jar: Map<string, string>, setCookies: string[]): Map<string, string> {
  const next = new Map(jar);
  for (const header of setCookies) {
    const [pair = ''] = header.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    if (/Max-Age=0\b/.test(header)) next.delete(name);
    else next.set(name, pair.slice(eq + 1));
  }
  return next;
}

/** The cookie names these `Set-Cookie` values expire. */
const expired = (setCookies: string[]) =>
  setCookies.filter((h) => /Max-Age=0\b/.test(h)).map((h) => h.slice(0, h.indexOf('=')));

describe('parseCookieHeader', () => {
  it('no header, or an empty one, has no cookies', () => {
    expect(parseCookieHeader(null).size).toBe(0);
    expect(parseCookieHeader('').size).toBe(0);
  });

  it('splits on semicolons and trims whitespace around names and values', () => {
    expect([...parseCookieHeader(' a = 1 ;b=2;  c=3 ')]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
  });

  it('keeps = inside a value (base64 padding, JWE parts)', () => {
    expect(parseCookieHeader('t=abc==; u=x=y').get('t')).toBe('abc==');
    expect(parseCookieHeader('u=x=y').get('u')).toBe('x=y');
  });

  it('skips pairs without a name or without =', () => {
    expect([...parseCookieHeader('=orphan; flag; ;a=1;;')]).toEqual([['a', '1']]);
  });

  it('unwraps a quoted value and keeps an empty one', () => {
    const cookies = parseCookieHeader('q="quoted"; e=');
    expect(cookies.get('q')).toBe('quoted');
    expect(cookies.get('e')).toBe('');
  });

  it('the first of a repeated name wins (the most specific path comes first)', () => {
    expect(parseCookieHeader('s=specific; s=general').get('s')).toBe('specific');
  });

  it('does not decode or choke on percent signs and odd bytes', () => {
    expect(parseCookieHeader('p=%E0%A4%A; z=\u00ff').get('p')).toBe('%E0%A4%A');
  });
});

describe('serializeCookie', () => {
  it('writes every attribute the session cookies need', () => {
    expect(serializeCookie('n', 'v', attrs)).toBe(
      'n=v; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('an expiring cookie also gets an Expires in the past (old browsers ignore Max-Age=0)', () => {
    expect(serializeCookie('n', '', { ...attrs, maxAge: 0, secure: false })).toBe(
      'n=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    );
  });
});

describe('chunked cookies', () => {
  const big = Array.from(
    { length: 10 * 1024 },
    (_, i) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[i % 64],
  ).join('');

  it('a 10 KB value is split into chunks under the browser limit and joined back', () => {
    const headers = writeChunked(new Map(), 's', big, attrs);
    expect(headers).toHaveLength(Math.ceil(big.length / maxCookieValueLength));
    for (const header of headers) expect(header.length).toBeLessThan(4096);
    const jar = apply(new Map(), headers);
    expect([...jar.keys()]).toEqual(['s.0', 's.1', 's.2']);
    expect(readChunked(jar, 's')).toBe(big);
  });

  it('a short value is one cookie under its own name', () => {
    const headers = writeChunked(new Map(), 's', 'small', attrs);
    expect(headers).toEqual([serializeCookie('s', 'small', attrs)]);
    expect(readChunked(apply(new Map(), headers), 's')).toBe('small');
  });

  it('stale chunks are cleared when the value shrinks to fewer chunks', () => {
    const jar = apply(new Map(), writeChunked(new Map(), 's', big, attrs));
    const shorter = big.slice(0, maxCookieValueLength + 10);
    const headers = writeChunked(jar, 's', shorter, attrs);
    expect(expired(headers)).toEqual(['s.2']);
    const after = apply(jar, headers);
    expect(readChunked(after, 's')).toBe(shorter);
    expect(after.has('s.2')).toBe(false);
  });

  it('every chunk is cleared when the value shrinks to one cookie', () => {
    const jar = apply(new Map(), writeChunked(new Map(), 's', big, attrs));
    const headers = writeChunked(jar, 's', 'small', attrs);
    expect(expired(headers).sort()).toEqual(['s.0', 's.1', 's.2']);
    expect([...apply(jar, headers)]).toEqual([['s', 'small']]);
  });

  it('the whole-value cookie is cleared when the value grows into chunks', () => {
    const jar = apply(new Map(), writeChunked(new Map(), 's', 'small', attrs));
    const headers = writeChunked(jar, 's', big, attrs);
    expect(expired(headers)).toEqual(['s']);
    const after = apply(jar, headers);
    expect(after.has('s')).toBe(false);
    expect(readChunked(after, 's')).toBe(big);
  });

  it('chunks of another cookie sharing the prefix are left alone', () => {
    const jar = new Map([
      ['s.0', 'a'],
      ['s.x', 'b'],
      ['s.extra.1', 'c'],
      ['ss.0', 'd'],
    ]);
    expect(expired(writeChunked(jar, 's', 'small', attrs))).toEqual(['s.0']);
  });

  it('a value needing more than 10 chunks is refused rather than silently cut', () => {
    expect(() => writeChunked(new Map(), 's', 'x'.repeat(maxCookieValueLength * 10 + 1), attrs)).toThrow(
      RangeError,
    );
  });

  it('reading stops at the first missing chunk, and an absent cookie reads as null', () => {
    expect(
      readChunked(
        new Map([
          ['s.0', 'a'],
          ['s.2', 'c'],
        ]),
        's',
      ),
    ).toBe('a');
    expect(readChunked(new Map([['s.1', 'b']]), 's')).toBeNull();
    expect(readChunked(new Map(), 's')).toBeNull();
  });

  it('clearing expires the whole form even if not sent, and every chunk that was sent', () => {
    const jar = new Map([
      ['s.0', 'a'],
      ['s.1', 'b'],
      ['other', 'x'],
    ]);
    const headers = clearChunked(jar, 's', { ...attrs, path: '/auth/refresh' });
    expect(expired(headers).sort()).toEqual(['s', 's.0', 's.1']);
    for (const header of headers) expect(header).toContain('Path=/auth/refresh');
    expect(expired(clearChunked(new Map(), 's', attrs))).toEqual(['s']);
  });
});
