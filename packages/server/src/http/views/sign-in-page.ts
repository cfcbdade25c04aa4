import type { Branding } from './branding.ts';
import { type CancelForm, renderCancelButton, renderCancelForm } from './cancel-form.ts';
import { renderField } from './field.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';

/** What the sign-in form needs; `error` is one message that never says whether the email exists. */
export interface SignInPageInput {
  branding: Branding;
  stylesheetHref: string;
  clientName: string;
  /** Where the form posts. */
  action: string;
  csrfToken: string;
  interactionId: string;
  /** Prefilled email (from `login_hint` or a failed attempt), or null. */
  email: string | null;
  error: string | null;
  signUpHref: string;
  /** Ends the interaction with `access_denied`. */
  cancel: CancelForm;
}

/**
 * The hosted sign-in page: email and password, a cancel button and a way to create an account.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#Authenticates
 */
export function renderSignInPage(input: SignInPageInput): string {
  const prefilled = Boolean(input.email);
  const body = html`<h1>Sign in</h1>
<p class="subtitle">to continue to <strong>${input.clientName}</strong></p>
${input.error ? html`<div class="alert" role="alert">${input.error}</div>` : null}
<form class="form" method="post" action="${input.action}">
<input type="hidden" name="interaction" value="${input.interactionId}">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
${renderField({ name: 'email', label: 'Email', type: 'email', autocomplete: 'username', value: input.email, required: true, autofocus: !prefilled })}
${renderField({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true, autofocus: prefilled })}
<div class="actions">
<button class="button button-primary" type="submit">Sign in</button>
${renderCancelButton()}
</div>
</form>
${renderCancelForm(input.cancel)}
<hr class="divider">
<p class="switch">Don't have an account? <a class="link" href="${input.signUpHref}">Create an account</a></p>`;
  return renderPage({
    branding: input.branding,
    title: 'Sign in',
    body,
    stylesheetHref: input.stylesheetHref,
  });
}
