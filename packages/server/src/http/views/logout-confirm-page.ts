import type { Branding } from './branding.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';

/** What the logout confirmation needs; the hidden fields carry the original logout request. */
export interface LogoutConfirmPageInput {
  branding: Branding;
  stylesheetHref: string;
  /** The app asking to sign out, when known from `client_id`. */
  clientName: string | null;
  /** The signed-in account, when there is a session. */
  email: string | null;
  action: string;
  csrfToken: string;
  hiddenFields: Record<string, string>;
}

/**
 * Asks before ending a session when logout arrives without a valid `id_token_hint`, so a third
 * party cannot sign people out with a link.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
 */
export function renderLogoutConfirmPage(input: LogoutConfirmPageInput): string {
  const heading = input.clientName === null ? html`Sign out?` : html`Sign out of ${input.clientName}?`;
  const hidden = Object.entries(input.hiddenFields)
    .filter(([name]) => name !== 'csrf_token' && name !== 'confirm')
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  const body = html`<h1 class="heading-gap">${heading}</h1>
<p class="text">${
    input.email
      ? html`You are signed in as <strong>${input.email}</strong>. Signing out ends your session on this device.`
      : html`Signing out ends your session on this device.`
  }</p>
<form method="post" action="${input.action}">
${hidden}
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
<div class="actions">
<button class="button button-primary" type="submit" name="confirm" value="yes">Sign out</button>
<button class="button button-secondary" type="submit" name="confirm" value="no">Stay signed in</button>
</div>
</form>`;
  const title = input.clientName === null ? 'Sign out?' : `Sign out of ${input.clientName}?`;
  return renderPage({ branding: input.branding, title, body, stylesheetHref: input.stylesheetHref });
}
