// With a TLS certificate configured, one port serves HTTPS: ALPN picks HTTP/2 (gRPC, the management
// API's SDK form) or HTTP/1.1 (everything else), as the issue asks ("ALPN when TLS is configured").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import { createApp } from '../../src/http/app.ts';
import { OrganizationService } from '../../src/management/gen/scalekit/v1/organizations/organizations_pb.ts';
import { listen, type RunningServer } from '../../src/node-server.ts';
import { type ManagementServer, startManagementServer } from './management-helpers.ts';

let dir: string;
let cert: Buffer;
let key: Buffer;
let m: ManagementServer;
let running: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'));
  key = readFileSync(join(dir, 'key.pem'));
  m = await startManagementServer();
  running = await listen(createApp(m.server.ctx), { port: 0, host: '127.0.0.1', tls: { cert, key } });
});
afterAll(async () => {
  await running?.close();
  await m?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS on the shared port', () => {
  it('HTTP/1.1 over TLS (ALPN http/1.1) reaches the app', async () => {
    const { status, protocol } = await new Promise<{ status: number; protocol: string | false | null }>(
      (resolve, reject) => {
        const options: https.RequestOptions & ConnectionOptions = {
          host: '127.0.0.1',
          port: running.port,
          path: '/keys',
          ca: cert,
          ALPNProtocols: ['http/1.1'],
        };
        const req = https.get(options, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, protocol: (res.socket as TLSSocket).alpnProtocol });
        });
        req.on('error', reject);
      },
    );
    expect(status).toBe(200);
    expect(protocol).toBe('http/1.1');
  });

  it('HTTP/2 over TLS (ALPN h2) serves both the app and gRPC', async () => {
    const session = http2.connect(`https://127.0.0.1:${running.port}`, { ca: cert });
    const status = await new Promise<number>((resolve, reject) => {
      const req = session.request({ ':path': '/keys' });
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    expect(session.alpnProtocol).toBe('h2');
    session.close();

    const client = createClient(
      OrganizationService,
      createGrpcTransport({ baseUrl: `https://127.0.0.1:${running.port}`, nodeOptions: { ca: cert } }),
    );
    const res = await client.listOrganization({}, { headers: { authorization: `Bearer ${m.token}` } });
    expect(res.organizations.map((o) => o.id)).toContain(m.server.user.organizationId);
  });

  it('SESAME_TLS_CERT without SESAME_TLS_KEY is a configuration error naming both', async () => {
    const err: string[] = [];
    const code = await runCli(
      ['start', '--port', '0'],
      {
        ENV_URL: 'http://localhost:8080',
        SESAME_SECRET: 'tls-test-secret-tls-test-secret-0123456789',
        DATABASE_URL: ':memory:',
        SESAME_TLS_CERT: join(dir, 'cert.pem'),
      },
      { out: () => undefined, err: (line) => err.push(line) },
    );
    expect(code).toBe(1);
    expect(err.join('\n')).toContain('SESAME_TLS_CERT and SESAME_TLS_KEY');
  });
});
