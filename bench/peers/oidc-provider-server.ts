// The peer for the server scenarios: oidc-provider 9, configured as close to Sesame as its options
// allow — RS256, JWT access tokens (audience: the client) through resource indicators, refresh
// token rotation on every use, tokens that die with the sign-in session, client_credentials,
// PKCE, and a password sign-in page that checks an argon2id hash (m=19456, t=2, p=1) like Sesame's.
// Storage is an unbounded in-memory map (oidc-provider ships no database adapter; its own memory
// adapter keeps only 1000 entries).
//
// At start it pre-mints refresh tokens and authorization codes through its own models, writes them
// and the client credentials to the file named by BENCH_OUT, then prints one JSON line
// `{"ready":true,...}`. Settings: BENCH_PORT, BENCH_REFRESH (count), BENCH_CODES (count).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { hash, verify } from '@node-rs/argon2';
import { exportJWK, generateKeyPair } from 'jose';

const port = Number(process.env['BENCH_PORT']);
const refreshCount = Number(process.env['BENCH_REFRESH'] ?? '0');
const codeCount = Number(process.env['BENCH_CODES'] ?? '0');
const outFile = process.env['BENCH_OUT'] as string;
const issuer = `http://127.0.0.1:${port}`;

const scope = 'openid profile email offline_access';
const resource = 'urn:bench:app';
const argon2Options = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const person = {
  id: `usr_${randomUUID()}`,
  email: 'ada@example.com',
  password: 'correct horse battery staple',
  passwordHash: await hash('correct horse battery staple', argon2Options),
};

/** A stored model: oidc-provider's payloads are plain objects. */
type Payload = Record<string, unknown> & { grantId?: string; uid?: string; consumed?: number };

/** oidc-provider's adapter contract over one unbounded map (entries expire lazily). */
const entries = new Map<string, { payload: Payload; expiresAt: number }>();
const sessionsByUid = new Map<string, string>();
const grantMembers = new Map<string, Set<string>>();
class MapAdapter {
  readonly #model: string;
  constructor(model: string) {
    this.#model = model;
  }
  #key(id: string) {
    return `${this.#model}:${id}`;
  }
  async upsert(id: string, payload: Payload, expiresIn?: number) {
    const key = this.#key(id);
    entries.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    if (this.#model === 'Session' && payload.uid) sessionsByUid.set(payload.uid, id);
    if (payload.grantId) {
      const members = grantMembers.get(payload.grantId) ?? new Set<string>();
      grantMembers.set(payload.grantId, members);
      members.add(key);
    }
  }
  async find(id: string): Promise<Payload | undefined> {
    const key = this.#key(id);
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }
  async findByUid(uid: string) {
    const id = sessionsByUid.get(uid);
    return id ? this.find(id) : undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id: string) {
    const entry = entries.get(this.#key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    entries.delete(this.#key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const key of grantMembers.get(grantId) ?? []) entries.delete(key);
    grantMembers.delete(grantId);
  }
}

/** The parts of oidc-provider this peer touches (it ships no types). */
interface Model {
  save(ttl?: number): Promise<string>;
  uid: string;
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(resource: string, scope: string): void;
}
interface ModelClass {
  new (init?: Record<string, unknown>): Model;
  find(id: string): Promise<Model | undefined>;
}
interface InteractionDetails {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, string | undefined>;
  grantId?: string;
}
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<void>;
  Grant: ModelClass;
  Session: ModelClass;
  RefreshToken: ModelClass;
  AuthorizationCode: ModelClass;
  Client: { find(id: string): Promise<object | undefined> };
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'bench-key', alg: 'RS256', use: 'sig' };

const secret = () => randomBytes(32).toString('base64url');
const m2m = { id: 'bench-m2m', secret: secret() };
const web = { id: 'bench-web', secret: secret(), redirectUri: 'http://127.0.0.1:9/callback' };

const Provider = (await import('oidc-provider')).default as unknown as ProviderConstructor;
const provider = new Provider(issuer, {
  adapter: (model: string) => new MapAdapter(model),
  clients: [
    {
      client_id: m2m.id,
      client_secret: m2m.secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'read:users',
    },
    {
      client_id: web.id,
      client_secret: web.secret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [web.redirectUri],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [secret()] },
  findAccount: (_ctx: unknown, id: string) =>
    id === person.id
      ? {
          accountId: id,
          claims: async () => ({
            sub: id,
            email: person.email,
            email_verified: true,
            name: 'Ada Lovelace',
            given_name: 'Ada',
            family_name: 'Lovelace',
          }),
        }
      : undefined,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'read:users'],
  // Profile claims in the ID token, as Sesame puts them.
  conformIdTokenClaims: false,
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 600,
    ClientCredentials: 86_400,
    IdToken: 3600,
    RefreshToken: 30 * 86_400,
    Grant: 30 * 86_400,
    Session: 30 * 86_400,
    Interaction: 1800,
  },
  interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // JWT access tokens whose audience is the client itself, as Sesame issues them.
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, _resource: string, client: { clientId: string }) => ({
        scope: client.clientId === m2m.id ? 'read:users' : 'openid',
        audience: client.clientId,
        accessTokenFormat: 'jwt',
        accessTokenTTL: client.clientId === m2m.id ? 86_400 : 300,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  // Roles and permissions travel in the access token, as at Sesame.
  extraTokenClaims: () => ({ roles: ['admin'], permissions: [] }),
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: () => true,
  expiresWithSession: () => true,
});

