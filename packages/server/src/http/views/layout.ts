import type { Branding } from './branding.ts';
import type { SafeHtml } from './html.ts';
import { html, raw } from './html.ts';

/** What every hosted page is made of. */
export interface PageInput {
  branding: Branding;
  /** The page's own title; the brand name is appended. */
  title: string;
  body: SafeHtml;
  /** URL of the stylesheet the server serves from its own origin. */
  stylesheetHref: string;
  /** The per-response CSP nonce; required when `script` is given. */
  scriptNonce?: string;
  /** Trusted JavaScript written by the server, never built from request data. */
  script?: string;
}

const lockIcon = raw(
  '<svg viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.5" aria-hidden="true" focusable="false"><rect x="3" y="7" width="10" height="7" rx="1.5"/><path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2"/></svg>',
);

/** The first letter of the brand name, for the letter mark shown when there is no logo. */
function initial(name: string): string {
  return (Array.from(name.trim())[0] ?? '?').toUpperCase();
}

function renderBrand(branding: Branding): SafeHtml {
  const mark = branding.logoUrl
    ? html`<img class="brand-logo" src="${branding.logoUrl}" alt="">`
    : html`<span class="brand-mark" aria-hidden="true">${initial(branding.name)}</span>`;
  // A logo usually carries the name already; keep the name for screen readers only.
  const nameClass = branding.logoUrl ? 'visually-hidden' : 'brand-name';
  return html`<header class="brand">${mark}<p class="${nameClass}">${branding.name}</p></header>`;
}

function renderScript(script: string | undefined, nonce: string | undefined): SafeHtml | null {
  if (script === undefined) return null;
  if (!nonce) throw new TypeError('renderPage: scriptNonce is required with script (CSP script-src nonce)');
  // The script is raw text inside <script>; these sequences would end it or change how it parses.
  if (/<\/script|<!--/i.test(script))
    throw new TypeError('renderPage: script must not contain "</script" or "<!--"');
  return html`<script nonce="${nonce}">${raw(script)}</script>`;
}

/**
 * A complete hosted page: the branded card around `body`, the external stylesheet and an optional
 * nonce-carrying script, with nothing inline that a strict Content-Security-Policy would block.
 * @see https://www.w3.org/TR/CSP3/#security-nonces
 */
export function renderPage(input: PageInput): string {
  const { branding } = input;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${input.title} · ${branding.name}</title>
<link rel="icon" href="${branding.logoUrl ?? 'data:,'}">
<link rel="stylesheet" href="${input.stylesheetHref}">
</head>
<body>
<div class="shell">
<div class="card">
${renderBrand(branding)}
<main>
${input.body}
</main>
</div>
<footer class="footer">${lockIcon}<span>Secured by <strong>Sesame</strong></span></footer>
</div>
${renderScript(input.script, input.scriptNonce)}
</body>
</html>
`.toString();
}
