import {
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { AuthError } from './errors.ts';

/** What access tokens are checked against. */
export interface AccessTokenExpectations {
  /** The issuer as discovered. */
  issuer: () => Promise<string>;
  audience: string;
  clockToleranceSeconds: number;
}

const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/**
 * Validates JWT access tokens: signature against the provider's JWKS (asymmetric algorithms only:
 * `none` and HMAC are refused, so a public key can never serve as an HMAC secret), `iss`, `aud`
 * containing the client id, `exp`/`nbf`/`iat` with tolerance, and `typ` — when present it must be
 * `at+jwt` (an ID token is not an access token). A verified token is remembered until it expires,
 * so each token costs one signature check, not one per request.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4
 */
export class AccessTokenVerifier {
  readonly #keys: () => Promise<JWTVerifyGetKey>;
  readonly #expect: AccessTokenExpectations;
  readonly #verified = new Map<string, JWTPayload>();
  readonly #maxEntries = 5000;

  constructor(keys: () => Promise<JWTVerifyGetKey>, expect: AccessTokenExpectations) {
    this.#keys = keys;
    this.#expect = expect;
  }

  async verify(token: string, now: Date): Promise<JWTPayload> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const tolerance = this.#expect.clockToleranceSeconds;
    const cached = this.#verified.get(token);
    if (cached) {
      if ((cached.exp as number) + tolerance > nowSeconds) return cached;
      this.#verified.delete(token);
      throw new AuthError('ERR_ACCESS_TOKEN_INVALID', 'validation', 'access token expired');
    }
    let payload: JWTPayload;
    try {
      const header = decodeProtectedHeader(token);
      if (header.typ !== undefined && !/^(application\/)?at\+jwt$/i.test(header.typ)) {
        throw new AuthError(
          'ERR_ACCESS_TOKEN_INVALID',
          'validation',
          `a ${header.typ} token is not an access token`,
        );
      }
      ({ payload } = await jwtVerify(token, await this.#keys(), {
        issuer: await this.#expect.issuer(),
        audience: this.#expect.audience,
        clockTolerance: tolerance,
        currentDate: now,
        algorithms: asymmetricAlgorithms,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
        throw new AuthError(
          'ERR_ACCESS_TOKEN_INVALID',
          'validation',
          `access token rejected (${(err as { code?: string }).code ?? err.name})`,
          { cause: err },
        );
      }
      throw err;
    }
    if (typeof payload.iat === 'number' && payload.iat > nowSeconds + tolerance) {
      throw new AuthError('ERR_ACCESS_TOKEN_INVALID', 'validation', 'access token issued in the future');
    }
    if (this.#verified.size >= this.#maxEntries)
      this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, payload);
    return payload;
  }
}

/**
 * Whether an access token is a JWT (three base64url parts) rather than an opaque string. An empty
 * third part counts: an unsigned (`alg: none`) JWT must be verified, and refused, not trusted as opaque.
 */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
