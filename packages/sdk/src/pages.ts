import { createHash } from 'node:crypto';

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c] as string);
}

const messages: Record<string, string> = {
  access_denied: 'Sign-in was cancelled.',
  login_required: 'Please sign in again.',
  invalid_request: 'The sign-in request was not valid.',
  server_error: 'The sign-in service had a problem.',
  temporarily_unavailable: 'The sign-in service is briefly unavailable.',
};

/**
 * Codes shown as received: OAuth 2.0 (RFC 6749 §4.1.2.1, §5.2) and OpenID Connect (Core §3.1.2.6)
 * error codes, and the SDK's own. Anything else came from a URL anyone can craft and may even
 * hold a token: it is logged, never echoed.
 */
const knownCodes = new Set([
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'invalid_client',
  'invalid_grant',
  'unsupported_grant_type',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
]);

const errorPageStyle = `body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1f2328;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:2rem 2.5rem;max-width:26rem;text-align:center}
h1{font-size:1.3rem;margin:0 0 .5rem}p{color:#4b5563}code{font-size:.8rem;color:#6b7280}
a.button{display:inline-block;margin-top:1rem;background:#4f46e5;color:#fff;padding:.6rem 1.4rem;border-radius:8px;text-decoration:none;font-weight:600}`;

/**
 * The error page's own Content-Security-Policy: it allows exactly its inline stylesheet (by hash),
 * so the page renders under an app whose policy forbids inline styles, and nothing else.
 */
export const errorPageContentSecurityPolicy = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(errorPageStyle).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/**
 * The friendly page a failed sign-in ends on: what happened in plain words and a **Try again**
 * link. Never a token, never a stack trace; a known error code is shown for support.
 */
export function renderErrorPage(input: { title: string; code: string; retryHref: string }): string {
  const message = messages[input.code] ?? 'Something went wrong while signing you in.';
  const code =
    knownCodes.has(input.code) || /^ERR_[A-Z_]{1,40}$/.test(input.code) ? input.code : 'unknown_error';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>${errorPageStyle}</style>
</head><body><main><h1>${escapeHtml(input.title)}</h1><p>${escapeHtml(message)}</p>
<p><code>${escapeHtml(code)}</code></p><a class="button" href="${escapeHtml(input.retryHref)}">Try again</a></main></body></html>`;
}
