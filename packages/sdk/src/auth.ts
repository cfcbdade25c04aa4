import { createHash, randomBytes } from 'node:crypto';
import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { AccessTokenVerifier, looksLikeJwt } from './access-token.ts';
import { handleBackchannelLogout } from './backchannel.ts';
import {
  type CookieAttributes,
  clearChunked,
  parseCookieHeader,
  readChunked,
  writeChunked,
} from './cookies.ts';
import { AuthError } from './errors.ts';
import { ManagementClient } from './management.ts';
import { isSafeReturnTo, type ResolvedOptions, resolveOptions, type SesameAuthOptions } from './options.ts';
import { errorPageContentSecurityPolicy, renderErrorPage } from './pages.ts';
import { isNetworkError, Provider } from './provider.ts';
import type { RevocationStore } from './revocation-store.ts';
import { MemoryRevocationStore } from './revocation-store-memory.ts';
import { CookieSealer } from './seal.ts';
import { type SessionData, type SessionUser, userFromClaims } from './session.ts';
import { SingleFlight } from './single-flight.ts';

/** The outcome of authenticating a request. */
export type AuthState =
  | {
      status: 'authenticated';
      user: SessionUser;
      accessToken: string;
      claims: JWTPayload | null;
      expiresAt: number;
    }
  /** Signed in, but the access token has expired (or is about to): refresh first. */
  | { status: 'expired'; user: SessionUser }
  | { status: 'anonymous' };

const transactionMaxAge = 600;
/** Sealed session cookies outlive the access token: the refresh token is what bounds them. */
const sessionMaxAge = 30 * 86400;
const allowedPrompts = new Set(['none', 'login', 'create', 'select_account', 'consent']);

/**
 * The framework-free core: every route the seed asks a web app's backend to serve, over web
 * `Request`/`Response`, plus request authentication. Adapters only translate.
 */
export class SesameAuth {
  readonly options: ResolvedOptions;
  readonly provider: Provider;
  readonly revocations: RevocationStore;
  readonly #sealer: CookieSealer;
  readonly #verifier: AccessTokenVerifier;
  readonly #refreshes = new SingleFlight<SessionData>({ rememberMs: 30_000 });
  #management: ManagementClient | null = null;

