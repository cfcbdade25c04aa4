import type { SafeHtml } from './html.ts';
import { raw } from './html.ts';

/** The pictures a status page can open with; each is decoration beside a heading that says it all. */
export type StatusIcon = 'signed-out' | 'error' | 'expired' | 'wait' | 'redirect';

const paths: Record<StatusIcon, string> = {
  'signed-out': '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  error: '<path d="M12 7.5v5.5"/><path d="M12 16.5h.01"/><circle cx="12" cy="12" r="9"/>',
  expired: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
  wait: '<path d="M7 3h10M7 21h10M8 3v3.5a4 4 0 0 0 1.6 3.2L12 11.5l2.4-1.8A4 4 0 0 0 16 6.5V3M8 21v-3.5a4 4 0 0 1 1.6-3.2l2.4-1.8 2.4 1.8a4 4 0 0 1 1.6 3.2V21"/>',
  redirect: '<path d="M5 12h13"/><path d="M13 6l6 6-6 6"/>',
};

/** A round, decorative status icon (hidden from assistive technology) in the accent or danger tint. */
export function renderStatusIcon(kind: StatusIcon): SafeHtml {
  const tone = kind === 'error' || kind === 'wait' ? ' status-icon-danger' : '';
  return raw(
    `<div class="status-icon${tone}" aria-hidden="true"><svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" focusable="false">${paths[kind]}</svg></div>`,
  );
}
