import { createHash, hkdfSync } from 'node:crypto';
import { EncryptJWT, type JWTPayload, errors as joseErrors, jwtDecrypt } from 'jose';

/** A cookie-sealing key and its id (so rotation finds the right key without trial decryption). */
interface SealKey {
  kid: string;
  key: Uint8Array;
}

/**
 * Seals and opens cookie payloads: JWE `dir` + `A256GCM` (authenticated encryption via jose) with
 * keys derived by HKDF from the configured secrets. The first secret seals; every secret opens,
 * so a secret can be rotated without signing everybody out.
 * @see https://www.rfc-editor.org/rfc/rfc7516
 */
export class CookieSealer {
  readonly #keys: SealKey[];

  constructor(secrets: readonly string[]) {
    this.#keys = secrets.map((secret) => {
      const key = new Uint8Array(hkdfSync('sha256', secret, 'sesame-sdk/v1', 'cookie sealing', 32));
      const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
      return { kid, key };
    });
  }

  /** Seals a payload that expires `maxAgeSeconds` from now. */
  async seal(payload: JWTPayload, maxAgeSeconds: number, now: Date): Promise<string> {
    const { kid, key } = this.#keys[0] as SealKey;
    const iat = Math.floor(now.getTime() / 1000);
    return new EncryptJWT(payload)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid })
      .setIssuedAt(iat)
      .setExpirationTime(iat + maxAgeSeconds)
      .encrypt(key);
  }

  /** Opens a sealed payload; `null` for anything tampered, expired, garbage or sealed with an unknown secret. */
  async open<T extends JWTPayload>(sealed: string | null | undefined, now: Date): Promise<T | null> {
    if (!sealed || sealed.length > 64 * 1024) return null;
    const kid = readKid(sealed);
    const candidate = this.#keys.find((k) => k.kid === kid);
    if (!candidate) return null;
    try {
      const { payload } = await jwtDecrypt(sealed, candidate.key, {
        currentDate: now,
        contentEncryptionAlgorithms: ['A256GCM'],
        keyManagementAlgorithms: ['dir'],
      });
      return payload as T;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return null;
      throw err;
    }
  }
}

function readKid(sealed: string): string | null {
  const dot = sealed.indexOf('.');
  if (dot <= 0 || dot > 200) return null;
  try {
    const header = JSON.parse(Buffer.from(sealed.slice(0, dot), 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    return typeof header.kid === 'string' ? header.kid : null;
  } catch {
    return null;
  }
}
