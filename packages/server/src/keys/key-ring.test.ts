import {
  decodeProtectedHeader,
  errors,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import type { KeyStore } from '../storage/store.ts';
import type { SigningAlg, SigningKey } from '../storage/types.ts';
import { KeyRing } from './key-ring.ts';
import { deriveKey, unseal } from './secret-box.ts';

const issuer = 'https://id.example.test';
const secret = 'server secret for key ring tests';
const encryptionKey = deriveKey(secret, 'signing-keys');
const jwksMaxAgeSeconds = 600;
const maxTokenLifetimeSeconds = 3600;
const rotationIntervalSeconds = 30 * 86_400;
const tolerance = 15;

/** An in-memory KeyStore that hands out copies, as a database would. */
class MemoryKeyStore implements KeyStore {
  readonly rows = new Map<string, SigningKey>();
  listCalls = 0;
  async list(): Promise<SigningKey[]> {
    this.listCalls++;
    return [...this.rows.values()].map((row) => structuredClone(row));
  }
  async insert(key: SigningKey): Promise<void> {
    if (this.rows.has(key.id)) throw new Error(`duplicate ${key.id}`);
    this.rows.set(key.id, structuredClone(key));
  }
  async insertFirst(key: SigningKey, now: Date): Promise<boolean> {
    const at = now.getTime();
    const signs = [...this.rows.values()].some(
      (row) =>
        row.activatesAt.getTime() <= at &&
        (row.retiresAt === null || row.retiresAt.getTime() > at) &&
        (row.expiresAt === null || row.expiresAt.getTime() > at),
    );
    if (!signs) await this.insert(key);
    return !signs;
  }
  async update(id: string, patch: { retiresAt?: Date | null; expiresAt?: Date | null }): Promise<void> {
    const row = this.rows.get(id);
    if (!row) throw new Error(`no key ${id}`);
    this.rows.set(id, { ...row, ...structuredClone(patch) });
  }
}

let t: Date;
let store: MemoryKeyStore;

function ring(options: { alg?: SigningAlg; key?: Uint8Array } = {}): KeyRing {
  return new KeyRing({
    store,
    encryptionKey: options.key ?? encryptionKey,
    alg: options.alg ?? 'RS256',
    jwksMaxAgeSeconds,
    maxTokenLifetimeSeconds,
    rotationIntervalSeconds,
    now: () => t,
  });
}

function advance(ms: number): void {
  t = new Date(t.getTime() + ms);
}

function at(date: Date): void {
  t = new Date(date);
}

/** Claims of an access token valid for `lifetime` seconds from the current clock. */
function claims(lifetime = 300, extra: JWTPayload = {}): JWTPayload {
  const iat = Math.floor(t.getTime() / 1000);
  return { iss: issuer, aud: ['webc_1'], sub: 'usr_1', iat, nbf: iat, exp: iat + lifetime, ...extra };
}

function kidOf(token: string): string | undefined {
  return decodeProtectedHeader(token).kid;
}

function kids(keyRing: KeyRing): Array<string | undefined> {
  return keyRing.jwks().keys.map((key) => key.kid);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeEach(() => {
  t = new Date('2030-01-01T00:00:00Z');
  store = new MemoryKeyStore();
});

describe('first start', () => {
  it('creates exactly one key, active immediately, however often it is called', async () => {
    const keyRing = ring();
    await keyRing.load();
    expect(keyRing.jwks().keys).toEqual([]);
    await Promise.all([keyRing.ensureSigningKey(), keyRing.ensureSigningKey()]);
    await keyRing.ensureSigningKey();
    expect(store.rows.size).toBe(1);
    const [key] = keyRing.describe();
    expect(key).toMatchObject({ status: 'active', alg: 'RS256', retiresAt: null, expiresAt: null });
    expect(key?.id).toMatch(/^snk_/);
    expect(key?.activatesAt).toEqual(t);
    // A second process starting against the same store reuses it.
    await ring().ensureSigningKey();
    expect(store.rows.size).toBe(1);
  });

  it('two servers starting at once on one empty store end up with one key, and both sign with it', async () => {
    const [a, b] = [ring(), ring()];
    await Promise.all([a.ensureSigningKey(), b.ensureSigningKey()]);
    expect(store.rows.size).toBe(1);
    const [only] = [...store.rows.keys()];
    for (const server of [a, b]) {
      expect(server.describe().map((k) => k.id)).toEqual([only]);
      const token = await server.sign({ sub: 'x' }, 'JWT');
      expect(decodeProtectedHeader(token).kid).toBe(only);
    }
  });

  it('sign() fails clearly before any key exists', async () => {
    const keyRing = ring();
    await keyRing.load();
    await expect(keyRing.sign(claims(), 'JWT')).rejects.toThrow(/no signing key is active/);
  });

  it('rejects bad options at construction, naming the option', () => {
    expect(() => new KeyRing({ ...baseOptions(), alg: 'HS256' as SigningAlg })).toThrow(/options\.alg/);
    expect(() => new KeyRing({ ...baseOptions(), encryptionKey: new Uint8Array(8) })).toThrow(
      /options\.encryptionKey/,
    );
    expect(() => new KeyRing({ ...baseOptions(), jwksMaxAgeSeconds: -1 })).toThrow(
      /options\.jwksMaxAgeSeconds/,
    );
  });
});

function baseOptions() {
  return {
    store,
    encryptionKey,
    alg: 'RS256' as const,
    jwksMaxAgeSeconds,
    maxTokenLifetimeSeconds,
    rotationIntervalSeconds,
    now: () => t,
  };
}

describe.each(['RS256', 'ES256'] as const)('%s keys', (alg) => {
  it('publish only public members, with kid, use and alg (RFC 7517 §4, §5)', async () => {
    const keyRing = ring({ alg });
    await keyRing.ensureSigningKey();
    const { keys } = keyRing.jwks();
    expect(keys).toHaveLength(1);
    const [jwk] = keys;
    const expected =
      alg === 'RS256'
        ? ['alg', 'e', 'kid', 'kty', 'n', 'use']
        : ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'];
    expect(Object.keys(jwk ?? {}).sort()).toEqual(expected);
    expect(jwk).toMatchObject({
      use: 'sig',
      alg,
      kid: keyRing.describe()[0]?.id,
      kty: alg === 'RS256' ? 'RSA' : 'EC',
    });
    if (alg === 'ES256') expect(jwk?.crv).toBe('P-256');
    else expect(Buffer.from(jwk?.n ?? '', 'base64url').length * 8).toBe(2048);
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'])
      expect(jwk).not.toHaveProperty(member);
    // The stored public JWK is the published one.
    expect([...store.rows.values()][0]?.publicJwk).toEqual(jwk);
  });

  it('sign -> verify round trip with { alg, kid, typ } header (RFC 7515 §4.1, RFC 9068 §2.1)', async () => {
    const keyRing = ring({ alg });
    await keyRing.ensureSigningKey();
    const token = await keyRing.sign(claims(), 'at+jwt');
    const kid = keyRing.describe()[0]?.id;
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid, typ: 'at+jwt' });
    const { payload, protectedHeader } = await keyRing.verify(token, {
      issuer,
      audience: 'webc_1',
      typ: 'at+jwt',
      clockToleranceSeconds: tolerance,
    });
    expect(payload.sub).toBe('usr_1');
    expect(protectedHeader.kid).toBe(kid);
    // And a verifier that only has the JWKS accepts it.
    const jwk = keyRing.jwks().keys[0] as JWK;
    const { payload: external } = await jwtVerify(token, await importJWK(jwk, alg), {
      issuer,
      currentDate: t,
    });
    expect(external.sub).toBe('usr_1');
    for (const typ of ['JWT', 'logout+jwt'] as const) {
      expect(decodeProtectedHeader(await keyRing.sign(claims(), typ)).typ).toBe(typ);
    }
  });
});