/** Reads an urlencoded body. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The sign-in page: the same fields as Sesame's (email, password, a hidden interaction id). */
function signInPage(res: ServerResponse, uid: string, status: number, error: string | null) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(
    `<!doctype html><html lang="en"><head><title>Sign in</title></head><body><main><h1>Sign in</h1>${
      error ? `<p role="alert">${escapeHtml(error)}</p>` : ''
    }<form method="post" action="/interaction/${escapeHtml(uid)}/login"><input type="hidden" name="interaction" value="${escapeHtml(uid)}"><label>Email <input name="email" type="email"></label><label>Password <input name="password" type="password"></label><button>Sign in</button></form></main></body></html>`,
  );
}

async function interaction(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET' && path === `/interaction/${details.uid}`) {
    signInPage(res, details.uid, 200, null);
    return;
  }
  if (req.method !== 'POST' || path !== `/interaction/${details.uid}/login`) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const form = await readForm(req);
  const email = (form.get('email') ?? '').trim().toLowerCase();
  // Spend one verification whatever the email, as Sesame does.
  const ok = await verify(person.passwordHash, form.get('password') ?? '').catch(() => false);
  if (!ok || email !== person.email) {
    signInPage(res, details.uid, 401, 'Incorrect email or password.');
    return;
  }
  // Sesame has no consent step for its own apps: grant what was asked at once.
  const grant = details.grantId
    ? ((await provider.Grant.find(details.grantId)) as Model)
    : new provider.Grant({ accountId: person.id, clientId: details.params['client_id'] });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  grant.addOIDCScope(missing.missingOIDCScope?.join(' ') ?? details.params['scope'] ?? 'openid');
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  // The login prompt lists no missing scopes yet: grant the resource's scope up front.
  grant.addResourceScope(resource, 'openid');
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: person.id, amr: ['pwd'] }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

/** Pre-mints refresh tokens and codes, each in its own session and grant, as a sign-in would leave them. */
async function mint(): Promise<{
  refreshTokens: string[];
  codes: Array<{ code: string; verifier: string }>;
}> {
  const client = await provider.Client.find(web.id);
  const now = Math.floor(Date.now() / 1000);
  const signedIn = now - 300;
  const sessionAndGrant = async () => {
    const grant = new provider.Grant({ accountId: person.id, clientId: web.id });
    grant.addOIDCScope(scope);
    grant.addResourceScope(resource, 'openid');
    const grantId = await grant.save();
    const sid = randomUUID();
    const session = new provider.Session({
      accountId: person.id,
      loginTs: signedIn,
      amr: ['pwd'],
      authorizations: { [web.id]: { sid, grantId } },
    });
    await session.save(30 * 86_400);
    return { grantId, sid, sessionUid: session.uid };
  };
  const refreshTokens: string[] = [];
  for (let i = 0; i < refreshCount; i++) {
    const { grantId, sid, sessionUid } = await sessionAndGrant();
    const token = new provider.RefreshToken({
      accountId: person.id,
      amr: ['pwd'],
      authTime: signedIn,
      client,
      expiresWithSession: true,
      grantId,
      gty: 'authorization_code',
      resource,
      rotations: 0,
      scope,
      sessionUid,
      sid,
    });
    refreshTokens.push(await token.save());
  }
  const codes: Array<{ code: string; verifier: string }> = [];
  for (let i = 0; i < codeCount; i++) {
    const { grantId, sid, sessionUid } = await sessionAndGrant();
    const verifier = randomBytes(32).toString('base64url');
    const code = new provider.AuthorizationCode({
      accountId: person.id,
      amr: ['pwd'],
      authTime: signedIn,
      client,
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      codeChallengeMethod: 'S256',
      expiresWithSession: true,
      grantId,
      nonce: randomBytes(8).toString('hex'),
      redirectUri: web.redirectUri,
      resource,
      scope,
      sessionUid,
      sid,
    });
    codes.push({ code: await code.save(), verifier });
  }
  return { refreshTokens, codes };
}

const handle = provider.callback();
const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] as string;
  if (path.startsWith('/interaction/')) {
    interaction(req, res, path).catch((err: unknown) => {
      process.stderr.write(`interaction failed: ${String(err)}\n`);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
    return;
  }
  handle(req, res);
});
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
const minted = await mint();
writeFileSync(outFile, JSON.stringify({ issuer, m2m, web, ...minted }));
process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`);
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
