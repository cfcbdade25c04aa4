import { createRemoteJWKSet, type JWTVerifyGetKey, customFetch as joseCustomFetch } from 'jose';
import * as oidc from 'openid-client';
import { AuthError } from './errors.ts';
import { isLoopback, type ResolvedOptions } from './options.ts';

/**
 * The OpenID provider as discovered: openid-client's configuration for the protocol exchanges
 * and a cached remote JWKS (refetched on an unknown `kid`, at most every 30 s) for local token
 * validation.
 */
export class Provider {
  readonly #options: ResolvedOptions;
  #config: Promise<oidc.Configuration> | null = null;
  #jwks: JWTVerifyGetKey | null = null;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /**
   * Discovery, once; a failure is retried on the next call rather than cached. The client
   * authenticates with `client_secret_post` (the seed's form) when the provider lists it, else
   * `client_secret_basic` (RFC 8414's default), unless the app chose one.
   */
  config(): Promise<oidc.Configuration> {
    if (!this.#config) {
      const o = this.#options;
      const insecure = o.issuer.protocol === 'http:' && (isLoopback(o.issuer) || o.allowInsecureHttp);
      const prepare = (config: oidc.Configuration) => {
        if (insecure) oidc.allowInsecureRequests(config);
        config[oidc.customFetch] = (url, init) => o.fetch(url, init as RequestInit);
        config.timeout = 10;
        return config;
      };
      this.#config = oidc
        .discovery(
          o.issuer,
          o.clientId,
          { client_secret: o.clientSecret },
          oidc.ClientSecretPost(o.clientSecret),
          {
            [oidc.customFetch]: (url, init) => o.fetch(url, init as RequestInit),
            execute: insecure ? [oidc.allowInsecureRequests] : [],
            timeout: 10,
          },
        )
        .then((discovered) => {
          const metadata = discovered.serverMetadata();
          const supported = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
          const method =
            o.tokenEndpointAuthMethod ??
            (supported.includes('client_secret_post') ? 'client_secret_post' : 'client_secret_basic');
          const auth =
            method === 'client_secret_post'
              ? oidc.ClientSecretPost(o.clientSecret)
              : oidc.ClientSecretBasic(o.clientSecret);
          return prepare(
            new oidc.Configuration(metadata, o.clientId, { client_secret: o.clientSecret }, auth),
          );
        })
        .catch((err: unknown) => {
          this.#config = null;
          throw new AuthError(
            'ERR_DISCOVERY',
            isNetworkError(err) ? 'network' : 'malformed',
            `OpenID discovery of ${o.issuer.href} failed`,
            { cause: err },
          );
        });
    }
    return this.#config;
  }

  /** The provider's keys, for verifying ID and access tokens. */
  async jwks(): Promise<JWTVerifyGetKey> {
    if (!this.#jwks) {
      const config = await this.config();
      const uri = config.serverMetadata().jwks_uri;
      if (!uri) throw new AuthError('ERR_DISCOVERY', 'malformed', 'The provider publishes no jwks_uri');
      const o = this.#options;
      this.#jwks = createRemoteJWKSet(new URL(uri), {
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: 10_000,
        [joseCustomFetch]: (url: string, init: RequestInit) => o.fetch(url, init),
      });
    }
    return this.#jwks;
  }
}

/** Whether an error came from the network rather than from what a server said. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true;
  if (err instanceof TypeError && /fetch failed|network/i.test(err.message)) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isNetworkError(cause);
}