describe('rotation', () => {
  it('pre-publishes the new key one JWKS max-age before it signs; the old key signs until then', async () => {
    const keyRing = ring();
    await keyRing.ensureSigningKey();
    const oldKid = keyRing.describe()[0]?.id;
    const created = t;

    const next = await keyRing.rotate();
    expect(next.activatesAt.getTime()).toBe(created.getTime() + jwksMaxAgeSeconds * 1000);
    expect(kids(keyRing)).toEqual(expect.arrayContaining([oldKid, next.id]));
    expect(keyRing.jwks().keys).toHaveLength(2);
    expect(keyRing.describe().map((key) => key.status)).toEqual(['active', 'pending']);

    const old = store.rows.get(oldKid ?? '');
    expect(old?.retiresAt).toEqual(next.activatesAt);
    expect(old?.expiresAt?.getTime()).toBe(
      next.activatesAt.getTime() + (maxTokenLifetimeSeconds + 60) * 1000,
    );

    expect(kidOf(await keyRing.sign(claims(), 'JWT'))).toBe(oldKid);
    at(new Date(next.activatesAt.getTime() - 1));
    expect(kidOf(await keyRing.sign(claims(), 'JWT'))).toBe(oldKid);
    // No write happens at activation: the pre-published key starts signing by itself.
    at(next.activatesAt);
    expect(kidOf(await keyRing.sign(claims(), 'JWT'))).toBe(next.id);
    expect(keyRing.describe().map((key) => key.status)).toEqual(['retired', 'active']);
  });

  it('returns the pending key instead of creating a second one', async () => {
    const keyRing = ring();
    await keyRing.ensureSigningKey();
    const first = await keyRing.rotate();
    advance(1000);
    const again = await keyRing.rotate();
    expect(again.id).toBe(first.id);
    expect(store.rows.size).toBe(2);
  });

  it('keeps a retired key published until expiresAt, verifying its tokens, then drops it', async () => {
    const keyRing = ring();
    await keyRing.ensureSigningKey();
    const oldKid = keyRing.describe()[0]?.id ?? '';
    const next = await keyRing.rotate();
    at(new Date(next.activatesAt.getTime() - 1000));
    const lastOldToken = await keyRing.sign(claims(maxTokenLifetimeSeconds), 'at+jwt');
    expect(kidOf(lastOldToken)).toBe(oldKid);

    at(next.activatesAt);
    const expiresAt = store.rows.get(oldKid)?.expiresAt ?? new Date(0);
    const options = { issuer, typ: 'at+jwt', clockToleranceSeconds: tolerance };
    await expect(keyRing.verify(lastOldToken, options)).resolves.toBeDefined();
    at(new Date(expiresAt.getTime() - 61_000));
    expect(kids(keyRing)).toContain(oldKid);
    await expect(keyRing.verify(lastOldToken, options)).resolves.toBeDefined();

    at(expiresAt);
    expect(kids(keyRing)).toEqual([next.id]);
    await expect(keyRing.verify(lastOldToken, { ...options, allowExpired: true })).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
  });

  it('rotateIfDue rotates only when the signing key is older than the interval and none is pending', async () => {
    const keyRing = ring();
    await keyRing.ensureSigningKey();
    expect(await keyRing.rotateIfDue()).toBeNull();
    advance(rotationIntervalSeconds * 1000 - 1);
    expect(await keyRing.rotateIfDue()).toBeNull();
    expect(store.rows.size).toBe(1);

    advance(1);
    const next = await keyRing.rotateIfDue();
    expect(next).not.toBeNull();
    expect(store.rows.size).toBe(2);
    expect(await keyRing.rotateIfDue()).toBeNull();
    expect(store.rows.size).toBe(2);

    // The new key's age counts from when it starts signing.
    at(next?.activatesAt ?? t);
    advance(rotationIntervalSeconds * 1000 - 1);
    expect(await keyRing.rotateIfDue()).toBeNull();
    advance(1);
    expect(await keyRing.rotateIfDue()).not.toBeNull();
    expect(store.rows.size).toBe(3);
  });

  it('rotate with no signing key creates one that signs immediately', async () => {
    const keyRing = ring();
    await keyRing.load();
    const key = await keyRing.rotate();
    expect(key.activatesAt).toEqual(t);
    expect(kidOf(await keyRing.sign(claims(), 'JWT'))).toBe(key.id);
  });

  it('a key created while one is pending retires when the pending key activates', async () => {
    const keyRing = ring();
    await keyRing.ensureSigningKey();
    const first = keyRing.describe()[0]?.id ?? '';
    const next = await keyRing.rotate();
    // An operator retires the signing key early: ensureSigningKey must fill the gap.
    await store.update(first, { retiresAt: t, expiresAt: new Date(t.getTime() + 1000) });
    await keyRing.ensureSigningKey();
    expect(store.rows.size).toBe(3);
    const stopgap = [...store.rows.values()].find((key) => key.id !== first && key.id !== next.id);
    expect(stopgap?.retiresAt).toEqual(next.activatesAt);
    at(next.activatesAt);
    expect(kidOf(await keyRing.sign(claims(), 'JWT'))).toBe(next.id);
  });

  it('with several keys active, signs with the most recently activated; rotation repairs it', async () => {
    const keyRing = ring();
    await keyRing.ensureSigningKey();
    const first = keyRing.describe()[0]?.id ?? '';
    const second = await keyRing.rotate();
    // As if the process had crashed between inserting the new key and retiring the old one.
    await store.update(first, { retiresAt: null, expiresAt: null });
    at(second.activatesAt);
    await keyRing.load();
    expect(keyRing.describe().map((key) => key.status)).toEqual(['active', 'active']);
    expect(kidOf(await keyRing.sign(claims(), 'JWT'))).toBe(second.id);

    await keyRing.rotate();
    expect(store.rows.get(first)?.retiresAt).toEqual(second.activatesAt);
    expect(keyRing.describe()[0]?.status).toBe('retired');
  });
});

