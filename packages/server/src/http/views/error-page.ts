import type { Branding } from './branding.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';
import { renderStatusIcon } from './status-icon.ts';

/** What the error page shows; `message` must be safe to show (an `OAuthError` description). */
export interface ErrorPageInput {
  branding: Branding;
  stylesheetHref: string;
  title: string;
  message: string;
  /** The error code (e.g. `invalid_request`), shown small for support requests, or null. */
  code: string | null;
  action?: { href: string; label: string };
}

/**
 * The page for errors that cannot be sent back to the client, such as an unknown client or an
 * unregistered redirect URI.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
export function renderErrorPage(input: ErrorPageInput): string {
  const body = html`${renderStatusIcon('error')}
<h1 class="heading-gap">${input.title}</h1>
<p class="text">${input.message}</p>
${input.code ? html`<p class="error-code">Error code <code>${input.code}</code></p>` : null}
${input.action ? html`<a class="button button-primary" href="${input.action.href}">${input.action.label}</a>` : null}`;
  return renderPage({
    branding: input.branding,
    title: input.title,
    body,
    stylesheetHref: input.stylesheetHref,
  });
}
