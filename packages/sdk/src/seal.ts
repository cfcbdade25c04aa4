import { createHash, hkdfSync } from 'node:crypto';
import { EncryptJWT, type JWTPayload, errors as joseErrors, jwtDecrypt } from 'jose';

/** A cookie-sealing key and its id (so rotation finds the right key without trial decryption). */
interface SealKey {
  kid: string;
  /** Imported once: handing jose raw bytes would import them again on every call. */
  key: Promise<CryptoKey>;
}

/** A payload opened before: its JSON and the time claims that decide whether it is still good. */
interface Opened {
  json: string;
  exp: unknown;
  nbf: unknown;
}

/** Sealed values remembered once opened; a browser sends the same cookie on every request. */
const maxOpened = 1000;

/**
 * Seals and opens cookie payloads: JWE `dir` + `A256GCM` (authenticated encryption via jose) with
 * keys derived by HKDF from the configured secrets. The first secret seals; every secret opens,
 * so a secret can be rotated without signing everybody out.
 * @see https://www.rfc-editor.org/rfc/rfc7516
 */
export class CookieSealer {
  readonly #keys: SealKey[];
  readonly #opened = new Map<string, Opened>();

  constructor(secrets: readonly string[]) {
    this.#keys = secrets.map((secret) => {
      const raw = new Uint8Array(hkdfSync('sha256', secret, 'sesame-sdk/v1', 'cookie sealing', 32));
      const kid = createHash('sha256').update(raw).digest('base64url').slice(0, 8);
      const key = crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
      // A failure surfaces at the first seal or open; until then it must not be unhandled.
      key.catch(() => undefined);
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
      .encrypt(await key);
  }

  /**
   * Opens a sealed payload; `null` for anything tampered, expired, garbage or sealed with an unknown
   * secret. A value opened before is not decrypted again (only its `exp` and `nbf` are checked
   * again, as jose would), and each call returns a fresh copy of the payload.
   */
  async open<T extends JWTPayload>(sealed: string | null | undefined, now: Date): Promise<T | null> {
    if (!sealed || sealed.length > 64 * 1024) return null;
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const opened = this.#opened.get(sealed);
    if (opened) {
      if (typeof opened.exp === 'number' && opened.exp <= nowSeconds) {
        this.#opened.delete(sealed);
        return null;
      }
      if (typeof opened.nbf === 'number' && opened.nbf > nowSeconds) return null;
      return JSON.parse(opened.json) as T;
    }
    const kid = readKid(sealed);
    const candidate = this.#keys.find((k) => k.kid === kid);
    if (!candidate) return null;
    try {
      const { payload } = await jwtDecrypt(sealed, await candidate.key, {
        currentDate: now,
        contentEncryptionAlgorithms: ['A256GCM'],
        keyManagementAlgorithms: ['dir'],
      });
      if (this.#opened.size >= maxOpened) this.#opened.delete(this.#opened.keys().next().value as string);
      this.#opened.set(sealed, { json: JSON.stringify(payload), exp: payload.exp, nbf: payload.nbf });
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
