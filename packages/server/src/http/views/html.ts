/**
 * Escaped HTML building for the hosted pages: a tagged template that escapes every interpolated
 * value unless it is already markup, so a page can only contain raw text that code asked for.
 * @see https://html.spec.whatwg.org/multipage/syntax.html#escapingString
 */

const safeHtmlBrand: unique symbol = Symbol('SafeHtml');

/** A string of markup known to be safe to place in an HTML document as is. */
export interface SafeHtml {
  readonly [safeHtmlBrand]: true;
  toString(): string;
}

/** Anything `html` accepts between `${` and `}`. */
export type HtmlValue = SafeHtml | string | number | null | undefined | false | readonly HtmlValue[];

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for use in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (ch) => escapes[ch]!);
}

/** True when `value` was produced by `html` or `raw`. */
export function isSafeHtml(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && safeHtmlBrand in value;
}

/** Marks trusted markup (never anything a person or a client sent) as safe to embed. */
export function raw(markup: string): SafeHtml {
  return { [safeHtmlBrand]: true, toString: () => markup };
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (isSafeHtml(value)) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Builds markup from a template, escaping each interpolated value that is not already `SafeHtml`. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return raw(out);
}
