import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';

/**
 * Headers every response carries; HTML pages additionally get a strict Content-Security-Policy
 * that forbids framing (clickjacking) and any script without this request's nonce.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.16
 */
export function securityHeaders(options: { hsts: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('Referrer-Policy', 'no-referrer');
    headers.set('X-Frame-Options', 'DENY');
    headers.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (options.hsts) headers.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    const nonce = c.get('scriptNonce');
    const script = nonce ? `script-src 'nonce-${nonce}'` : "script-src 'none'";
    headers.set(
      'Content-Security-Policy',
      `default-src 'none'; ${script}; style-src 'self'; img-src 'self' https: data:; base-uri 'none'; frame-ancestors 'none'`,
    );
  };
}
