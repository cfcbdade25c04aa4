import type { SessionUser } from '@sesame/sdk';

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const e = (text: string | null | undefined) => (text ?? '').replace(/[&<>"']/g, (c) => escapes[c] as string);

function layout(title: string, appName: string, body: string, scripts: string[] = []): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} · ${e(appName)}</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header class="topbar"><a class="brand" href="/">${e(appName)}</a></header>
<main class="container">${body}</main>
${scripts.map((src) => `<script src="${e(src)}" defer></script>`).join('\n')}
</body>
</html>`;
}

/** Home: signed out shows **Sign in**; signed in links to the dashboard. */
export function homePage(appName: string, user: SessionUser | null): string {
  const body = user
    ? `<section class="card hero"><h1>Welcome back${user.name ? `, ${e(user.name)}` : ''}</h1>
       <p>You are signed in as <strong>${e(user.email)}</strong>.</p>
       <p><a class="button" href="/dashboard">Open dashboard</a> <a class="button secondary" href="/auth/logout">Sign out</a></p></section>`
    : `<section class="card hero"><h1>${e(appName)}</h1>
       <p>A web application that signs people in with the OAuth 2.0 Authorization Code flow.</p>
       <p><a class="button" href="/auth/login?return_to=%2Fdashboard">Sign in</a></p></section>`;
  return layout('Home', appName, body);
}

/**
 * Dashboard: who is signed in, their organization and roles, and the access token's remaining life.
 * `now` is the server's clock in epoch seconds: the page counts down from it, so a browser whose
 * clock is off still shows the token's real remaining life.
 */
export function dashboardPage(appName: string, user: SessionUser, expiresAt: number, now: number): string {
  const roles =
    user.roles.length > 0
      ? user.roles.map((r) => `<span class="pill">${e(r)}</span>`).join(' ')
      : '<span class="muted">none</span>';
  const body = `<section class="card">
  <h1>Dashboard</h1>
  <dl class="facts">
    <dt>Name</dt><dd data-testid="name">${e(user.name) || '<span class="muted">—</span>'}</dd>
    <dt>Email</dt><dd data-testid="email">${e(user.email)}</dd>
    <dt>Organization</dt><dd data-testid="organization"><code>${e(user.organizationId) || '—'}</code></dd>
    <dt>Roles</dt><dd data-testid="roles">${roles}</dd>
    <dt>Access token</dt><dd>expires in <strong id="token-life" data-expires-at="${expiresAt}" data-server-now="${now}">${Math.max(0, expiresAt - now)} s</strong></dd>
  </dl>
  <div class="actions">
    <button id="call-api" class="button" type="button">Call protected API</button>
    <button id="refresh-now" class="button secondary" type="button">Refresh now</button>
    <a id="sign-out" class="button secondary" href="/auth/logout">Sign out</a>
  </div>
  <pre id="api-result" class="result" aria-live="polite"></pre>
</section>`;
  return layout('Dashboard', appName, body, ['/sesame.js', '/app.js']);
}
