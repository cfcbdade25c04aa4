/**
 * Symmetric sealing with keys derived from the server secret: one HKDF-derived key per purpose,
 * so a value sealed for one purpose can never be opened as another.
 * @see https://www.rfc-editor.org/rfc/rfc5869 (HKDF)
 * @see https://www.rfc-editor.org/rfc/rfc7516#section-3.1 (JWE Compact Serialization)
 */
import { hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

/** What a derived key is used for; each purpose gets an independent key. */
export type SecretPurpose = 'signing-keys' | 'sealed-responses' | 'refresh-successors' | 'csrf' | 'cookies';

const salt = 'sesame/v1';
const keyLength = 32;
const header = { alg: 'dir', enc: 'A256GCM' } as const;

/** A sealed value could not be opened: tampered, truncated, not a sealed value, or sealed under another key. */
export class SealError extends Error {
  readonly code = 'ERR_SEAL_INVALID';
  constructor(message = 'sealed value cannot be opened', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SealError';
  }
}

/**
 * Derives the 256-bit key for `purpose` from the server secret with HKDF-SHA256.
 * @see https://www.rfc-editor.org/rfc/rfc5869#section-2
 */
export function deriveKey(serverSecret: string, purpose: SecretPurpose): Uint8Array {
  if (typeof serverSecret !== 'string' || serverSecret.length === 0) {
    throw new TypeError('deriveKey: serverSecret must be a non-empty string');
  }
  return new Uint8Array(hkdfSync('sha256', serverSecret, salt, purpose, keyLength));
}

/**
 * Encrypts `payload` (as JSON) into a compact JWE with `dir` + `A256GCM`.
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-4.5 (dir)
 * @see https://www.rfc-editor.org/rfc/rfc7518#section-5.3 (AES GCM)
 */
export async function seal(payload: unknown, key: Uint8Array): Promise<string> {
  assertKey(key, 'seal');
  const json = JSON.stringify(payload);
  if (json === undefined) throw new TypeError('seal: payload is not JSON-serializable');
  return new CompactEncrypt(new TextEncoder().encode(json))
    .setProtectedHeader(header)
    .encrypt(await cryptoKeyOf(key));
}

/**
 * Decrypts a value made by {@link seal}; throws {@link SealError} on anything that is not an intact
 * value sealed under `key`.
 * @see https://www.rfc-editor.org/rfc/rfc7516#section-5.2
 */
export async function unseal<T>(sealed: string, key: Uint8Array): Promise<T> {
  assertKey(key, 'unseal');
  try {
    const { plaintext } = await compactDecrypt(sealed, await cryptoKeyOf(key), {
      keyManagementAlgorithms: [header.alg],
      contentEncryptionAlgorithms: [header.enc],
    });
    return JSON.parse(new TextDecoder().decode(plaintext)) as T;
  } catch (cause) {
    throw new SealError(undefined, { cause });
  }
}

// Importing raw key bytes into WebCrypto costs more than sealing a small value, and the keys are
// derived once per process: each is imported once.
const importedKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function cryptoKeyOf(key: Uint8Array): Promise<CryptoKey> {
  let imported = importedKeys.get(key);
  if (!imported) {
    imported = crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'AES-GCM' }, false, [
      'encrypt',
      'decrypt',
    ]);
    importedKeys.set(key, imported);
  }
  return imported;
}

function assertKey(key: Uint8Array, caller: string): void {
  if (!(key instanceof Uint8Array) || key.length !== keyLength) {
    throw new TypeError(`${caller}: key must be a ${keyLength}-byte Uint8Array (see deriveKey)`);
  }
}
