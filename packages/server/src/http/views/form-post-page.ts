import type { Branding } from './branding.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';
import { renderStatusIcon } from './status-icon.ts';

/** What the form_post response needs: the client's redirect URI and the response parameters. */
export interface FormPostPageInput {
  branding: Branding;
  stylesheetHref: string;
  /** The verified redirect URI. */
  action: string;
  fields: Record<string, string>;
  /** The per-response CSP nonce for the auto-submit script. */
  scriptNonce: string;
}

// Fixed text: no request data ever reaches the script, only the nonce attribute.
const autoSubmit = "document.getElementById('form-post').submit();";

/**
 * The OAuth 2.0 form_post response mode: the parameters as hidden fields, posted on load by a
 * nonce-carrying script, with a Continue button for browsers without JavaScript.
 * @see https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html#FormPostResponseMode
 */
export function renderFormPostPage(input: FormPostPageInput): string {
  const hidden = Object.entries(input.fields).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
  );
  const body = html`${renderStatusIcon('redirect')}
<h1 class="heading-gap">Signing you in…</h1>
<p class="text">Taking you back to the app.</p>
<form id="form-post" method="post" action="${input.action}">
${hidden}
<noscript><button class="button button-primary" type="submit">Continue</button></noscript>
</form>`;
  return renderPage({
    branding: input.branding,
    title: 'Signing you in',
    body,
    stylesheetHref: input.stylesheetHref,
    scriptNonce: input.scriptNonce,
    script: autoSubmit,
  });
}