  constructor(input: SesameAuthOptions) {
    this.options = resolveOptions(input);
    this.provider = new Provider(this.options);
    this.revocations = this.options.revocationStore ?? new MemoryRevocationStore();
    this.#sealer = new CookieSealer(this.options.cookieSecrets);
    this.#verifier = new AccessTokenVerifier(() => this.provider.jwks(), {
      issuer: async () => (await this.provider.config()).serverMetadata().issuer,
      audience: this.options.clientId,
      clockToleranceSeconds: this.options.clockToleranceSeconds,
    });
  }

  /**
   * The management API client (users, organizations, memberships, roles, sessions), authenticated
   * as this app with `client_credentials`; the app must be allowed management API access.
   */
  get management(): ManagementClient {
    this.#management ??= new ManagementClient(this.provider, {
      fetch: this.options.fetch,
      now: this.options.now,
    });
    return this.#management;
  }

  /** Cookie names: distinct per app through the prefix. */
  get cookieNames() {
    const p = this.options.cookiePrefix;
    return {
      session: `${p}_session`,
      refresh: `${p}_refresh`,
      logout: `${p}_logout`,
      transaction: `${p}_tx`,
    };
  }

  /**
   * Whether `path` is one of the SDK's own routes, which `handle` may answer. Adapters build a full
   * web `Request` only for these; every other request needs only its headers to authenticate.
   */
  ownsPath(path: string): boolean {
    const { routes } = this.options;
    return (
      path === routes.login ||
      path === routes.callback ||
      path === routes.refresh ||
      path === routes.logout ||
      path === routes.backchannelLogout
    );
  }

  /** Answers the SDK's own routes (login, callback, refresh, logout, back-channel logout); `null` for others. */
  async handle(request: Request): Promise<Response | null> {
    const { routes } = this.options;
    const path = new URL(request.url).pathname;
    const method = request.method;
    if (path === routes.login && method === 'GET') return this.login(request);
    if (path === routes.callback && method === 'GET') return this.callback(request);
    if (path === routes.refresh && (method === 'GET' || method === 'POST')) return this.refresh(request);
    if (path === routes.logout && (method === 'GET' || method === 'POST')) return this.logout(request);
    if (path === routes.backchannelLogout && method === 'POST') return handleBackchannelLogout(this, request);
    if (path === routes.backchannelLogout)
      return new Response(null, { status: 405, headers: { allow: 'POST' } });
    return null;
  }

  #cookieAttrs(path: string, maxAge?: number): CookieAttributes {
    return {
      path,
      httpOnly: true,
      secure: this.options.secureCookies,
      sameSite: 'Lax',
      ...(maxAge === undefined ? {} : { maxAge }),
    };
  }

  /** Step 1 of the seed: a transaction (state, nonce, PKCE, return_to) in its own cookie, then 302. */
  async login(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const returnTo = url.searchParams.get('return_to');
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const config = await this.provider.config();
    const params: Record<string, string> = {
      redirect_uri: this.options.redirectUri.href,
      scope: this.options.scopes.join(' '),
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    };
    for (const name of ['login_hint', 'organization_id'] as const) {
      const value = url.searchParams.get(name);
      if (value && value.length <= 320) params[name] = value;
    }
    const prompt = url.searchParams.get('prompt');
    if (prompt && prompt.split(' ').every((p) => allowedPrompts.has(p))) params['prompt'] = prompt;
    const sealed = await this.#sealer.seal(
      {
        s: state,
        n: nonce,
        v: verifier,
        r: returnTo && isSafeReturnTo(returnTo) ? returnTo : this.options.defaultReturnTo,
      },
      transactionMaxAge,
      this.options.now(),
    );
    const headers = new Headers({
      location: oidc.buildAuthorizationUrl(config, params).href,
      'cache-control': 'no-store',
    });
    headers.append(
      'set-cookie',
      `${this.#transactionCookie(state)}=${sealed}; Path=${this.options.routes.callback}; Max-Age=${transactionMaxAge}; HttpOnly${this.options.secureCookies ? '; Secure' : ''}; SameSite=Lax`,
    );
    return new Response(null, { status: 302, headers });
  }

  /** One cookie per transaction, named from its state, so parallel sign-ins in several tabs work. */
  #transactionCookie(state: string): string {
    return `${this.cookieNames.transaction}_${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
  }

  /** Step 2 of the seed: errors first, then state, then the code exchange and ID token validation. */
  async callback(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const cookies = parseCookieHeader(request.headers.get('cookie'));
    const state = url.searchParams.get('state');
    const txName = state ? this.#transactionCookie(state) : null;
    const headers = new Headers({ 'cache-control': 'no-store' });
    if (txName)
      headers.append(
        'set-cookie',
        `${txName}=; Path=${this.options.routes.callback}; Max-Age=0; HttpOnly${this.options.secureCookies ? '; Secure' : ''}; SameSite=Lax`,
      );
    const tx = txName
      ? await this.#sealer.open<{ s: string; n: string; v: string; r: string }>(
          cookies.get(txName),
          this.options.now(),
        )
      : null;
    const retryHref = `${this.options.routes.login}${tx?.r && tx.r !== this.options.defaultReturnTo ? `?return_to=${encodeURIComponent(tx.r)}` : ''}`;
    const fail = (error: AuthError, status: number) => {
      this.options.logger.warn(
        {
          code: error.code,
          oauthError: error.oauthError,
          description: error.oauthErrorDescription,
          detail: error.message,
        },
        'sign-in failed',
      );
      headers.set('content-type', 'text/html; charset=utf-8');
      headers.set('content-security-policy', errorPageContentSecurityPolicy);
      return new Response(
        renderErrorPage({ title: 'Sign-in failed', code: error.oauthError ?? error.code, retryHref }),
        { status, headers },
      );
    };

    const error = url.searchParams.get('error');
    if (error) {
      return fail(
        new AuthError('ERR_CALLBACK_ERROR', 'provider', `the provider answered ${error}`, {
          oauthError: error.slice(0, 100),
          oauthErrorDescription: url.searchParams.get('error_description')?.slice(0, 500) ?? '',
        }),
        400,
      );
    }
    if (!state)
      return fail(new AuthError('ERR_STATE_MISSING', 'validation', 'the callback has no state'), 400);
    if (!tx || tx.s !== state)
      return fail(
        new AuthError('ERR_STATE_MISMATCH', 'validation', 'the state does not match a sign-in started here'),
        400,
      );
    const iss = url.searchParams.get('iss');
    const config = await this.provider.config();
    if (iss !== null && iss !== config.serverMetadata().issuer) {
      return fail(
        new AuthError(
          'ERR_ISSUER_MISMATCH',
          'validation',
          'the callback came from another issuer (RFC 9207)',
        ),
        400,
      );
    }

    let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
    try {
      // The callback URL as registered (not as the proxy-facing request saw it), with the response parameters.
      const current = new URL(this.options.redirectUri.href);
      current.search = url.search;
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: tx.v,
        expectedNonce: tx.n,
        expectedState: tx.s,
        idTokenExpected: true,
      });
    } catch (err) {
      return fail(toAuthError(err, 'ERR_CODE_EXCHANGE'), 400);
    }
    let session: SessionData;
    try {
      session = await this.#sessionFromTokens(tokens, null);
    } catch (err) {
      return fail(err instanceof AuthError ? err : toAuthError(err, 'ERR_ID_TOKEN_INVALID'), 400);
    }
    await this.#completeProfile(session);
    for (const value of await this.#writeSession(cookies, session)) headers.append('set-cookie', value);
    headers.set('location', tx.r);
    return new Response(null, { status: 302, headers });
  }

  /**
   * Builds a session from a token response: the ID token's signature is checked against the
   * JWKS (openid-client has checked iss, aud, azp, exp, iat, nonce), `at_hash` when present.
   */
  async #sessionFromTokens(
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    previous: SessionData | null,
  ): Promise<SessionData> {
    const now = this.options.now();
    let idClaims: JWTPayload;
    if (tokens.id_token) {
      try {
        ({ payload: idClaims } = await jwtVerify(tokens.id_token, await this.provider.jwks(), {
          issuer: (await this.provider.config()).serverMetadata().issuer,
          audience: this.options.clientId,
          clockTolerance: this.options.clockToleranceSeconds,
          currentDate: now,
        }));
      } catch (err) {
        throw new AuthError(
          'ERR_ID_TOKEN_INVALID',
          'validation',
          'the ID token signature or claims are invalid',
          { cause: err },
        );
      }
      if (typeof idClaims['at_hash'] === 'string' && idClaims['at_hash'] !== atHash(tokens.access_token)) {
        throw new AuthError('ERR_ID_TOKEN_INVALID', 'validation', 'at_hash does not match the access token');
      }
      if (previous && idClaims.sub !== previous.user.sub) {
        throw new AuthError(
          'ERR_ID_TOKEN_INVALID',
          'validation',
          'the refreshed ID token is for another subject',
        );
      }
    } else if (previous) {
      idClaims = {
        sub: previous.user.sub,
        sid: previous.user.sid ?? undefined,
        email: previous.user.email ?? undefined,
        name: previous.user.name ?? undefined,
      };
    } else {
      throw new AuthError('ERR_ID_TOKEN_INVALID', 'malformed', 'the provider returned no ID token');
    }
    let accessClaims: JWTPayload | null = null;
    if (looksLikeJwt(tokens.access_token)) {
      try {
        accessClaims = await this.#verifier.verify(tokens.access_token, now);
      } catch (err) {
        // Some providers issue JWT access tokens for another audience (an API); keep the session, skip the claims.
        if (!(err instanceof AuthError)) throw err;
        accessClaims = null;
      }
    }
    const expiresIn =
      tokens.expires_in ??
      (typeof accessClaims?.exp === 'number' ? accessClaims.exp - Math.floor(now.getTime() / 1000) : 300);
    return {
      user: withFallback(userFromClaims(idClaims, accessClaims), previous?.user ?? null),
      accessToken: tokens.access_token,
      accessTokenExpiresAt: Math.floor(now.getTime() / 1000) + expiresIn,
      refreshToken: tokens.refresh_token ?? previous?.refreshToken ?? null,
      idToken: tokens.id_token ?? previous?.idToken ?? null,
      authTime:
        typeof idClaims['auth_time'] === 'number' ? idClaims['auth_time'] : (previous?.authTime ?? null),
      updatedAt: now.getTime(),
    };
  }

  /**
   * Providers that keep profile claims out of the ID token serve them at userinfo: asked once, at
   * sign-in, only when the ID token lacked what the scopes asked for. A failure leaves the profile
   * as the ID token had it.
   * @see https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
   */
  async #completeProfile(session: SessionData): Promise<void> {
    const { scopes } = this.options;
    const wantsEmail = scopes.includes('email') && session.user.email === null;
    const wantsName = scopes.includes('profile') && session.user.name === null;
    if (!wantsEmail && !wantsName) return;
    const config = await this.provider.config();
    if (!config.serverMetadata().userinfo_endpoint) return;
    try {
      const info = await oidc.fetchUserInfo(config, session.accessToken, session.user.sub);
      session.user = withFallback(userFromClaims({ ...info, sub: session.user.sub }, null), session.user);
    } catch (err) {
      this.options.logger.warn({ err: String(err) }, 'userinfo could not complete the profile');
    }
  }

  /** The `Set-Cookie` values that persist a session: path-scoped sealed cookies, or a store entry. */
  async #writeSession(cookies: ReadonlyMap<string, string>, session: SessionData): Promise<string[]> {
    const now = this.options.now();
    const names = this.cookieNames;
    const { routes, sessionStore } = this.options;
    if (sessionStore) {
      const existing = await this.#sealer.open<{ id: string }>(readChunked(cookies, names.session), now);
      const id = existing?.id ?? randomBytes(32).toString('base64url');
      await sessionStore.set(id, session, new Date(now.getTime() + sessionMaxAge * 1000));
      return writeChunked(
        cookies,
        names.session,
        await this.#sealer.seal({ id }, sessionMaxAge, now),
        this.#cookieAttrs('/', sessionMaxAge),
      );
    }
    const main = await this.#sealer.seal(
      {
        u: session.user,
        at: session.accessToken,
        ate: session.accessTokenExpiresAt,
        t: session.authTime,
        ua: session.updatedAt,
      },
      sessionMaxAge,
      now,
    );
    const headers = writeChunked(cookies, names.session, main, this.#cookieAttrs('/', sessionMaxAge));
    if (session.refreshToken) {
      const rt = await this.#sealer.seal(
        { rt: session.refreshToken, ua: session.updatedAt },
        sessionMaxAge,
        now,
      );
      headers.push(
        ...writeChunked(cookies, names.refresh, rt, this.#cookieAttrs(routes.refresh, sessionMaxAge)),
      );
    }
    if (session.idToken) {
      const idt = await this.#sealer.seal(
        { idt: session.idToken, ua: session.updatedAt },
        sessionMaxAge,
        now,
      );
      headers.push(
        ...writeChunked(cookies, names.logout, idt, this.#cookieAttrs(routes.logout, sessionMaxAge)),
      );
    }
    return headers;
  }

  /** The `Set-Cookie` values that end the app's session (every cookie, each at its path). */
  async #clearSession(cookies: ReadonlyMap<string, string>): Promise<string[]> {
    const names = this.cookieNames;
    const { routes, sessionStore } = this.options;
    if (sessionStore) {
      const existing = await this.#sealer.open<{ id: string }>(
        readChunked(cookies, names.session),
        this.options.now(),
      );
      if (existing?.id) await sessionStore.delete(existing.id);
    }
    return [
      ...clearChunked(cookies, names.session, this.#cookieAttrs('/')),
      ...clearChunked(cookies, names.refresh, this.#cookieAttrs(routes.refresh)),
      ...clearChunked(cookies, names.logout, this.#cookieAttrs(routes.logout)),
    ];
  }

  /** Reads the session the request carries (only the parts its path receives, in cookie mode). */
  async readSession(cookies: ReadonlyMap<string, string>): Promise<Partial<SessionData> | null> {
    const now = this.options.now();
    const names = this.cookieNames;
    if (this.options.sessionStore) {
      const ref = await this.#sealer.open<{ id: string }>(readChunked(cookies, names.session), now);
      return ref?.id ? await this.options.sessionStore.get(ref.id) : null;
    }
    const main = await this.#sealer.open<{
      u: SessionUser;
      at: string;
      ate: number;
      t: number | null;
      ua: number;
    }>(readChunked(cookies, names.session), now);
    const rt = await this.#sealer.open<{ rt: string; ua: number }>(readChunked(cookies, names.refresh), now);
    const idt = await this.#sealer.open<{ idt: string; ua: number }>(readChunked(cookies, names.logout), now);
    if (!main && !rt && !idt) return null;
    const session: Partial<SessionData> = {};
    if (main && typeof main.at === 'string' && main.u && typeof main.u.sub === 'string') {
      Object.assign(session, {
        user: main.u,
        accessToken: main.at,
        accessTokenExpiresAt: main.ate,
        authTime: main.t ?? null,
        updatedAt: main.ua,
      });
    }
    if (rt && typeof rt.rt === 'string') session.refreshToken = rt.rt;
    if (idt && typeof idt.idt === 'string') session.idToken = idt.idt;
    return session;
  }

  /**
   * Authenticates a request: a `Bearer` access token if sent, else the session cookie. Validates
   * the access token (signature, iss, aud, exp/nbf/iat, typ) and checks that the provider has not
   * ended the session (back-channel logout).
   */
  async authenticate(request: {
    readonly headers: { get(name: string): string | null };
  }): Promise<AuthState> {
    const now = this.options.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    if (bearer) {
      try {
        const claims = await this.#verifier.verify(bearer, now);
        const user = userFromClaims(claims, claims);
        if (await this.#revoked(user, null)) return { status: 'anonymous' };
        return {
          status: 'authenticated',
          user,
          accessToken: bearer,
          claims,
          expiresAt: claims.exp as number,
        };
      } catch (err) {
        if (err instanceof AuthError) return { status: 'anonymous' };
        throw err;
      }
    }
    const session = await this.readSession(parseCookieHeader(request.headers.get('cookie')));
    if (!session?.user || !session.accessToken || typeof session.accessTokenExpiresAt !== 'number')
      return { status: 'anonymous' };
    if (await this.#revoked(session.user, session.authTime ?? null)) return { status: 'anonymous' };
    if (session.accessTokenExpiresAt - this.options.refreshLeewaySeconds <= nowSeconds)
      return { status: 'expired', user: session.user };
    let claims: JWTPayload | null = null;
    if (looksLikeJwt(session.accessToken)) {
      try {
        claims = await this.#verifier.verify(session.accessToken, now);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        const expired = err.cause instanceof joseErrors.JWTExpired || /expired/.test(err.message);
        return expired ? { status: 'expired', user: session.user } : { status: 'anonymous' };
      }
    }
    return {
      status: 'authenticated',
      user: session.user,
      accessToken: session.accessToken,
      claims,
      expiresAt: session.accessTokenExpiresAt,
    };
  }

  async #revoked(user: SessionUser, authTime: number | null): Promise<boolean> {
    return this.revocations.isRevoked({
      sid: user.sid,
      sub: user.sub,
      authTime: authTime === null ? null : new Date(authTime * 1000),
    });
  }

  /**
   * What to answer a request that needs a signed-in person but has none (or an expired token):
   * a page navigation goes through refresh (or login) and back; an API call gets 401 JSON saying
   * what to do.
   */
  unauthenticatedResponse(request: Request, state: AuthState): Response {
    const url = new URL(request.url);
    const returnTo = `${url.pathname}${url.search}`;
    if (isNavigation(request)) {
      const target = state.status === 'expired' ? this.options.routes.refresh : this.options.routes.login;
      return new Response(null, {
        status: 302,
        headers: {
          location: `${target}?return_to=${encodeURIComponent(returnTo)}`,
          'cache-control': 'no-store',
        },
      });
    }
    const body =
      state.status === 'expired'
        ? {
            error: 'token_expired',
            error_description: 'The access token has expired; POST the refresh route, then retry',
            refresh: this.options.routes.refresh,
          }
        : { error: 'login_required', error_description: 'Sign in first', login: this.options.routes.login };
    return Response.json(body, {
      status: 401,
      headers: {
        'cache-control': 'no-store',
        'www-authenticate': `Bearer error="${state.status === 'expired' ? 'invalid_token' : 'login_required'}"`,
      },
    });
  }

  /** 403 for a signed-in person who lacks a role or permission. */
  forbiddenResponse(request: Request, missing: string): Response {
    if (isNavigation(request)) {
      return new Response(
        `<!doctype html><title>Forbidden</title><p>You do not have access to this page (${missing.replace(/[<>&"']/g, '')} required).</p>`,
        { status: 403, headers: { 'content-type': 'text/html; charset=utf-8' } },
      );
    }
    return Response.json({ error: 'forbidden', error_description: `${missing} required` }, { status: 403 });
  }

  /**
   * Step 3 of the seed: a new access token from the refresh token. Single-flight per refresh
   * token (two tabs share one rotation); a failure that means the provider session is over clears
   * the session and asks for sign-in.
   */
  async refresh(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const cookies = parseCookieHeader(request.headers.get('cookie'));
    const navigation = request.method === 'GET';
    const returnToParam = url.searchParams.get('return_to');
    const returnTo =
      returnToParam && isSafeReturnTo(returnToParam) ? returnToParam : this.options.defaultReturnTo;
    if (!navigation && !sameOrigin(request, this.options.redirectUri.origin))
      return Response.json(
        { error: 'forbidden', error_description: 'cross-origin refresh refused' },
        { status: 403 },
      );
    const current = await this.readSession(cookies);
    const headers = new Headers({ 'cache-control': 'no-store' });
    const signInAgain = async (reason: string) => {
      for (const value of await this.#clearSession(cookies)) headers.append('set-cookie', value);
      if (navigation) {
        headers.set('location', `${this.options.routes.login}?return_to=${encodeURIComponent(returnTo)}`);
        return new Response(null, { status: 302, headers });
      }
      headers.set('content-type', 'application/json');
      return new Response(
        JSON.stringify({
          error: 'login_required',
          error_description: reason,
          login: this.options.routes.login,
        }),
        { status: 401, headers },
      );
    };
    const refreshToken = current?.refreshToken;
    if (!refreshToken) return signInAgain('No refresh token: sign in again');
    let session: SessionData;
    try {
      session = await this.refreshSession(refreshToken, current);
    } catch (err) {
      const error = err instanceof AuthError ? err : toAuthError(err, 'ERR_REFRESH_FAILED');
      this.options.logger.warn(
        { code: error.code, kind: error.kind, oauthError: error.oauthError },
        'refresh failed',
      );
      if (error.kind === 'network') {
        headers.set('content-type', 'application/json');
        return new Response(
          JSON.stringify({
            error: 'temporarily_unavailable',
            error_description: 'The sign-in service could not be reached',
          }),
          { status: 503, headers },
        );
      }
      return signInAgain('The session has ended: sign in again');
    }
    for (const value of await this.#writeSession(cookies, session)) headers.append('set-cookie', value);
    if (navigation) {
      headers.set('location', returnTo);
      return new Response(null, { status: 302, headers });
    }
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify({ ok: true, expires_at: session.accessTokenExpiresAt }), {
      status: 200,
      headers,
    });
  }

  /** Rotates a refresh token at the provider, at most once at a time per token. */
  refreshSession(refreshToken: string, previous: Partial<SessionData> | null): Promise<SessionData> {
    const key = createHash('sha256').update(refreshToken).digest('base64url');
    return this.#refreshes.run(key, async () => {
      const config = await this.provider.config();
      let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
      try {
        tokens = await oidc.refreshTokenGrant(config, refreshToken);
      } catch (err) {
        throw toAuthError(err, 'ERR_REFRESH_FAILED');
      }
      return this.#sessionFromTokens(tokens, previous?.user ? (previous as SessionData) : null);
    });
  }

  /** Step 4 of the seed: read the ID token, clear every cookie, then a browser redirect to the provider. */
  async logout(request: Request): Promise<Response> {
    const cookies = parseCookieHeader(request.headers.get('cookie'));
    const session = await this.readSession(cookies);
    const headers = new Headers({ 'cache-control': 'no-store' });
    for (const value of await this.#clearSession(cookies)) headers.append('set-cookie', value);
    let location = this.options.postLogoutRedirectUri?.href ?? this.options.defaultReturnTo;
    try {
      const config = await this.provider.config();
      if (config.serverMetadata().end_session_endpoint) {
        const params: Record<string, string> = {
          client_id: this.options.clientId,
          state: oidc.randomState(),
        };
        if (session?.idToken) params['id_token_hint'] = session.idToken;
        if (this.options.postLogoutRedirectUri)
          params['post_logout_redirect_uri'] = this.options.postLogoutRedirectUri.href;
        location = oidc.buildEndSessionUrl(config, params).href;
      }
    } catch (err) {
      // The app's session is cleared either way; without discovery we cannot end the provider's.
      this.options.logger.error({ err: String(err) }, 'could not build the provider logout URL');
    }
    headers.set('location', location);
    return new Response(null, { status: 302, headers });
  }
}

