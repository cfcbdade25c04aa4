import { html, type SafeHtml } from './html.ts';

/** The cancel form of a hosted page: ends the interaction with `access_denied`. */
export interface CancelForm {
  /** Where it posts (`/login/cancel`, with the app's client_id). */
  action: string;
  interactionId: string;
  csrfToken: string;
}

const cancelFormId = 'cancel-sign-in';

/**
 * The Cancel button, placed with the page form's own buttons. It submits the separate cancel form
 * (`form` attribute), so a cancel is a POST with its own CSRF token — a link would let any page
 * cancel someone's sign-in — and never carries what was typed into the page's form.
 */
export function renderCancelButton(): SafeHtml {
  return html`<button class="button button-ghost" type="submit" form="${cancelFormId}">Cancel</button>`;
}

/** The form the Cancel button submits; it has no visible content of its own. */
export function renderCancelForm(cancel: CancelForm): SafeHtml {
  return html`<form id="${cancelFormId}" method="post" action="${cancel.action}">
<input type="hidden" name="interaction" value="${cancel.interactionId}">
<input type="hidden" name="csrf_token" value="${cancel.csrfToken}">
</form>`;
}