describe('keys at rest', () => {
  it('stores the private key encrypted, not as plaintext', async () => {
    const keyRing = ring();
    await keyRing.ensureSigningKey();
    const row = [...store.rows.values()][0];
    if (!row) throw new Error('no key stored');
    const privateJwk = await unseal<JWK>(row.privateJwkEncrypted, encryptionKey);
    expect(typeof privateJwk.d).toBe('string');
    expect(row.privateJwkEncrypted).not.toContain(privateJwk.d);
    expect(row.privateJwkEncrypted).not.toContain(privateJwk.p);
    expect(JSON.stringify(row)).not.toContain(privateJwk.d);
    expect(row.publicJwk).not.toHaveProperty('d');
  });

  it('fails to load with another server secret, saying so', async () => {
    await ring().ensureSigningKey();
    const wrong = ring({ key: deriveKey('another secret', 'signing-keys') });
    await expect(wrong.load()).rejects.toThrow(/cannot be decrypted: the server secret/);
  });

  it('refuses a stored public key that does not match the sealed private key', async () => {
    await ring().ensureSigningKey();
    const row = [...store.rows.values()][0];
    if (!row) throw new Error('no key stored');
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    store.rows.set(row.id, {
      ...row,
      publicJwk: { ...(await exportJWK(publicKey)), kid: row.id, alg: 'RS256', use: 'sig' },
    });
    await expect(ring().load()).rejects.toThrow(/does not match its private key/);
  });
});

