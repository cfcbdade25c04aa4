// Key rotation (spec: "GET /keys and discovery"): a new key is published at least one JWKS max-age
// before it signs anything; a retired key stays published until every token it signed has expired;
// rotation runs on a schedule (runUpkeep) and by command, never on the request path.
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyRing } from '../../src/assemble.ts';
import { runUpkeep } from '../../src/jobs.ts';
import { Agent, signInAndExchange, tokenRequest } from '../support/agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function publishedKids(s: TestServer): Promise<string[]> {
  const res = await fetch(`${s.url}/keys`);
  expect(res.status).toBe(200);
  const jwks = (await res.json()) as { keys: Array<{ kid: string }> };
  return jwks.keys.map((k) => k.kid);
}

async function keySet(s: TestServer) {
  return createLocalJWKSet((await (await fetch(`${s.url}/keys`)).json()) as JSONWebKeySet);
}

/** A fresh machine token and the kid that signed it. */
async function machineToken(s: TestServer): Promise<{ token: string; kid: string; exp: number }> {
  const { status, body } = await tokenRequest(s, {
    grant_type: 'client_credentials',
    client_id: s.m2m.id,
    client_secret: s.m2m.secret ?? '',
  });
  expect(status).toBe(200);
  const token = body['access_token'] as string;
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    exp: number;
  };
  return { token, kid: decodeProtectedHeader(token).kid as string, exp: payload.exp };
}

function nowSeconds(s: TestServer): number {
  return Math.floor(s.clock.now().getTime() / 1000);
}

