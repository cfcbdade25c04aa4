// Who may call the management API, and how both forms share one port (spec: management.md,
// "Authentication": a bearer token from client_credentials by an app allowed management access,
// anything else 401 / UNAUTHENTICATED; "HTTP/1.1 and HTTP/2 share one port").
import http2 from 'node:http2';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { ErrorInfoSchema } from '../../src/management/gen/scalekit/v1/errdetails/errdetails_pb.ts';
import {
  ListOrganizationsRequestSchema,
  OrganizationService,
} from '../../src/management/gen/scalekit/v1/organizations/organizations_pb.ts';
import { listen, type RunningServer } from '../../src/node-server.ts';
import { unavailableMark } from '../../src/protocol/errors.ts';
import { Agent, signInAndExchange } from '../support/agent.ts';
import type { RegisteredClient } from '../support/server.ts';
import {
  auditCount,
  callApi,
  clientCredentialsToken,
  expectStatusError,
  grpc,
  type ManagementServer,
  startManagementServer,
} from './management-helpers.ts';

let m: ManagementServer;
let running: RunningServer;
let base: string;

beforeAll(async () => {
  m = await startManagementServer();
  running = await listen(createApp(m.server.ctx), { port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${running.port}`;
});
afterAll(async () => {
  await running.close();
  await m.close();
});

const unauthenticated = { status: 401, code: grpc.Unauthenticated, errorCode: 'UNAUTHENTICATED' };

async function registerManager(
  over: { type?: 'web' | 'm2m'; allowManagementApi?: boolean } = {},
): Promise<RegisteredClient> {
  const type = over.type ?? 'web';
  return m.server.registerClient({
    type,
    name: 'Another Backend',
    ...(type === 'web' ? { redirectUris: ['http://localhost:4100/callback'] } : {}),
    ...(over.allowManagementApi === undefined ? {} : { allowManagementApi: over.allowManagementApi }),
  });
}

const tokens: Array<{
  name: string;
  token: () => Promise<string | null>;
  header?: (t: string | null) => string;
}> = [
  { name: 'no Authorization header', token: async () => null },
  { name: 'a garbage bearer token', token: async () => 'not.a.jwt' },
  { name: 'an empty bearer token', token: async () => '', header: () => 'Bearer ' },
  {
    name: 'Basic credentials instead of a token',
    token: async () => null,
    header: () => `Basic ${Buffer.from(`${m.app.id}:${m.app.secret}`).toString('base64')}`,
  },
  {
    name: 'a user’s access token (its subject is the user)',
    token: async () => (await signInAndExchange(new Agent(), m.server))['access_token'] as string,
  },
  {
    name: 'a user’s ID token',
    token: async () => (await signInAndExchange(new Agent(), m.server))['id_token'] as string,
  },
  {
    name: 'a token signed by another key',
    token: async () =>
      new SignJWT({ client_id: m.app.id, sub: m.app.id, iss: m.server.config.envUrl })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('x'.repeat(32))),
  },
  {
    name: 'a machine token of an app no longer allowed the management API',
    token: async () => {
      const app = await registerManager({ allowManagementApi: true });
      const token = await clientCredentialsToken(m.server, app);
      await m.server.store.clients.update(app.id, { allowManagementApi: false });
      return token;
    },
  },
  {
    name: 'a machine token of a deleted app',
    token: async () => {
      const app = await registerManager({ type: 'm2m' });
      const token = await clientCredentialsToken(m.server, app);
      await m.server.store.clients.delete(app.id);
      return token;
    },
  },
];

describe('authentication (REST)', () => {
  it.each(tokens)('$name → 401 UNAUTHENTICATED with WWW-Authenticate: Bearer', async (row) => {
    const before = await auditCount(m.server);
    const token = await row.token();
    const headers: Record<string, string> = row.header ? { authorization: row.header(token) } : {};
    const res = await callApi(
      m.server.url,
      row.header ? null : token,
      'POST',
      '/api/v1/organizations',
      { display_name: 'X' },
      { headers },
    );
    expectStatusError(res, unauthenticated);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await auditCount(m.server)).toBe(before);
  });

  it('an expired machine token → 401', async () => {
    const app = await registerManager({ type: 'm2m' });
    const token = await clientCredentialsToken(m.server, app);
    const later = m.server.config.machineTokenTtl + m.server.config.clockTolerance + 1;
    m.server.clock.advance(later);
    try {
      expectStatusError(await callApi(m.server.url, token, 'GET', '/api/v1/organizations'), unauthenticated);
    } finally {
      // The other tests' tokens stay valid.
      m.server.clock.advance(-later);
    }
  });

  it('a web app not allowed the management API gets no machine token at all', async () => {
    const res = await fetch(`${m.server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: m.server.web.id,
        client_secret: m.server.web.secret ?? '',
      }).toString(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('unauthorized_client');
  });

  it('a machine app (m2m) and a web app allowed the management API are accepted', async () => {
    const m2m = await clientCredentialsToken(m.server, m.server.m2m);
    expect((await callApi(m.server.url, m2m, 'GET', '/api/v1/organizations')).status).toBe(200);
    expect((await m.api('GET', '/api/v1/organizations')).status).toBe(200);
    const res = await callApi(m.server.url, m2m, 'POST', '/api/v1/organizations', {
      display_name: 'By machine',
    });
    expect(res.status).toBe(201);
    const events = (await m.server.store.audit.list({ limit: 1000 })).items;
    expect(events.at(-1)?.actor).toBe(m.server.m2m.id);
  });
});