/** A user whose missing (null or empty) fields are taken from an earlier view of the same person. */
function withFallback(user: SessionUser, earlier: SessionUser | null): SessionUser {
  if (!earlier || earlier.sub !== user.sub) return user;
  const merged = { ...user };
  for (const key of [
    'sid',
    'email',
    'emailVerified',
    'name',
    'givenName',
    'familyName',
    'organizationId',
  ] as const) {
    if (merged[key] === null) (merged as Record<string, unknown>)[key] = earlier[key];
  }
  // Roles and permissions are never carried over: a refresh must be able to take them away.
  return merged;
}

/** Maps what openid-client and fetch throw onto the SDK's error model. */
export function toAuthError(
  err: unknown,
  code: 'ERR_CODE_EXCHANGE' | 'ERR_REFRESH_FAILED' | 'ERR_ID_TOKEN_INVALID',
): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    return new AuthError(code, 'provider', `the provider answered ${err.error}`, {
      cause: err,
      oauthError: err.error,
      ...(err.error_description ? { oauthErrorDescription: err.error_description } : {}),
    });
  }
  if (isNetworkError(err))
    return new AuthError(code, 'network', 'the provider could not be reached', { cause: err });
  if (err instanceof oidc.ClientError) {
    const validation = /claim|nonce|state|signature|"iss"|issuer|audience|expired|at_hash|azp/i.test(
      err.message,
    );
    return new AuthError(
      validation ? (code === 'ERR_CODE_EXCHANGE' ? 'ERR_ID_TOKEN_INVALID' : code) : code,
      validation ? 'validation' : 'malformed',
      err.message,
      { cause: err },
    );
  }
  return new AuthError(code, 'malformed', err instanceof Error ? err.message : String(err), { cause: err });
}

/** `at_hash` for RS256/ES256/PS256 (SHA-256). */
function atHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** A top-level page navigation (as opposed to fetch/XHR). */
export function isNavigation(request: Request): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const mode = request.headers.get('sec-fetch-mode');
  if (mode) return mode === 'navigate';
  return (request.headers.get('accept') ?? '').includes('text/html');
}

/**
 * Whether a state-changing request comes from this app's pages: no `Origin` (same-origin GET-like
 * requests and old browsers), the request's own origin, or the app's public origin (the
 * redirect URI's, which is what the browser sees behind a TLS-terminating proxy).
 */
function sameOrigin(request: Request, publicOrigin: string): boolean {
  const origin = request.headers.get('origin');
  if (!origin) return true;
  return origin === publicOrigin || origin === new URL(request.url).origin;
}