describe('several processes on one store', () => {
  it('a second ring sees keys written by the first after load()', async () => {
    const a = ring();
    const b = ring();
    await a.ensureSigningKey();
    await b.load();
    expect(kids(b)).toEqual(kids(a));
    const next = await a.rotate();
    expect(kids(b)).not.toContain(next.id);
    await b.load();
    expect(kids(b)).toContain(next.id);
    at(next.activatesAt);
    expect(kidOf(await b.sign(claims(), 'JWT'))).toBe(next.id);
  });

  it('verify() of an unknown kid reloads the store once, at most every 5 s', async () => {
    const a = ring();
    const b = ring();
    await a.ensureSigningKey();
    await b.load();
    const next = await a.rotate();
    at(next.activatesAt);
    const token = await a.sign(claims(), 'JWT');
    expect(kidOf(token)).toBe(next.id);

    const before = store.listCalls;
    await expect(b.verify(token, { issuer, clockToleranceSeconds: tolerance })).resolves.toBeDefined();
    expect(store.listCalls).toBe(before + 1);

    // Unknown kids do not hammer the store.
    const forged = async (kid: string) => {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
    };
    const c = ring();
    await c.load();
    const afterLoad = store.listCalls;
    await expect(
      c.verify(await forged('snk_unknown1'), { issuer, clockToleranceSeconds: tolerance }),
    ).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(
      c.verify(await forged('snk_unknown2'), { issuer, clockToleranceSeconds: tolerance }),
    ).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(store.listCalls).toBe(afterLoad + 1);
    advance(5000);
    await expect(
      c.verify(await forged('snk_unknown3'), { issuer, clockToleranceSeconds: tolerance }),
    ).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(store.listCalls).toBe(afterLoad + 2);
  });
});

