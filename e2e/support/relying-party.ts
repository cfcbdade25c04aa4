import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegisteredClient, TestServer } from '../../packages/server/test/support/server.ts';

/** A tiny "web app" signing people in with Sesame, as the seed's web application does. */
export interface RelyingParty {
  /** `http://<host>:<port>`, the origin the browser uses. */
  url: string;
  /** Its registration at Sesame. */
  client: RegisteredClient;
  /** The claims of the last ID token it received, or null. */
  lastClaims: Record<string, unknown> | null;
  close(): Promise<void>;
}

/** Authorization request parameters `/login` passes through from its own query string. */
const forwarded = ['prompt', 'login_hint', 'organization_id', 'max_age'];

/**
 * Starts a relying party on loopback and registers it as a web app. `host` is what the browser
 * uses: `*.localhost` names are loopback to Chromium and a different site from Sesame's
 * `127.0.0.1`, so the two never share cookies. The app keeps no cookies of its own: one
 * browser signs in at a time, and state, nonce and ID token live in memory.
 *
 * - `GET /login` → Sesame's `/oauth/authorize` (state and nonce remembered)
 * - `GET /auth/callback` → checks `state` and `iss`, shows an `error`, or exchanges the code
 *   with the client secret and shows "Signed in as <email>"
 * - `GET /logout` → Sesame's `/oidc/logout` with `id_token_hint` and `post_logout_redirect_uri`
 * - `GET /` → "Signed out home"
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
export async function startRelyingParty(
  server: TestServer,
  options: { name: string; host: string; initiateLogin?: boolean },
): Promise<RelyingParty> {
  const pending = new Map<string, string>();
  let idToken: string | null = null;
  let base = '';
  let client: RegisteredClient | null = null;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    if (req.method !== 'GET' || !client) return send(res, 405, 'Not allowed');
    switch (url.pathname) {
      case '/':
        return send(
          res,
          200,
          page(options.name, '<h1>Signed out home</h1><p><a href="/login">Sign in</a></p>'),
        );
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      case '/login': {
        const state = randomBytes(16).toString('base64url');
        const nonce = randomBytes(16).toString('base64url');
        pending.set(state, nonce);
        const query = new URLSearchParams({
          response_type: 'code',
          client_id: client.id,
          redirect_uri: client.redirectUri,
          scope: 'openid profile email',
          state,
          nonce,
        });
        for (const name of forwarded) {
          const value = url.searchParams.get(name);
          if (value !== null) query.set(name, value);
        }
        return redirect(res, `${server.url}/oauth/authorize?${query}`);
      }
      case '/auth/callback':
        return callback(res, url.searchParams, client);
      case '/logout': {
        if (!idToken) return redirect(res, '/');
        const query = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: `${base}/` });
        idToken = null;
        party.lastClaims = null;
        return redirect(res, `${server.url}/oidc/logout?${query}`);
      }
      default:
        return send(res, 404, page(options.name, '<h1>Not found</h1>'));
    }
  };

  const failed = (res: ServerResponse, status: number, error: string) =>
    send(
      res,
      status,
      page(
        options.name,
        `<h1>Sign-in failed: ${escapeHtml(error)}</h1><p><a href="/login">Try again</a></p>`,
      ),
    );

  const callback = async (res: ServerResponse, params: URLSearchParams, app: RegisteredClient) => {
    const state = params.get('state') ?? '';
    const nonce = pending.get(state);
    if (nonce === undefined) return failed(res, 400, 'unknown state');
    pending.delete(state);
    // RFC 9207: the response names its issuer, so a mix-up with another provider is caught.
    if (params.get('iss') !== server.url) return failed(res, 400, 'wrong issuer');
    const error = params.get('error');
    if (error) return failed(res, 200, error);
    const code = params.get('code');
    if (!code) return failed(res, 400, 'no code');
    const tokenRes = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: app.redirectUri,
        client_id: app.id,
        client_secret: app.secret ?? '',
      }),
    });
    const body = (await tokenRes.json()) as Record<string, unknown>;
    if (!tokenRes.ok || typeof body['id_token'] !== 'string') {
      return failed(res, 502, `token endpoint said ${String(body['error'] ?? tokenRes.status)}`);
    }
    const claims = decodePayload(body['id_token']);
    const audience = Array.isArray(claims['aud']) ? claims['aud'] : [claims['aud']];
    if (claims['iss'] !== server.url || !audience.includes(app.id) || claims['nonce'] !== nonce) {
      return failed(res, 502, 'ID token is not for this sign-in');
    }
    idToken = body['id_token'];
    party.lastClaims = claims;
    return send(
      res,
      200,
      page(
        options.name,
        `<h1>Signed in as ${escapeHtml(String(claims['email']))}</h1><p><a href="/logout">Sign out</a></p>`,
      ),
    );
  };

  const node = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, `RP error: ${escapeHtml(String(err))}`));
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  base = `http://${options.host}:${(node.address() as AddressInfo).port}`;
  client = await server.registerClient({
    type: 'web',
    name: options.name,
    redirectUris: [`${base}/auth/callback`],
    postLogoutRedirectUris: [`${base}/`],
    ...(options.initiateLogin ? { initiateLoginUri: `${base}/login` } : {}),
  });

  const party: RelyingParty = {
    url: base,
    client,
    lastClaims: null,
    close: () =>
      new Promise<void>((resolve) => {
        node.close(() => resolve());
        node.closeAllConnections();
      }),
  };
  return party;
}

/** The payload of a JWS, unverified: the code came straight from the token endpoint over loopback. */
function decodePayload(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function page(app: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(app)}</title></head><body>${body}</body></html>`;
}

function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store' });
  res.end();
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );
}
