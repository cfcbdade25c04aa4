import { type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { SesameAuth } from './auth.ts';

const logoutEvent = 'http://schemas.openid.net/event/backchannel-logout';
/** How long a revocation is kept: longer than any session cookie lives. */
const revocationTtlMs = 31 * 86400 * 1000;

function reject(reason: string): Response {
  return Response.json(
    { error: 'invalid_request', error_description: reason },
    { status: 400, headers: { 'cache-control': 'no-store' } },
  );
}

/**
 * The back-channel logout receiver: validates the `logout_token` (signature, `iss`, `aud`, `iat`,
 * `exp`, `jti` not replayed, `events`, `sid` and/or `sub`, no `nonce`), then records the ended
 * session in the revocation store, so the next request of that browser is signed out.
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#Validation
 */
export async function handleBackchannelLogout(auth: SesameAuth, request: Request): Promise<Response> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get('content-type') ?? '')) {
    return reject('The body must be application/x-www-form-urlencoded');
  }
  const text = await request.text();
  if (text.length > 16 * 1024) return reject('The request is too large');
  const tokens = new URLSearchParams(text).getAll('logout_token');
  if (tokens.length !== 1) return reject('Exactly one logout_token is required');
  const now = auth.options.now();
  let claims: JWTPayload;
  try {
    const config = await auth.provider.config();
    ({ payload: claims } = await jwtVerify(tokens[0] as string, await auth.provider.jwks(), {
      issuer: config.serverMetadata().issuer,
      audience: auth.options.clientId,
      clockTolerance: auth.options.clockToleranceSeconds,
      currentDate: now,
      requiredClaims: ['iat', 'jti'],
      algorithms: [
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
      ],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
      auth.options.logger.warn(
        { reason: (err as { code?: string }).code ?? err.message },
        'logout token rejected',
      );
      return reject('The logout_token is invalid');
    }
    throw err;
  }
  const events = claims['events'];
  if (
    typeof events !== 'object' ||
    events === null ||
    Array.isArray(events) ||
    typeof (events as Record<string, unknown>)[logoutEvent] !== 'object'
  ) {
    return reject('The logout_token has no back-channel logout event');
  }
  if ('nonce' in claims) return reject('A logout_token must not contain a nonce');
  const sid = typeof claims['sid'] === 'string' && claims['sid'].length > 0 ? claims['sid'] : undefined;
  const sub = typeof claims.sub === 'string' && claims.sub.length > 0 ? claims.sub : undefined;
  if (!sid && !sub) return reject('The logout_token names neither sid nor sub');
  const iat = claims.iat as number;
  if (iat > now.getTime() / 1000 + auth.options.clockToleranceSeconds)
    return reject('The logout_token was issued in the future');
  if (iat < now.getTime() / 1000 - 24 * 3600) return reject('The logout_token is too old');
  const replayHorizon = new Date(now.getTime() + 25 * 3600 * 1000);
  if (!(await auth.revocations.rememberJti(String(claims.jti), replayHorizon)))
    return reject('The logout_token was already used');
  await auth.revocations.revoke(
    { ...(sid ? { sid } : {}), ...(sub ? { sub } : {}), at: new Date(iat * 1000) },
    new Date(now.getTime() + revocationTtlMs),
  );
  return new Response(null, { status: 200, headers: { 'cache-control': 'no-store' } });
}
