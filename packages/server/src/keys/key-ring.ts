/**
 * The server's signing keys: the JWKS it publishes, the key it signs with, and rotation.
 *
 * Keys live in the store (private halves sealed with a key derived from the server secret) and are
 * cached here, imported once. A key is published from creation until `expiresAt`, signs from
 * `activatesAt` until `retiresAt`; a key retires exactly when the next key activates, and stays
 * published for the longest token lifetime after that. Activation is a time comparison at sign
 * time, so a pre-published key starts signing by itself, in every process that has loaded it.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5 (JWK Set)
 * @see https://www.rfc-editor.org/rfc/rfc7515#section-4.1.4 (kid)
 */
import {
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  jwtVerify,
  SignJWT,
} from 'jose';
import { newId } from '../lib/ids.ts';
import type { KeyStore } from '../storage/store.ts';
import type { SigningAlg, SigningKey } from '../storage/types.ts';
import { seal, unseal } from './secret-box.ts';

/** Options of {@link KeyRing}. */
export interface KeyRingOptions {
  store: KeyStore;
  /** `deriveKey(secret, 'signing-keys')`: seals private keys at rest. */
  encryptionKey: Uint8Array;
  /** Algorithm of keys created from now on; existing keys keep theirs. */
  alg: SigningAlg;
  /** `Cache-Control: max-age` of `/keys`: how long before it signs a new key is published. */
  jwksMaxAgeSeconds: number;
  /** The longest-lived token any key signs: how long a retired key stays published (+ 60 s). */
  maxTokenLifetimeSeconds: number;
  /** Age at which {@link KeyRing.rotateIfDue} replaces the signing key. */
  rotationIntervalSeconds: number;
  now: () => Date;
}

/** The `typ` header of each kind of token the server signs. */
export type TokenTyp = 'at+jwt' | 'JWT' | 'logout+jwt';

/** Options of {@link KeyRing.verify}. */
export interface KeyRingVerifyOptions {
  issuer: string;
  audience?: string | string[];
  typ?: string;
  clockToleranceSeconds: number;
  /** Skips only the `exp` check (an `id_token_hint` at logout may have expired); the signature is still verified. */
  allowExpired?: boolean;
}

/** A key as `sesame keys list` shows it. */
export interface KeyDescription {
  id: string;
  alg: SigningAlg;
  status: 'pending' | 'active' | 'retired';
  createdAt: Date;
  activatesAt: Date;
  retiresAt: Date | null;
  expiresAt: Date | null;
}

interface KeyMaterial {
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

interface LoadedKey {
  record: SigningKey;
  material: KeyMaterial;
}

const supportedAlgs: readonly SigningAlg[] = ['RS256', 'ES256'];
/** Tokens signed just before retirement may be validated with this much clock skew. */
const retirementToleranceMs = 60_000;
/** An attacker can send any `kid`; it costs at most one store read per this interval. */
const unknownKidReloadIntervalMs = 5_000;
/** The public members of each key type (RFC 7518 §6.2.1, §6.3.1); anything else is never published. */
const publicMembers: Record<string, readonly string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'] };

/**
 * The set of signing keys: publishes the JWKS, signs tokens, verifies the server's own tokens and
 * rotates keys.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
 */
export class KeyRing {
  readonly #store: KeyStore;
  readonly #encryptionKey: Uint8Array;
  readonly #alg: SigningAlg;
  readonly #prePublishMs: number;
  readonly #retiredPublishedMs: number;
  readonly #rotationIntervalMs: number;
  readonly #now: () => Date;

  /** Every key in the store as last loaded, oldest first. */
  #records: SigningKey[] = [];
  /** Imported material of the keys that were not expired at the last load, by kid. */
  #material = new Map<string, KeyMaterial>();
  /** Loads and writes run one at a time, so a load never overwrites a newer one. */
  #queue: Promise<unknown> = Promise.resolve();
  #lastUnknownKidReload: number | null = null;

