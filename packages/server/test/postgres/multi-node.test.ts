// Several server processes on one PostgreSQL database behave as one server (spec: "Storage and
// scale": whatever one node writes, every other node honours — codes, sessions, rotations, keys).
// Two real `sesame start` processes share ENV_URL (node 1's address: one environment, one issuer),
// SESAME_SECRET and DATABASE_URL; requests go to either node's own port, as a load balancer would.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/lib/ids.ts';
import {
  Agent,
  type AuthorizeParams,
  authorizationCode,
  openHostedPage,
  submitSignIn,
  tokenRequest,
} from '../support/agent.ts';
import { createDatabase, type FreshDatabase, freePort, query, testCluster } from './cluster.ts';
import { eventually, nodeEnv, type SesameNode, sesame, startNode } from './nodes.ts';

let cluster: { url: string; release(): Promise<void> };
let database: FreshDatabase;
let node1: SesameNode;
let node2: SesameNode;
let issuer: string;
let app: { id: string; secret: string; redirectUri: string; postLogoutRedirectUri: string };
let env: NodeJS.ProcessEnv;
let receiver: Server;
/** Back-channel logout POSTs the receiver got: the `sid` of each logout token. */
const delivered: string[] = [];

const ada = { email: 'ada@example.com', password: 'correct horse battery staple' };
const grace = { email: 'grace@example.com', password: 'a ship in port is safe' };

beforeAll(async () => {
  cluster = await testCluster();
  database = await createDatabase(cluster.url);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (req.method === 'POST' && req.url === '/bc' && token)
        delivered.push(String(decodeJwt(token)['sid']));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverPort = (receiver.address() as AddressInfo).port;

  const [port1, port2] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${port1}`;
  env = nodeEnv({
    DATABASE_URL: database.url,
    ENV_URL: issuer,
    // Upkeep (key reload among it) every second; a rotated key signs at once.
    SESAME_SWEEP_INTERVAL: '1',
    SESAME_JWKS_MAX_AGE: '0',
    SESAME_LOGOUT_DELIVERY_INTERVAL: '1',
    SESAME_SIGNIN_FAILURES_BEFORE_LOCKOUT: '4',
    SESAME_SIGNIN_FAILURES_BEFORE_DELAY: '10',
  });

  // Two CLI processes migrate the empty database at once (the migration lock serialises them).
  const [created] = await Promise.all([
    sesame(
      [
        'apps',
        'create',
        '--type',
        'web',
        '--name',
        'Multi-node app',
        '--redirect-uri',
        'http://localhost:3000/auth/callback',
        '--post-logout-redirect-uri',
        'http://localhost:3000/',
        '--backchannel-logout-uri',
        `http://127.0.0.1:${receiverPort}/bc`,
        '--json',
      ],
      env,
    ),
    sesame(['users', 'create', '--email', ada.email, '--password', ada.password, '--json'], env),
  ]);
  await sesame(['users', 'create', '--email', grace.email, '--password', grace.password, '--json'], env);
  const parsed = JSON.parse(created) as { client_id: string; client_secret: string };
  app = {
    id: parsed.client_id,
    secret: parsed.client_secret,
    redirectUri: 'http://localhost:3000/auth/callback',
    postLogoutRedirectUri: 'http://localhost:3000/',
  };

  // Both nodes start at once on the same database.
  [node1, node2] = await Promise.all([startNode(port1, env), startNode(port2, env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([node1?.stop(), node2?.stop()]);
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await database?.drop();
  await cluster?.release();
});

const params = (): AuthorizeParams => ({
  client_id: app.id,
  redirect_uri: app.redirectUri,
  state: 'st-multi',
  nonce: 'n-multi',
  scope: 'openid profile email offline_access',
});

function exchange(node: SesameNode, code: string) {
  return tokenRequest(node.asServer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: app.redirectUri,
    client_id: app.id,
    client_secret: app.secret,
  });
}

function refresh(node: SesameNode, refreshToken: string) {
  return tokenRequest(node.asServer, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: app.id,
    client_secret: app.secret,
  });
}

/** Signs in through node 1 and exchanges the code at node 1; returns the token response. */
async function signedIn(agent = new Agent()): Promise<{ agent: Agent; tokens: Record<string, unknown> }> {
  const code = await authorizationCode(agent, node1.asServer, params(), ada);
  const { status, body } = await exchange(node1, code);
  expect(status).toBe(200);
  return { agent, tokens: body };
}

