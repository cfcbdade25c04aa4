import type { Branding } from './branding.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';
import { renderStatusIcon } from './status-icon.ts';

/** What the expired-interaction page needs. */
export interface StartAgainPageInput {
  branding: Branding;
  stylesheetHref: string;
  /** The app the person was signing in to, when still known. */
  clientName: string | null;
  /** Where signing in can start over (the app's sign-in URL), when known. */
  restartHref: string | null;
}

/** Shown when a sign-in interaction has expired or was already used (a stale tab, the back button). */
export function renderStartAgainPage(input: StartAgainPageInput): string {
  const app =
    input.clientName === null
      ? html`the app you were signing in to`
      : html`<strong>${input.clientName}</strong>`;
  const body = html`${renderStatusIcon('expired')}
<h1 class="heading-gap">This sign-in link has expired</h1>
<p class="text">Sign-in pages are only valid for a short time. Go back to ${app} and start again.</p>
${input.restartHref ? html`<a class="button button-primary" href="${input.restartHref}">Start again</a>` : null}`;
  return renderPage({
    branding: input.branding,
    title: 'Sign-in link expired',
    body,
    stylesheetHref: input.stylesheetHref,
  });
}
