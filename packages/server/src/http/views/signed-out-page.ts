import type { Branding } from './branding.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';
import { renderStatusIcon } from './status-icon.ts';

/** What the signed-out page needs. */
export interface SignedOutPageInput {
  branding: Branding;
  stylesheetHref: string;
  /** The app asked to be returned to, but did not say which app it is (no ID token, no client_id). */
  appUnidentified?: boolean;
}

/**
 * Shown after logout when there is no registered `post_logout_redirect_uri` to return to.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RedirectionAfterLogout
 */
export function renderSignedOutPage(input: SignedOutPageInput): string {
  const body = html`${renderStatusIcon('signed-out')}
<h1 class="heading-gap">You are signed out</h1>
<p class="text">You can close this window.</p>
${
  input.appUnidentified
    ? html`<p class="text">The app that sent you here did not identify itself, so Sesame cannot send you back to it.</p>`
    : ''
}`;
  return renderPage({
    branding: input.branding,
    title: 'Signed out',
    body,
    stylesheetHref: input.stylesheetHref,
  });
}
