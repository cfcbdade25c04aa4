import type { SesameAuthOptions, SessionUser } from '@sesame/sdk';
import { requireAuth, type SesameVariables, sesame } from '@sesame/sdk/hono';
import { Hono } from 'hono';
import { html } from 'hono/html';

export interface SecondAppOptions {
  auth: SesameAuthOptions;
  appName?: string;
}

const styles = `body{margin:0;font:16px/1.55 system-ui,sans-serif;background:#f0fdf4;color:#052e16}
header{background:#fff;border-bottom:1px solid #dcfce7;padding:.9rem 1.5rem;font-weight:700}
main{max-width:40rem;margin:3rem auto;padding:0 1rem}
.card{background:#fff;border-radius:14px;box-shadow:0 1px 3px rgb(0 0 0/8%);padding:2rem}
.button{display:inline-block;background:#15803d;color:#fff;padding:.6rem 1.2rem;border-radius:8px;text-decoration:none;font-weight:600}
.button.secondary{background:#ecfdf5;color:#052e16}
dl{display:grid;grid-template-columns:8rem 1fr;gap:.4rem 1rem}dt{color:#4b5563}dd{margin:0}`;

function page(appName: string, title: string, body: ReturnType<typeof html>) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${appName}</title><link rel="stylesheet" href="/style.css"></head>
<body><header>${appName}</header><main>${body}</main></body></html>`;
}

/** A second app of the same environment: signing in here reuses the session of the first (SSO). */
export function createSecondApp(options: SecondAppOptions): Hono<{ Variables: SesameVariables }> {
  const appName = options.appName ?? 'Second app';
  const app = new Hono<{ Variables: SesameVariables }>();
  app.get('/style.css', (c) => c.body(styles, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    c.header('X-Content-Type-Options', 'nosniff');
  });
  app.use('*', sesame(options.auth));

  app.get('/', (c) => {
    const state = c.get('auth');
    const user: SessionUser | null = state.status === 'authenticated' ? state.user : null;
    return c.html(
      page(
        appName,
        'Home',
        user
          ? html`<section class="card"><h1>Hello${user.name ? `, ${user.name}` : ''}</h1>
            <p>Signed in as <strong data-testid="email">${user.email}</strong> — no second password needed.</p>
            <p><a class="button" href="/profile">Profile</a> <a class="button secondary" href="/auth/logout">Sign out</a></p></section>`
          : html`<section class="card"><h1>${appName}</h1><p>Shares one sign-in with the other apps of this environment.</p>
            <p><a class="button" href="/auth/login?return_to=%2Fprofile">Sign in</a></p></section>`,
      ),
    );
  });

  app.get('/profile', requireAuth(), (c) => {
    const state = c.get('auth');
    if (state.status !== 'authenticated') return c.notFound();
    const { user } = state;
    c.header('Cache-Control', 'no-store');
    return c.html(
      page(
        appName,
        'Profile',
        html`<section class="card"><h1>Profile</h1><dl>
          <dt>Name</dt><dd data-testid="name">${user.name ?? '—'}</dd>
          <dt>Email</dt><dd data-testid="email">${user.email}</dd>
          <dt>Organization</dt><dd><code>${user.organizationId ?? '—'}</code></dd>
          <dt>Session</dt><dd><code data-testid="sid">${user.sid ?? '—'}</code></dd></dl>
          <p><a class="button secondary" href="/auth/logout">Sign out</a></p></section>`,
      ),
    );
  });

  app.get('/api/me', requireAuth(), (c) => {
    const state = c.get('auth');
    return state.status === 'authenticated' ? c.json({ user: state.user }) : c.notFound();
  });
  return app;
}
