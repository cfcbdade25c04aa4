import type { Branding } from './branding.ts';
import { type CancelForm, renderCancelButton, renderCancelForm } from './cancel-form.ts';
import { renderField } from './field.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';

/** Messages for a rejected sign-up, by field; `form` is for what belongs to no single field. */
export interface SignUpErrors {
  email?: string;
  password?: string;
  name?: string;
  form?: string;
}

/** What the sign-up form needs; values come back after a rejected attempt (never the password). */
export interface SignUpPageInput {
  branding: Branding;
  stylesheetHref: string;
  clientName: string;
  action: string;
  csrfToken: string;
  interactionId: string;
  email: string | null;
  name: string | null;
  errors: SignUpErrors;
  signInHref: string;
  /** Ends the interaction with `access_denied`. */
  cancel: CancelForm;
  passwordMinLength: number;
}

/**
 * The hosted sign-up page (`prompt=create` or the link from sign-in): email, password and name.
 * @see https://openid.net/specs/openid-connect-prompt-create-1_0.html
 */
export function renderSignUpPage(input: SignUpPageInput): string {
  const { errors } = input;
  // Focus the first field that needs fixing, else the first field.
  const focus = errors.email ? 'email' : errors.password ? 'password' : errors.name ? 'name' : 'email';
  const body = html`<h1>Create your account</h1>
<p class="subtitle">to continue to <strong>${input.clientName}</strong></p>
${errors.form ? html`<div class="alert" role="alert">${errors.form}</div>` : null}
<form class="form" method="post" action="${input.action}">
<input type="hidden" name="interaction" value="${input.interactionId}">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
${renderField({ name: 'email', label: 'Email', type: 'email', autocomplete: 'username', value: input.email, required: true, error: errors.email, autofocus: focus === 'email' })}
${renderField({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', required: true, minLength: input.passwordMinLength, hint: `At least ${input.passwordMinLength} characters`, error: errors.password, autofocus: focus === 'password' })}
${renderField({ name: 'name', label: 'Name', type: 'text', autocomplete: 'name', value: input.name, error: errors.name, autofocus: focus === 'name' })}
<div class="actions">
<button class="button button-primary" type="submit">Create account</button>
${renderCancelButton()}
</div>
</form>
${renderCancelForm(input.cancel)}
<hr class="divider">
<p class="switch">Already have an account? <a class="link" href="${input.signInHref}">Sign in</a></p>`;
  return renderPage({
    branding: input.branding,
    title: 'Create your account',
    body,
    stylesheetHref: input.stylesheetHref,
  });
}
