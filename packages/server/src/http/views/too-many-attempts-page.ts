import type { Branding } from './branding.ts';
import { html } from './html.ts';
import { renderPage } from './layout.ts';
import { renderStatusIcon } from './status-icon.ts';

/** What the rate-limit page needs; the same number belongs in the `Retry-After` header. */
export interface TooManyAttemptsPageInput {
  branding: Branding;
  stylesheetHref: string;
  retryAfterSeconds: number;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * A wait rounded up (never promising an earlier retry than the limiter allows) to a unit a person
 * thinks in: seconds under a minute, minutes under two hours unless whole hours, then hours.
 */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return plural(s, 'second');
  const minutes = Math.ceil(s / 60);
  if (minutes % 60 === 0) return plural(minutes / 60, 'hour');
  if (minutes < 120) return plural(minutes, 'minute');
  return plural(Math.ceil(minutes / 60), 'hour');
}

/**
 * The HTTP 429 page shown when repeated sign-in failures for an account or an address are refused.
 * @see https://www.rfc-editor.org/rfc/rfc6585#section-4
 */
export function renderTooManyAttemptsPage(input: TooManyAttemptsPageInput): string {
  const body = html`${renderStatusIcon('wait')}
<h1 class="heading-gap">Too many attempts</h1>
<p class="text">Please wait ${formatWait(input.retryAfterSeconds)} before trying again.</p>`;
  return renderPage({
    branding: input.branding,
    title: 'Too many attempts',
    body,
    stylesheetHref: input.stylesheetHref,
  });
}
