import type { Context, Hono } from 'hono';
import { OAuthError } from '../../protocol/errors.ts';
import {
  type LogoutOutcome,
  type LogoutRequest,
  parseLogoutRequest,
  performLogout,
} from '../../protocol/logout.ts';
import { collectParams } from '../../protocol/params.ts';
import { findLiveSession } from '../../protocol/sessions.ts';
import { clearSessionCookie, issueCsrfToken, readSessionCookie, verifyCsrfToken } from '../cookies.ts';
import type { AppEnv } from '../env.ts';
import { type PageChrome, sendPage } from '../pages.ts';
import { renderErrorPage } from '../views/error-page.ts';
import { renderLogoutConfirmPage } from '../views/logout-confirm-page.ts';
import { renderSignedOutPage } from '../views/signed-out-page.ts';

type Ctx = Context<AppEnv>;

const confirmPurpose = 'logout';

/**
 * `GET|POST /oidc/logout` (RP-Initiated Logout): a browser navigation, so the session cookie
 * comes along.
 * @see https://openid.net/specs/openid-connect-rpinitiated-1_0.html
 */
export function logoutRoutes(app: Hono<AppEnv>, chrome: PageChrome): void {
  const handle = async (c: Ctx) => {
    const ctx = c.get('ctx');
    let body = new URLSearchParams();
    if (c.req.method === 'POST') {
      if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '')) {
        return invalid(c, new OAuthError('invalid_request', 'The logout request must be form-encoded'));
      }
      body = new URLSearchParams(await c.req.text());
    }
    const params = collectParams(new URL(c.req.url).searchParams, body);
    const confirmation = c.req.method === 'POST' ? body.get('confirm') : null;
    let request: LogoutRequest;
    try {
      request = await parseLogoutRequest(ctx, params);
    } catch (err) {
      if (err instanceof OAuthError && err.code === 'invalid_request') return invalid(c, err);
      throw err;
    }
    const session = await findLiveSession(ctx, readSessionCookie(c));
    if (confirmation !== null) {
      if (!verifyCsrfToken(c, body.get('csrf_token'), confirmPurpose)) {
        return confirmPage(c, request, 403);
      }
      if (confirmation !== 'yes') {
        return sendPage(
          c,
          200,
          renderErrorPage,
          {
            title: 'You are still signed in',
            message: 'Nothing was changed. You can close this window or go back to the app.',
            code: null,
          },
          chrome,
        );
      }
    }
    const outcome = await performLogout(ctx, { request, session, confirmed: confirmation === 'yes' });
    return finish(c, outcome);
  };

  const finish = (c: Ctx, outcome: LogoutOutcome) => {
    if (outcome.kind === 'confirm') return confirmPage(c, outcome.request, 200);
    clearSessionCookie(c);
    c.header('Cache-Control', 'no-store');
    if (outcome.kind === 'redirect') return c.redirect(outcome.location, 303);
    return sendPage(c, 200, renderSignedOutPage, { appUnidentified: outcome.unverifiedRedirect }, chrome);
  };

  const confirmPage = async (c: Ctx, request: LogoutRequest, status: 200 | 403) => {
    const ctx = c.get('ctx');
    const session = await findLiveSession(ctx, readSessionCookie(c));
    const user = session ? await ctx.store.users.get(session.userId) : null;
    const hiddenFields: Record<string, string> = {};
    if (request.client) hiddenFields['client_id'] = request.client.id;
    const redirectUri = request.postLogoutRedirectUri ?? request.unverifiedRedirectUri;
    if (redirectUri) hiddenFields['post_logout_redirect_uri'] = redirectUri;
    if (request.state !== null) hiddenFields['state'] = request.state;
    return sendPage(
      c,
      status,
      renderLogoutConfirmPage,
      {
        clientName: request.client?.name ?? null,
        email: user?.email ?? null,
        action: '/oidc/logout',
        csrfToken: issueCsrfToken(c, confirmPurpose),
        hiddenFields,
      },
      chrome,
    );
  };

  const invalid = (c: Ctx, err: OAuthError) => {
    c.get('ctx').logger.info({ error: err.code, detail: err.description }, 'logout request refused');
    return sendPage(
      c,
      400,
      renderErrorPage,
      {
        title: 'This sign-out link is not valid',
        message: `${err.description}. Your session was not changed.`,
        code: err.code,
      },
      chrome,
    );
  };

  app.get('/oidc/logout', handle);
  app.post('/oidc/logout', handle);
}