describe('authentication (gRPC)', () => {
  const grpcClient = () => createClient(OrganizationService, createGrpcTransport({ baseUrl: base }));
  const list = (headers: Record<string, string>) =>
    grpcClient().listOrganization(create(ListOrganizationsRequestSchema, {}), { headers });

  it('a call without a token fails UNAUTHENTICATED with an ErrorInfo detail', async () => {
    const error = await list({}).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
    expect((error as ConnectError).findDetails(ErrorInfoSchema)[0]?.errorCode).toBe('UNAUTHENTICATED');
  });

  it('a user’s access token fails UNAUTHENTICATED', async () => {
    const user = (await signInAndExchange(new Agent(), m.server))['access_token'] as string;
    const error = await list({ authorization: `Bearer ${user}` }).catch((err: unknown) => err);
    expect((error as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it('the management app’s machine token is accepted', async () => {
    const token = await clientCredentialsToken(m.server, m.app);
    const res = await list({ authorization: `Bearer ${token}` });
    expect(res.organizations.map((o) => o.id)).toContain(m.server.user.organizationId);
  });
});

describe('one port, two protocols', () => {
  function h2Request(
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(base);
      session.on('error', reject);
      const req = session.request({
        ':path': path,
        ':method': body === undefined ? 'GET' : 'POST',
        ...headers,
      });
      let status = 0;
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        status = Number(h[':status']);
        responseHeaders = h;
      });
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        session.close();
        resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks).toString('utf8') });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  it('HTTP/1.1 requests on the port reach the OAuth endpoints', async () => {
    const res = await fetch(`${base}/keys`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
  });

  it('an HTTP/2 (prior knowledge) request that is not gRPC reaches the same app', async () => {
    const res = await h2Request('/keys');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).keys.length).toBeGreaterThan(0);
  });

  it('the REST form works over HTTP/2 too', async () => {
    const res = await h2Request('/api/v1/organizations', { authorization: `Bearer ${m.token}` });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).organizations.length).toBeGreaterThan(0);
  });

  it('a gRPC call to a method Sesame does not serve answers UNIMPLEMENTED', async () => {
    const res = await h2Request(
      '/scalekit.v1.organizations.OrganizationService/GeneratePortalLink',
      { 'content-type': 'application/grpc', te: 'trailers', authorization: `Bearer ${m.token}` },
      '',
    );
    expect(res.status).toBe(200);
    expect(res.headers['grpc-status']).toBe(String(Code.Unimplemented));
  });

  it('close() stops the listener and ends open HTTP/2 sessions', async () => {
    const other = await listen(createApp(m.server.ctx), { port: 0, host: '127.0.0.1' });
    const session = http2.connect(`http://127.0.0.1:${other.port}`);
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    await other.close();
    await closed;
    await expect(fetch(`http://127.0.0.1:${other.port}/keys`)).rejects.toThrow();
  });
});

describe('failures that are not the caller’s', () => {
  it('an unexpected error is Internal (500, code 13) with nothing of the cause on the wire, which is logged', async () => {
    const store = m.server.store.organizations;
    const original = store.list.bind(store);
    store.list = async () => {
      throw new Error('disk on fire at /var/secret/path');
    };
    try {
      const res = await m.api('GET', '/api/v1/organizations');
      expectStatusError(res, { status: 500, code: 13, errorCode: 'INTERNAL' });
      expect(JSON.stringify(res.body)).not.toContain('disk on fire');
      expect(m.server.logs.some((line) => line.includes('disk on fire'))).toBe(true);
      const error = await createClient(OrganizationService, createGrpcTransport({ baseUrl: base }))
        .listOrganization({}, { headers: { authorization: `Bearer ${m.token}` } })
        .catch((err: unknown) => err);
      expect((error as ConnectError).code).toBe(Code.Internal);
      expect((error as ConnectError).rawMessage).not.toContain('disk on fire');
    } finally {
      store.list = original;
    }
  });

  it('a storage outage is Unavailable (503, code 14) with Retry-After', async () => {
    const store = m.server.store.organizations;
    const original = store.list.bind(store);
    store.list = async () => {
      throw Object.assign(new Error('connection refused'), { [unavailableMark]: true });
    };
    try {
      const res = await m.api('GET', '/api/v1/organizations');
      expectStatusError(res, { status: 503, code: 14, errorCode: 'UNAVAILABLE' });
      expect(res.headers.get('retry-after')).toBe('5');
    } finally {
      store.list = original;
    }
  });

  it('a body over the size limit is refused in the management error format', async () => {
    const res = await m.api('POST', '/api/v1/organizations', { display_name: 'x'.repeat(70 * 1024) });
    expectStatusError(res, {
      status: 400,
      code: grpc.InvalidArgument,
      errorCode: 'INVALID_ARGUMENT',
      field: '(body)',
    });
  });

  it('unknown paths under /api answer the management error format', async () => {
    expectStatusError(await m.api('GET', '/api/v2/organizations'), {
      status: 404,
      code: grpc.NotFound,
      errorCode: 'NOT_FOUND',
    });
  });
});
