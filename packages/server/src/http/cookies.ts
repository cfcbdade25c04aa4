import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from './env.ts';

type Ctx = Context<AppEnv>;

/** Cookie names: configurable prefix (localhost ports share one jar), `__Host-` on https. */
function cookieName(c: Ctx, base: string): string {
  const { config } = c.get('ctx');
  const name = `${config.cookiePrefix}_${base}`;
  return config.secureCookies ? `__Host-${name}` : name;
}

function cookieOptions(c: Ctx) {
  const { config } = c.get('ctx');
  return { path: '/', httpOnly: true, secure: config.secureCookies, sameSite: 'Lax' as const };
}

/** The browser's sign-in session cookie value, if any. */
export function readSessionCookie(c: Ctx): string | null {
  return getCookie(c, cookieName(c, 'session')) ?? null;
}

/** Sets the session cookie to live as long as the session can. */
export function writeSessionCookie(c: Ctx, value: string, expires: Date): void {
  setCookie(c, cookieName(c, 'session'), value, { ...cookieOptions(c), expires });
}

export function clearSessionCookie(c: Ctx): void {
  deleteCookie(c, cookieName(c, 'session'), cookieOptions(c));
}

/**
 * A CSRF token for a form: an HMAC of a per-browser random cookie and the form's purpose
 * (double-submit, signed), so a page of another origin can neither read nor forge it.
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html#signed-double-submit-cookie-recommended
 */
export function issueCsrfToken(c: Ctx, purpose: string): string {
  const name = cookieName(c, 'csrf');
  let secret = c.get('csrfSecret') ?? getCookie(c, name);
  if (!secret || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    secret = randomBytes(32).toString('base64url');
    setCookie(c, name, secret, cookieOptions(c));
    c.set('csrfSecret', secret);
  }
  return csrfMac(c, secret, purpose);
}

/** Whether a submitted CSRF token matches this browser's cookie and the form's purpose. */
export function verifyCsrfToken(c: Ctx, token: string | null, purpose: string): boolean {
  const secret = getCookie(c, cookieName(c, 'csrf'));
  if (!secret || !token) return false;
  const expected = Buffer.from(csrfMac(c, secret, purpose));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function csrfMac(c: Ctx, secret: string, purpose: string): string {
  return createHmac('sha256', c.get('ctx').csrfKey).update(`${secret}\n${purpose}`).digest('base64url');
}