  constructor(options: KeyRingOptions) {
    if (!supportedAlgs.includes(options.alg)) {
      throw new TypeError(`KeyRing: options.alg must be one of ${supportedAlgs.join(', ')}`);
    }
    if (!(options.encryptionKey instanceof Uint8Array) || options.encryptionKey.length !== 32) {
      throw new TypeError(
        'KeyRing: options.encryptionKey must be 32 bytes (deriveKey(secret, "signing-keys"))',
      );
    }
    for (const name of ['jwksMaxAgeSeconds', 'maxTokenLifetimeSeconds', 'rotationIntervalSeconds'] as const) {
      const value = options[name];
      if (!Number.isFinite(value) || value < 0) {
        throw new TypeError(`KeyRing: options.${name} must be a non-negative number of seconds`);
      }
    }
    this.#store = options.store;
    this.#encryptionKey = options.encryptionKey;
    this.#alg = options.alg;
    this.#prePublishMs = options.jwksMaxAgeSeconds * 1000;
    this.#retiredPublishedMs = options.maxTokenLifetimeSeconds * 1000 + retirementToleranceMs;
    this.#rotationIntervalMs = options.rotationIntervalSeconds * 1000;
    this.#now = options.now;
  }

  /**
   * (Re)reads the keys from the store and imports those not yet expired; material already
   * imported is reused. Throws if a private key cannot be decrypted (another server secret).
   */
  load(): Promise<void> {
    return this.#serialize(() => this.#reload());
  }

  /**
   * Makes sure a key is active now, creating one that signs immediately if none is (first start).
   * Servers starting at once on one database agree: only the first one's key is stored.
   */
  ensureSigningKey(): Promise<void> {
    return this.#serialize(async () => {
      await this.#reload();
      if (this.#signingKeyAt(this.#now().getTime())) return;
      if (await this.#create(this.#now(), { unlessOneSigns: true })) await this.#retireSuperseded();
      await this.#reload();
    });
  }

  /**
   * Signs `payload` as a JWS with the key active now; the header is `{ alg, kid, typ }`.
   * @see https://www.rfc-editor.org/rfc/rfc7515#section-4.1
   * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.1 (typ at+jwt)
   */
  async sign(payload: JWTPayload, typ: TokenTyp): Promise<string> {
    const key = this.#signingKeyAt(this.#now().getTime());
    if (!key) {
      throw new Error('KeyRing.sign: no signing key is active now; call ensureSigningKey() at start-up');
    }
    return new SignJWT(payload)
      .setProtectedHeader({ alg: key.record.alg, kid: key.record.id, typ })
      .sign(key.material.privateKey);
  }

  /**
   * The public JWK Set: every key published now (pending, active and retired until it expires).
   * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
   */
  jwks(): { keys: JWK[] } {
    const now = this.#now().getTime();
    return { keys: this.#published(now).map((key) => ({ ...key.material.publicJwk })) };
  }

  /**
   * Verifies a token this server signed, against the keys published now. An unknown `kid` reloads
   * the store (at most once per 5 s) and is looked up once more. Throws jose errors.
   * @see https://www.rfc-editor.org/rfc/rfc7515#section-5.2
   * @see https://www.rfc-editor.org/rfc/rfc7519#section-7.2
   */
  async verify(token: string, options: KeyRingVerifyOptions): Promise<JWTVerifyResult> {
    const seen: { header?: JWTHeaderParameters } = {};
    const verifyOptions: JWTVerifyOptions = {
      algorithms: [...supportedAlgs],
      issuer: options.issuer,
      audience: options.audience,
      typ: options.typ,
      clockTolerance: options.clockToleranceSeconds,
      currentDate: this.#now(),
    };
    try {
      const { payload, protectedHeader } = await jwtVerify(
        token,
        (header) => {
          seen.header = header;
          return this.#verificationKey(header);
        },
        verifyOptions,
      );
      return { payload, protectedHeader };
    } catch (error) {
      // jose checks `exp` last, after the signature, `typ`, `iss`, `aud` and `nbf` have passed
      // (pinned by the allowExpired tests), so an expiry is the only failure skipped here.
      if (
        options.allowExpired &&
        error instanceof errors.JWTExpired &&
        error.claim === 'exp' &&
        seen.header
      ) {
        return { payload: error.payload, protectedHeader: seen.header };
      }
      throw error;
    }
  }

  /**
   * Creates the next key, published now and signing after one JWKS max-age, and retires the
   * signing key at that moment. Returns the pending key instead if there already is one; creates
   * a key that signs immediately if none signs now.
   * @see https://www.rfc-editor.org/rfc/rfc7517#section-5
   */
  rotate(): Promise<SigningKey> {
    return this.#serialize(async () => {
      await this.#reload();
      return this.#rotate();
    });
  }

