import { createHash, randomFillSync } from 'node:crypto';

/** Prefixes of every identifier kind the server hands out (spec: Identifiers). */
export type IdPrefix =
  | 'usr'
  | 'org'
  | 'ses'
  | 'role'
  | 'perm'
  | 'snk'
  | 'tkn'
  | 'webc'
  | 'spac'
  | 'ntvc'
  | 'm2m'
  | 'grt'
  | 'sec'
  | 'int'
  | 'mem'
  | 'aud'
  | 'evt';

// Random bytes are drawn from the CSPRNG a few kilobytes at a time and handed out once each: a
// token request needs several small values, and each call into OpenSSL has a fixed cost.
const randomPool = Buffer.allocUnsafe(4096);
let randomOffset = randomPool.length;

/** `length` fresh random bytes, valid until the next call (copy or encode them at once). */
function randomView(length: number): Buffer {
  if (randomOffset + length > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const view = randomPool.subarray(randomOffset, randomOffset + length);
  randomOffset += length;
  return view;
}

let lastMs = 0;
let seq = 0;

/**
 * A time-ordered identifier: prefix, 48-bit millisecond time and 80 random bits, in lowercase
 * base32 (Crockford alphabet), so ids sort by creation and stay opaque to clients.
 */
export function newId(prefix: IdPrefix): string {
  const now = Date.now();
  if (now === lastMs) seq++;
  else {
    lastMs = now;
    seq = 0;
  }
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes.writeUInt16BE(seq & 0xffff, 6);
  randomView(8).copy(bytes, 8);
  return `${prefix}_${base32(bytes)}`;
}

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/** A 256-bit random secret (codes, refresh tokens, client secrets, session cookies), base64url. */
export function newSecret(): string {
  return randomView(32).toString('base64url');
}

/** SHA-256 of a high-entropy secret, base64url: how secrets are stored (never slow-hashed). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
