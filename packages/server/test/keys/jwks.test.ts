// `GET /keys` (spec: "GET /keys and discovery"): a JWK Set of public keys only (RFC 7517 §5,
// RFC 7518 §6.3.1), cacheable for the configured max-age, and private keys sealed at rest with a key
// derived from the server secret.
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKey, SealError, unseal } from '../../src/keys/secret-box.ts';
import { Agent, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const privateMembers = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

async function getJwks(): Promise<{ res: Response; jwks: { keys: Array<Record<string, unknown>> } }> {
  const res = await fetch(`${server.url}/keys`);
  expect(res.status).toBe(200);
  return { res, jwks: (await res.json()) as { keys: Array<Record<string, unknown>> } };
}

describe('GET /keys (RFC 7517 §5)', () => {
  it('publishes RSA public keys with kty, kid (snk_…), use "sig", alg, n and e', async () => {
    const { jwks } = await getJwks();
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key['kty']).toBe('RSA');
      expect(key['kid']).toMatch(/^snk_[A-Za-z0-9]+$/);
      expect(key['use']).toBe('sig');
      expect(key['alg']).toBe('RS256');
      expect(key['n']).toMatch(/^[A-Za-z0-9_-]{300,}$/);
      expect(key['e']).toBe('AQAB');
    }
  });

  it('never publishes a private member (RFC 7518 §6.3.2: d, p, q, dp, dq, qi)', async () => {
    const { jwks } = await getJwks();
    for (const key of jwks.keys) {
      for (const member of privateMembers) expect(key, member).not.toHaveProperty(member);
    }
  });

  it('is cacheable for SESAME_JWKS_MAX_AGE seconds: Cache-Control: public, max-age=60', async () => {
    const { res } = await getJwks();
    expect(res.headers.get('cache-control')).toBe('public, max-age=60');
    expect(res.headers.get('content-type')).toMatch(/^application\/(jwk-set\+)?json/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('every token the server signs names a published kid and verifies against /keys (RFC 7515 §4.1.4)', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const machine = await tokenRequest(server, {
      grant_type: 'client_credentials',
      client_id: server.m2m.id,
      client_secret: server.m2m.secret ?? '',
    });
    const { jwks } = await getJwks();
    const kids = jwks.keys.map((k) => k['kid']);
    const keySet = createLocalJWKSet(jwks as JSONWebKeySet);
    const signed = [
      [tokens['id_token'], 'JWT'],
      [tokens['access_token'], 'at+jwt'],
      [machine.body['access_token'], 'at+jwt'],
    ] as const;
    for (const [token, typ] of signed) {
      const header = decodeProtectedHeader(token as string);
      expect(header.typ).toBe(typ);
      expect(kids).toContain(header.kid);
      await jwtVerify(token as string, keySet, {
        issuer: server.url,
        typ,
        algorithms: ['RS256'],
        currentDate: server.clock.now(),
      });
    }
  });

  it('a token whose signature was altered does not verify against /keys', async () => {
    const tokens = await signInAndExchange(new Agent(), server);
    const [h, p, s] = (tokens['id_token'] as string).split('.') as [string, string, string];
    const forged = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    const keySet = createLocalJWKSet((await getJwks()).jwks as JSONWebKeySet);
    await expect(jwtVerify(forged, keySet, { currentDate: server.clock.now() })).rejects.toThrow(
      /signature/i,
    );
  });
});

describe('private keys at rest (spec: "encrypted at rest with a key derived from the server secret")', () => {
  it('stores each private key as a compact JWE (dir + A256GCM), never as a plaintext JWK', async () => {
    const rows = await server.ctx.store.keys.list();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) {
      const sealed = row.privateJwkEncrypted;
      const parts = sealed.split('.');
      expect(parts).toHaveLength(5);
      const header = JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      expect(header).toEqual({ alg: 'dir', enc: 'A256GCM' });
      // `dir` has an empty encrypted key; the IV, ciphertext and tag are present.
      expect(parts[1]).toBe('');
      expect((parts[2] as string).length).toBeGreaterThan(0);
      expect((parts[3] as string).length).toBeGreaterThan(1000);
      expect((parts[4] as string).length).toBeGreaterThan(0);
      // No recognisable JWK material: not the public modulus, not a JSON member name.
      expect(sealed).not.toContain(row.publicJwk['n'] as string);
      expect(sealed).not.toContain('"d"');
      expect(sealed).not.toContain('{');
      expect(row.publicJwk).not.toHaveProperty('d');
    }
  });

  it('opens only with the key derived from this server secret, and then holds the private key', async () => {
    const [row] = await server.ctx.store.keys.list();
    if (!row) throw new Error('no key');
    const opened = await unseal<Record<string, unknown>>(
      row.privateJwkEncrypted,
      deriveKey(server.config.secret, 'signing-keys'),
    );
    expect(opened['kid']).toBe(row.id);
    expect(opened['n']).toBe(row.publicJwk['n']);
    expect(typeof opened['d']).toBe('string');
    await expect(
      unseal(row.privateJwkEncrypted, deriveKey(`${server.config.secret}-other`, 'signing-keys')),
    ).rejects.toBeInstanceOf(SealError);
    // A key derived for another purpose from the same secret does not open it either.
    await expect(
      unseal(row.privateJwkEncrypted, deriveKey(server.config.secret, 'sealed-responses')),
    ).rejects.toBeInstanceOf(SealError);
  });
});
