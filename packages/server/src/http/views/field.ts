import type { SafeHtml } from './html.ts';
import { html } from './html.ts';

/** One labelled form input with its optional hint and error. */
export interface FieldInput {
  /** Both the form field name and the element id, so each name appears once per form. */
  name: string;
  label: string;
  type: 'email' | 'password' | 'text';
  autocomplete: string;
  /** Ignored for passwords, which are never sent back to the browser. */
  value?: string | null;
  required?: boolean;
  autofocus?: boolean;
  minLength?: number;
  hint?: string | null;
  error?: string | null;
}

/**
 * A `<label for>` and its input; the hint and the error are tied to the input with
 * `aria-describedby`, and an error also sets `aria-invalid`.
 * @see https://www.w3.org/WAI/WCAG22/Techniques/aria/ARIA21
 */
export function renderField(field: FieldInput): SafeHtml {
  const hintId = `${field.name}-hint`;
  const errorId = `${field.name}-error`;
  const describedBy = [field.hint ? hintId : null, field.error ? errorId : null].filter(Boolean).join(' ');
  const value = field.type === 'password' ? null : (field.value ?? null);
  return html`<div class="field">
<label class="label" for="${field.name}">${field.label}</label>
<input class="input" id="${field.name}" type="${field.type}" name="${field.name}"${value ? html` value="${value}"` : null} autocomplete="${field.autocomplete}"${field.type === 'email' ? html` autocapitalize="none" spellcheck="false"` : null}${field.minLength === undefined ? null : html` minlength="${field.minLength}"`}${field.required ? html` required` : null}${field.error ? html` aria-invalid="true"` : null}${describedBy ? html` aria-describedby="${describedBy}"` : null}${field.autofocus ? html` autofocus` : null}>
${field.hint ? html`<p class="hint" id="${hintId}">${field.hint}</p>` : null}
${field.error ? html`<p class="field-error" id="${errorId}">${field.error}</p>` : null}
</div>`;
}