describe('two nodes on one database behave as one server', () => {
  it('two nodes that started at once on an empty database agree on one signing key (RFC 7517 §5)', async () => {
    // Both found no key at start; the store let only the first one's in, and the other loaded it.
    const keys = await query<{ id: string }>(database.url, 'SELECT id FROM signing_keys');
    expect(keys).toHaveLength(1);
    const agent = new Agent();
    const fromNode1 = await exchange(node1, await authorizationCode(agent, node1.asServer, params(), ada));
    const fromNode2 = await exchange(node2, await authorizationCode(agent, node1.asServer, params(), ada));
    expect([fromNode1.status, fromNode2.status]).toEqual([200, 200]);
    const kids = [fromNode1, fromNode2].map((r) => decodeProtectedHeader(r.body['id_token'] as string).kid);
    expect(kids).toEqual([keys[0]?.id, keys[0]?.id]);
    for (const node of [node1, node2]) {
      expect(await jwksKids(node)).toEqual([keys[0]?.id]);
      const jwks = createRemoteJWKSet(new URL(`${node.url}/keys`));
      for (const tokens of [fromNode1, fromNode2]) {
        await jwtVerify(tokens.body['id_token'] as string, jwks, { issuer, audience: app.id });
      }
    }
  });

  it('a code issued through node 1 is redeemed at node 2, once (RFC 6749 §4.1.2)', async () => {
    const agent = new Agent();
    const code = await authorizationCode(agent, node1.asServer, params(), ada);

    const first = await exchange(node2, code);
    expect(first.status).toBe(200);
    expect(typeof first.body['refresh_token']).toBe('string');
    const jwks = createRemoteJWKSet(new URL(`${node1.url}/keys`));
    const { payload } = await jwtVerify(first.body['id_token'] as string, jwks, {
      issuer,
      audience: app.id,
    });
    expect(payload['nonce']).toBe('n-multi');

    // The code was consumed in the shared database: node 1 refuses it too.
    const replay = await exchange(node1, code);
    expect(replay.status).toBe(400);
    expect(replay.body['error']).toBe('invalid_grant');
  });

  it('a refresh token rotated at node 1 is refreshed at node 2 (RFC 6749 §6)', async () => {
    const { tokens } = await signedIn();
    const atNode1 = await refresh(node1, tokens['refresh_token'] as string);
    expect(atNode1.status).toBe(200);
    const atNode2 = await refresh(node2, atNode1.body['refresh_token'] as string);
    expect(atNode2.status).toBe(200);
    expect(atNode2.body['refresh_token']).not.toBe(atNode1.body['refresh_token']);
    // And node 1 honours node 2's rotation in turn.
    const back = await refresh(node1, atNode2.body['refresh_token'] as string);
    expect(back.status).toBe(200);
  });

  it('one refresh token presented to both nodes at once: both 200 with the same successor (RFC 9700 §4.14.2)', async () => {
    const { tokens } = await signedIn();
    let current = tokens['refresh_token'] as string;
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([refresh(node1, current), refresh(node2, current)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.body['refresh_token']).toBe(b.body['refresh_token']);
      current = a.body['refresh_token'] as string;
    }
    // Exactly one successor per round was stored: a chain of six, not a tree.
    const rows = await query<{ n: string }>(
      database.url,
      `SELECT count(*) AS n FROM refresh_tokens WHERE grant_id =
         (SELECT grant_id FROM refresh_tokens WHERE token_hash = $1)`,
      [hashSecret(current)],
    );
    expect(Number(rows[0]?.n)).toBe(6);
    const still = await refresh(node2, current);
    expect(still.status).toBe(200);
  });

  it('reuse of a rotated token after the grace window, at node 2, revokes the family on both nodes (RFC 9700 §4.14.2)', async () => {
    const { tokens } = await signedIn();
    const first = tokens['refresh_token'] as string;
    const rotated = await refresh(node1, first);
    expect(rotated.status).toBe(200);
    const successor = rotated.body['refresh_token'] as string;

    // Time passes for this one row only: its rotation is moved 31 s (past the 30 s grace) back.
    await query(
      database.url,
      'UPDATE refresh_tokens SET rotated_at = rotated_at - 31000 WHERE token_hash = $1',
      [hashSecret(first)],
    );
    const reuse = await refresh(node2, first);
    expect(reuse.status).toBe(400);
    expect(reuse.body['error']).toBe('invalid_grant');

    for (const node of [node1, node2]) {
      const res = await refresh(node, successor);
      expect(res.status).toBe(400);
      expect(res.body['error']).toBe('invalid_grant');
    }
    const grants = await query<{ revoked_at: string | null }>(
      database.url,
      'SELECT g.revoked_at FROM grants g JOIN refresh_tokens r ON r.grant_id = g.id WHERE r.token_hash = $1',
      [hashSecret(successor)],
    );
    expect(grants[0]?.revoked_at).not.toBeNull();
  });

  it('a key rotated with `sesame keys rotate` is served by node 2 and signs tokens both nodes verify (RFC 7517 §5)', async () => {
    const before = await jwksKids(node2);
    const out = await sesame(['keys', 'rotate'], env);
    const kid = /Published (\S+)/.exec(out)?.[1];
    expect(kid).toMatch(/^snk_/);
    expect(before).not.toContain(kid);

    // Each node reloads keys on its upkeep timer (every second here).
    for (const node of [node2, node1]) {
      await eventually(`${node.url}/keys to list ${kid}`, async () =>
        (await jwksKids(node)).includes(kid as string) ? true : undefined,
      );
    }

    // Signed in through node 1, tokens minted at node 2: the new key signs them.
    const agent = new Agent();
    const code = await authorizationCode(agent, node1.asServer, params(), ada);
    const { status, body } = await exchange(node2, code);
    expect(status).toBe(200);
    expect(decodeProtectedHeader(body['id_token'] as string).kid).toBe(kid);
    expect(decodeProtectedHeader(body['access_token'] as string).kid).toBe(kid);
    for (const node of [node1, node2]) {
      const jwks = createRemoteJWKSet(new URL(`${node.url}/keys`));
      await jwtVerify(body['id_token'] as string, jwks, { issuer, audience: app.id });
      // The other node accepts the access token at its own endpoint.
      const userinfo = await fetch(`${node.url}/userinfo`, {
        headers: { authorization: `Bearer ${body['access_token']}` },
      });
      expect(userinfo.status).toBe(200);
      expect(((await userinfo.json()) as Record<string, unknown>)['email']).toBe(ada.email);
    }
  });

  it('each back-channel logout is delivered exactly once although both nodes run delivery workers (OIDC Back-Channel Logout 1.0 §2.5)', async () => {
    delivered.length = 0;
    const browsers = await Promise.all([1, 2, 3, 4, 5].map(() => signedIn()));
    const sids = browsers.map(({ tokens }) => String(decodeJwt(tokens['id_token'] as string)['sid']));
    expect(new Set(sids).size).toBe(5);

    // Half the logouts at node 1, half at node 2: each node wakes its own worker, the other polls.
    await Promise.all(
      browsers.map(async ({ agent, tokens }, i) => {
        const node = i % 2 === 0 ? node1 : node2;
        const url = new URL(`${node.url}/oidc/logout`);
        url.searchParams.set('id_token_hint', tokens['id_token'] as string);
        url.searchParams.set('post_logout_redirect_uri', app.postLogoutRedirectUri);
        const res = await agent.fetch(url.toString());
        expect(res.status).toBe(303);
      }),
    );

    // Settled in the database: a delivered row is never claimed again.
    const rows = await eventually('five delivered back-channel logouts', async () => {
      const found = await query<{ session_id: string; status: string; attempts: number }>(
        database.url,
        'SELECT session_id, status, attempts FROM logout_deliveries WHERE session_id = ANY($1)',
        [sids],
      );
      return found.length === 5 && found.every((r) => r.status === 'delivered') ? found : undefined;
    });
    // One claim each (attempts counts claims), and one POST each at the receiver.
    expect(rows.map((r) => r.attempts)).toEqual([1, 1, 1, 1, 1]);
    expect([...delivered].sort()).toEqual([...sids].sort());
  });

  it('sign-in failures count across nodes: 2 at node 1 + 2 at node 2 lock the account at both (spec: rate limits)', async () => {
    const attempt = async (node: SesameNode, password: string) => {
      const agent = new Agent();
      const { html } = await openHostedPage(agent, node.asServer, params());
      return submitSignIn(agent, node.asServer, html, { email: grace.email, password });
    };
    for (const node of [node1, node1, node2, node2]) {
      expect((await attempt(node, 'not the password')).status).toBe(401);
    }
    // Even the right password is refused now, whichever node is asked.
    for (const node of [node1, node2]) {
      const res = await attempt(node, grace.password);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('a sign-in started at node 1 is finished at node 2 (interaction and CSRF state are shared)', async () => {
    const agent = new Agent();
    const { html } = await openHostedPage(agent, node1.asServer, params());
    const res = await submitSignIn(agent, node2.asServer, html, ada);
    // The answer leads on to the client with a code, whichever node resumes the request.
    let current = res;
    for (let hops = 0; hops < 5 && !current.headers.get('location')?.startsWith(app.redirectUri); hops++) {
      const location = current.headers.get('location');
      expect(location, `stopped at ${current.status}`).toBeTruthy();
      current = await agent.fetch(new URL(location as string, node2.url).toString());
    }
    const code = new URL(current.headers.get('location') as string).searchParams.get('code');
    expect(code).toBeTruthy();
    expect((await exchange(node1, code as string)).status).toBe(200);
  });
});

async function jwksKids(node: SesameNode): Promise<string[]> {
  const res = await fetch(`${node.url}/keys`);
  const body = (await res.json()) as { keys: Array<{ kid: string }> };
  return body.keys.map((k) => k.kid);
}
