import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import type { Config } from '../config/config.ts';
import type { AuthorizationResponse } from '../protocol/authorize/respond.ts';
import type { AppEnv } from './env.ts';
import type { Branding } from './views/branding.ts';
import { renderFormPostPage } from './views/form-post-page.ts';
import { renderStylesheet } from './views/stylesheet.ts';

type Ctx = Context<AppEnv>;

/** The branding of the hosted pages, from configuration. */
export function brandingOf(config: Config): Branding {
  return {
    name: config.brandName,
    logoUrl: config.brandLogoUrl ?? null,
    accentColor: config.brandAccentColor,
  };
}

/** The stylesheet and its content-hashed URL, computed once per configuration. */
export function buildStylesheet(config: Config): { css: string; href: string } {
  const css = renderStylesheet(brandingOf(config));
  const version = createHash('sha256').update(css).digest('base64url').slice(0, 12);
  return { css, href: `/assets/sesame.css?v=${version}` };
}

/** What every page renderer takes besides its own data. */
export interface PageChrome {
  branding: Branding;
  stylesheetHref: string;
}

/**
 * Renders a hosted page. Pages are never cached (they carry CSRF tokens) and are served as HTML
 * under the strict CSP that the security middleware adds.
 */
export function sendPage<T extends PageChrome>(
  c: Ctx,
  status: 200 | 400 | 401 | 403 | 404 | 405 | 409 | 429 | 500 | 503,
  render: (input: T) => string,
  input: Omit<T, keyof PageChrome>,
  chrome: PageChrome,
): Response {
  c.header('Cache-Control', 'no-store');
  c.header('Content-Type', 'text/html; charset=utf-8');
  return c.body(render({ ...chrome, ...input } as T), status);
}

/**
 * Sends an authorization response: a 303 redirect (so a POSTed sign-in form is not re-posted), or
 * an auto-submitting form for `response_mode=form_post`.
 */
export function sendAuthorizationResponse(
  c: Ctx,
  response: AuthorizationResponse,
  chrome: PageChrome,
): Response {
  c.header('Cache-Control', 'no-store');
  if (response.mode === 'query') return c.redirect(response.location, 303);
  const nonce = randomBytes(16).toString('base64');
  c.set('scriptNonce', nonce);
  c.header('Content-Type', 'text/html; charset=utf-8');
  return c.body(
    renderFormPostPage({ ...chrome, action: response.action, fields: response.fields, scriptNonce: nonce }),
    200,
  );
}

/** Reads an `application/x-www-form-urlencoded` body (the only kind the forms send). */
export async function readForm(c: Ctx): Promise<URLSearchParams | null> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return null;
  return new URLSearchParams(await c.req.text());
}