describe('verify rejects', () => {
  let keyRing: KeyRing;
  let token: string;
  const options = { issuer, audience: 'webc_1', typ: 'at+jwt', clockToleranceSeconds: tolerance };

  beforeEach(async () => {
    keyRing = ring();
    await keyRing.ensureSigningKey();
    token = await keyRing.sign(claims(), 'at+jwt');
  });

  it('accepts the untouched token (so the rejections below are meaningful)', async () => {
    await expect(keyRing.verify(token, options)).resolves.toBeDefined();
  });

  it('a tampered signature', async () => {
    const [h, p, s = ''] = token.split('.');
    const i = Math.floor(s.length / 2);
    const bad = `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    await expect(keyRing.verify(bad, options)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('a tampered payload', async () => {
    const [h, , s] = token.split('.');
    const bad = `${h}.${b64({ ...claims(), sub: 'usr_admin' })}.${s}`;
    await expect(keyRing.verify(bad, options)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  it('a wrong issuer, audience or typ', async () => {
    await expect(keyRing.verify(token, { ...options, issuer: 'https://evil.test' })).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'iss',
    });
    await expect(keyRing.verify(token, { ...options, audience: 'webc_2' })).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'aud',
    });
    await expect(keyRing.verify(token, { ...options, typ: 'JWT' })).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'typ',
    });
  });

  it('an expired token, beyond the clock tolerance', async () => {
    advance(300_000 + tolerance * 1000 - 1000);
    await expect(keyRing.verify(token, options)).resolves.toBeDefined();
    advance(1000);
    await expect(keyRing.verify(token, options)).rejects.toBeInstanceOf(errors.JWTExpired);
  });

  it('an "alg": "none" token (RFC 7518 §3.6)', async () => {
    const kid = keyRing.describe()[0]?.id;
    const none = `${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${b64(claims())}.`;
    await expect(keyRing.verify(none, options)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
  });

  it('an HS256 token keyed with the RSA public key (algorithm confusion)', async () => {
    const jwk = keyRing.jwks().keys[0] as JWK;
    const pem = await exportSPKI((await importJWK(jwk, 'RS256')) as CryptoKey);
    for (const secret of [pem, JSON.stringify(jwk), jwk.n ?? '']) {
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: 'at+jwt' })
        .sign(new TextEncoder().encode(secret));
      await expect(keyRing.verify(forged, options)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
    }
  });

  it("an allowed alg that is not the key's alg", async () => {
    const kid = keyRing.describe()[0]?.id;
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .sign(privateKey);
    await expect(keyRing.verify(forged, options)).rejects.toBeInstanceOf(errors.JOSEAlgNotAllowed);
  });

  it('a token without a kid', async () => {
    const [, p, s] = token.split('.');
    await expect(
      keyRing.verify(`${b64({ alg: 'RS256', typ: 'at+jwt' })}.${p}.${s}`, options),
    ).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });
});

describe('verify with allowExpired (id_token_hint at logout)', () => {
  let keyRing: KeyRing;
  let idToken: string;
  const options = {
    issuer,
    audience: 'webc_1',
    typ: 'JWT',
    clockToleranceSeconds: tolerance,
    allowExpired: true,
  };

  beforeEach(async () => {
    keyRing = ring();
    await keyRing.ensureSigningKey();
    idToken = await keyRing.sign(claims(300), 'JWT');
    advance(86_400_000);
  });

  it('accepts an expired token only when asked', async () => {
    const { payload, protectedHeader } = await keyRing.verify(idToken, options);
    expect(payload.sub).toBe('usr_1');
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    await expect(keyRing.verify(idToken, { ...options, allowExpired: false })).rejects.toBeInstanceOf(
      errors.JWTExpired,
    );
  });

  it('still checks the signature, issuer, audience and typ', async () => {
    const [h, , s] = idToken.split('.');
    await expect(keyRing.verify(`${h}.${b64({ ...claims(), exp: 1 })}.${s}`, options)).rejects.toBeInstanceOf(
      errors.JWSSignatureVerificationFailed,
    );
    await expect(keyRing.verify(idToken, { ...options, issuer: 'https://evil.test' })).rejects.toMatchObject({
      claim: 'iss',
    });
    await expect(keyRing.verify(idToken, { ...options, audience: 'webc_2' })).rejects.toMatchObject({
      claim: 'aud',
    });
    await expect(keyRing.verify(idToken, { ...options, typ: 'logout+jwt' })).rejects.toMatchObject({
      claim: 'typ',
    });
  });
});

describe('describe()', () => {
  it('lists keys oldest first with pending / active / retired status', async () => {
    const keyRing = ring({ alg: 'ES256' });
    await keyRing.ensureSigningKey();
    const next = await keyRing.rotate();
    expect(keyRing.describe()).toEqual([
      expect.objectContaining({ alg: 'ES256', status: 'active', retiresAt: next.activatesAt }),
      expect.objectContaining({
        id: next.id,
        alg: 'ES256',
        status: 'pending',
        retiresAt: null,
        expiresAt: null,
      }),
    ]);
    at(next.activatesAt);
    expect(keyRing.describe().map((key) => key.status)).toEqual(['retired', 'active']);
  });
});