  /** Scheduled rotation: rotates when the signing key has signed for the rotation interval and no key is pending. */
  rotateIfDue(): Promise<SigningKey | null> {
    return this.#serialize(async () => {
      await this.#reload();
      const now = this.#now().getTime();
      const active = this.#signingKeyAt(now);
      if (!active || this.#pendingAt(now)) return null;
      if (now - active.record.activatesAt.getTime() < this.#rotationIntervalMs) return null;
      return this.#rotate();
    });
  }

  /** Every key known at the last load, oldest first, with its status now. */
  describe(): KeyDescription[] {
    const now = this.#now().getTime();
    return this.#records.map((key) => ({
      id: key.id,
      alg: key.alg,
      status: key.activatesAt.getTime() > now ? 'pending' : isActive(key, now) ? 'active' : 'retired',
      createdAt: key.createdAt,
      activatesAt: key.activatesAt,
      retiresAt: key.retiresAt,
      expiresAt: key.expiresAt,
    }));
  }

  #serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #reload(): Promise<void> {
    const records = [...(await this.#store.list())].sort(byActivation);
    const now = this.#now().getTime();
    const material = new Map<string, KeyMaterial>();
    await Promise.all(
      records
        .filter((record) => isPublished(record, now))
        .map(async (record) => {
          material.set(record.id, this.#material.get(record.id) ?? (await this.#import(record)));
        }),
    );
    this.#records = records;
    this.#material = material;
  }

  /**
   * Decrypts and imports a stored key. The public key is derived from the sealed (authenticated)
   * private JWK, which also carries the kid and alg, so a row edited in the database cannot make
   * the server trust another public key.
   */
  async #import(record: SigningKey): Promise<KeyMaterial> {
    let privateJwk: JWK;
    try {
      privateJwk = await unseal<JWK>(record.privateJwkEncrypted, this.#encryptionKey);
    } catch (cause) {
      throw new Error(
        `signing key ${record.id} cannot be decrypted: the server secret is not the one it was created with`,
        { cause },
      );
    }
    if (privateJwk.kid !== record.id || privateJwk.alg !== record.alg) {
      throw new Error(`signing key ${record.id}: the sealed private key belongs to another key`);
    }
    const publicJwk = toPublicJwk(privateJwk);
    for (const [member, value] of Object.entries(publicJwk)) {
      if (record.publicJwk[member] !== value) {
        throw new Error(`signing key ${record.id}: the stored public key does not match its private key`);
      }
    }
    const [publicKey, privateKey] = await Promise.all([
      importJWK(publicJwk, record.alg),
      importJWK(privateJwk, record.alg, { extractable: false }),
    ]);
    if (publicKey instanceof Uint8Array || privateKey instanceof Uint8Array) {
      throw new Error(`signing key ${record.id} is not an asymmetric key`);
    }
    return { publicJwk, publicKey, privateKey };
  }

  /** Creates and stores a key; with `unlessOneSigns`, only if no stored key signs now (else `null`). */
  async #create(activatesAt: Date, options: { unlessOneSigns: true }): Promise<SigningKey | null>;
  async #create(activatesAt: Date): Promise<SigningKey>;
  async #create(activatesAt: Date, options?: { unlessOneSigns: true }): Promise<SigningKey | null> {
    const alg = this.#alg;
    const id = newId('snk');
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid: id, alg, use: 'sig' };
    const record: SigningKey = {
      id,
      alg,
      publicJwk: toPublicJwk(privateJwk),
      privateJwkEncrypted: await seal(privateJwk, this.#encryptionKey),
      createdAt: this.#now(),
      activatesAt,
      retiresAt: null,
      expiresAt: null,
    };
    if (options?.unlessOneSigns) {
      if (!(await this.#store.insertFirst(record, this.#now()))) return null;
    } else {
      await this.#store.insert(record);
    }
    this.#records.push(record);
    return record;
  }

  /** Rotation proper; the caller holds the queue and has just reloaded. */
  async #rotate(): Promise<SigningKey> {
    const now = this.#now();
    const pending = this.#pendingAt(now.getTime());
    if (pending) return pending;
    const activatesAt = this.#signingKeyAt(now.getTime())
      ? new Date(now.getTime() + this.#prePublishMs)
      : now;
    // The new key goes in before the old one is retired: a crash in between leaves two keys that
    // both sign (the newer wins) rather than none; the next rotation completes the retirement.
    const key = await this.#create(activatesAt);
    await this.#retireSuperseded();
    await this.#reload();
    return key;
  }

  /**
   * Retires every key when the next key activates (never later than already set), and keeps it
   * published until every token it signed has expired.
   */
  async #retireSuperseded(): Promise<void> {
    const records = [...this.#records].sort(byActivation);
    for (const [index, key] of records.entries()) {
      const successor = records[index + 1];
      if (!successor) break;
      const retiresAt = successor.activatesAt;
      if (key.retiresAt !== null && key.retiresAt.getTime() <= retiresAt.getTime()) continue;
      const expiresAt = new Date(retiresAt.getTime() + this.#retiredPublishedMs);
      await this.#store.update(key.id, { retiresAt, expiresAt });
    }
  }

  #published(now: number): LoadedKey[] {
    const keys: LoadedKey[] = [];
    for (const record of this.#records) {
      const material = this.#material.get(record.id);
      if (material && isPublished(record, now)) keys.push({ record, material });
    }
    return keys.reverse();
  }

  /** The most recently activated key that is active now (several can be, with clock skew). */
  #signingKeyAt(now: number): LoadedKey | undefined {
    return this.#published(now).find((key) => isActive(key.record, now));
  }

  #pendingAt(now: number): SigningKey | undefined {
    return this.#records.find((key) => key.activatesAt.getTime() > now && isPublished(key, now));
  }

  async #verificationKey(header: JWTHeaderParameters): Promise<CryptoKey> {
    const { kid } = header;
    if (typeof kid !== 'string') throw new errors.JWKSNoMatchingKey('the JWS header has no "kid"');
    let key = this.#publishedKey(kid);
    if (!key && this.#mayReloadForUnknownKid()) {
      await this.load();
      key = this.#publishedKey(kid);
    }
    if (!key) throw new errors.JWKSNoMatchingKey();
    if (header.alg !== key.record.alg) {
      throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter does not match the key');
    }
    return key.material.publicKey;
  }

  #publishedKey(kid: string): LoadedKey | undefined {
    const now = this.#now().getTime();
    return this.#published(now).find((key) => key.record.id === kid);
  }

  #mayReloadForUnknownKid(): boolean {
    const now = this.#now().getTime();
    const last = this.#lastUnknownKidReload;
    if (last !== null && now - last < unknownKidReloadIntervalMs && now >= last) return false;
    this.#lastUnknownKidReload = now;
    return true;
  }
}

function isPublished(key: SigningKey, now: number): boolean {
  return key.expiresAt === null || key.expiresAt.getTime() > now;
}

function isActive(key: SigningKey, now: number): boolean {
  return key.activatesAt.getTime() <= now && (key.retiresAt === null || key.retiresAt.getTime() > now);
}

/** Orders keys by activation, then by id (ids are time-ordered), oldest first. */
function byActivation(a: SigningKey, b: SigningKey): number {
  return a.activatesAt.getTime() - b.activatesAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The public JWK of a key: only `kty`, `kid`, `use`, `alg` and the key type's public members.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-4
 */
function toPublicJwk(jwk: JWK): JWK {
  const members = jwk.kty ? publicMembers[jwk.kty] : undefined;
  if (!members) throw new Error(`unsupported signing key type ${String(jwk.kty)}`);
  const out: JWK = { kty: jwk.kty, kid: jwk.kid, use: 'sig', alg: jwk.alg };
  const source = jwk as Record<string, unknown>;
  const target = out as Record<string, unknown>;
  for (const member of members) target[member] = source[member];
  return out;
}