describe('rotation by command: server.ctx.keys.rotate() (RFC 7517 §5, spec: "published at least one max-age before it signs")', () => {
  it('publishes the new key at once but keeps signing with the old kid until 60 s pass', async () => {
    server = await startTestServer();
    const [oldKid] = await publishedKids(server);
    if (!oldKid) throw new Error('no key');
    expect(await publishedKids(server)).toHaveLength(1);

    const next = await server.ctx.keys.rotate();
    expect(next.id).toMatch(/^snk_/);
    expect(next.id).not.toBe(oldKid);
    expect(await publishedKids(server)).toEqual(expect.arrayContaining([oldKid, next.id]));
    expect(await publishedKids(server)).toHaveLength(2);

    expect((await machineToken(server)).kid).toBe(oldKid);
    const idToken = (await signInAndExchange(new Agent(), server))['id_token'] as string;
    expect(decodeProtectedHeader(idToken).kid).toBe(oldKid);

    server.clock.advance(59);
    expect((await machineToken(server)).kid).toBe(oldKid);

    server.clock.advance(1);
    expect((await machineToken(server)).kid).toBe(next.id);
    const newIdToken = (await signInAndExchange(new Agent(), server))['id_token'] as string;
    expect(decodeProtectedHeader(newIdToken).kid).toBe(next.id);
  });

  it('rotating again while a key is pending publishes no third key', async () => {
    server = await startTestServer();
    const first = await server.ctx.keys.rotate();
    const second = await server.ctx.keys.rotate();
    expect(second.id).toBe(first.id);
    expect(await publishedKids(server)).toHaveLength(2);
  });

  it('tokens signed by the old key still verify against /keys, and at the server, after the switch', async () => {
    server = await startTestServer();
    const tokens = await signInAndExchange(new Agent(), server);
    const accessToken = tokens['access_token'] as string;
    const idToken = tokens['id_token'] as string;
    const oldKid = decodeProtectedHeader(idToken).kid;
    const next = await server.ctx.keys.rotate();
    server.clock.advance(61);
    expect((await machineToken(server)).kid).toBe(next.id);

    const jwks = await keySet(server);
    const { protectedHeader } = await jwtVerify(idToken, jwks, {
      issuer: server.url,
      audience: server.web.id,
      currentDate: server.clock.now(),
    });
    expect(protectedHeader.kid).toBe(oldKid);
    await jwtVerify(accessToken, jwks, { issuer: server.url, currentDate: server.clock.now() });
    const userinfo = await fetch(`${server.url}/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.status).toBe(200);
  });

  it('the retired key stays published until its last token expires, then leaves /keys', async () => {
    server = await startTestServer();
    const [oldKid] = await publishedKids(server);
    const next = await server.ctx.keys.rotate();
    // The last token the old key signs: a day-long machine token, one second before the switch.
    server.clock.advance(59);
    const last = await machineToken(server);
    expect(last.kid).toBe(oldKid);
    server.clock.advance(1);

    // One second before that token expires, /keys still lets anyone verify it.
    server.clock.advance(last.exp - nowSeconds(server) - 1);
    expect(await publishedKids(server)).toContain(oldKid);
    const verified = await jwtVerify(last.token, await keySet(server), {
      issuer: server.url,
      currentDate: server.clock.now(),
    });
    expect(verified.protectedHeader.kid).toBe(oldKid);

    // Retirement + 86400 s (longest token) + 60 s tolerance: still published just before…
    const retiredAt = next.activatesAt.getTime() / 1000;
    server.clock.advance(retiredAt + 86400 + 60 - nowSeconds(server) - 1);
    expect(await publishedKids(server)).toContain(oldKid);
    // …and gone after.
    server.clock.advance(2);
    expect(await publishedKids(server)).toEqual([next.id]);
    expect((await machineToken(server)).kid).toBe(next.id);
  });

  it('a key another node wrote is published after the next upkeep and then signs here too', async () => {
    server = await startTestServer();
    const [oldKid] = await publishedKids(server);
    const otherNode = createKeyRing(server.config, server.store);
    await otherNode.load();
    const next = await otherNode.rotate();
    await runUpkeep(server.ctx);
    expect(await publishedKids(server)).toEqual(expect.arrayContaining([oldKid, next.id]));
    expect((await machineToken(server)).kid).toBe(oldKid);
    server.clock.advance(60);
    expect((await machineToken(server)).kid).toBe(next.id);
  });
});

describe('scheduled rotation: runUpkeep (spec: "Rotation runs on a schedule … never on the request path")', () => {
  it('rotates once the signing key is older than SESAME_KEY_ROTATION_DAYS, pre-publishing the new key', async () => {
    server = await startTestServer({ env: { SESAME_KEY_ROTATION_DAYS: '1' } });
    const [oldKid] = await publishedKids(server);

    await runUpkeep(server.ctx);
    expect(await publishedKids(server)).toEqual([oldKid]);

    server.clock.advance(86400 - 1);
    await runUpkeep(server.ctx);
    expect(await publishedKids(server)).toEqual([oldKid]);

    server.clock.advance(2);
    await runUpkeep(server.ctx);
    const kids = await publishedKids(server);
    expect(kids).toHaveLength(2);
    expect(kids).toContain(oldKid);
    const newKid = kids.find((k) => k !== oldKid);
    expect(server.logs.some((line) => line.includes('signing key rotation scheduled'))).toBe(true);

    // Published, not yet signing; a second upkeep adds nothing.
    expect((await machineToken(server)).kid).toBe(oldKid);
    await runUpkeep(server.ctx);
    expect(await publishedKids(server)).toHaveLength(2);

    server.clock.advance(60);
    expect((await machineToken(server)).kid).toBe(newKid);
  });

  it('a due rotation does not happen on the request path, only in upkeep', async () => {
    server = await startTestServer({ env: { SESAME_KEY_ROTATION_DAYS: '1' } });
    const [oldKid] = await publishedKids(server);
    server.clock.advance(2 * 86400);
    expect((await machineToken(server)).kid).toBe(oldKid);
    await signInAndExchange(new Agent(), server);
    expect(await publishedKids(server)).toEqual([oldKid]);
    expect(await server.ctx.store.keys.list()).toHaveLength(1);
    await runUpkeep(server.ctx);
    expect(await server.ctx.store.keys.list()).toHaveLength(2);
  });

  it('SESAME_KEY_ROTATION_DAYS=0 never rotates', async () => {
    server = await startTestServer({ env: { SESAME_KEY_ROTATION_DAYS: '0' } });
    server.clock.advance(3650 * 86400);
    await runUpkeep(server.ctx);
    expect(await publishedKids(server)).toHaveLength(1);
  });
});
