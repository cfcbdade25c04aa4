import type { Context, Hono } from 'hono';
import { decideAuthorization } from '../../protocol/authorize/decide.ts';
import { validateAuthorizationRequest } from '../../protocol/authorize/index.ts';
import { issueAuthorizationCode } from '../../protocol/authorize/issue-code.ts';
import { buildAuthorizationResponse } from '../../protocol/authorize/respond.ts';
import { collectParams } from '../../protocol/params.ts';
import { findLiveSession, touchSession } from '../../protocol/sessions.ts';
import { readSessionCookie } from '../cookies.ts';
import type { AppEnv } from '../env.ts';
import { interactionUrl, startInteraction } from '../login/interaction-flow.ts';
import { type PageChrome, sendAuthorizationResponse, sendPage } from '../pages.ts';
import { renderErrorPage } from '../views/error-page.ts';

/**
 * `GET|POST /oauth/authorize`: validate, then single sign-on, a hosted page, or an error.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthorizationEndpoint
 */
export function authorizeRoutes(app: Hono<AppEnv>, chrome: PageChrome): void {
  const handle = async (c: Context<AppEnv>) => {
    const ctx = c.get('ctx');
    const query = new URL(c.req.url).searchParams;
    let body = new URLSearchParams();
    if (c.req.method === 'POST') {
      if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '')) {
        return sendPage(
          c,
          400,
          renderErrorPage,
          {
            title: 'Invalid sign-in request',
            message:
              'The app sent a sign-in request this server cannot read. Go back to the app and try again.',
            code: 'invalid_request',
          },
          chrome,
        );
      }
      body = new URLSearchParams(await c.req.text());
    }
    const validation = await validateAuthorizationRequest(ctx.store, ctx.config, collectParams(query, body));
    if (!validation.ok && !validation.redirectable) {
      const { error } = validation;
      if (error.code === 'server_error' || error.code === 'temporarily_unavailable') throw error;
      ctx.logger.info(
        { error: error.code, detail: error.detail ?? error.description },
        'authorization request refused',
      );
      return sendPage(
        c,
        400,
        renderErrorPage,
        {
          title: 'This sign-in link is not valid',
          message: `${error.description}. Go back to the app and try again; if it keeps happening, tell the app's support team.`,
          code: error.code,
        },
        chrome,
      );
    }
    if (!validation.ok) {
      const { error } = validation;
      if (error.code === 'server_error')
        ctx.logger.error({ err: error.cause }, 'authorization request failed');
      const response = buildAuthorizationResponse({
        redirectUri: validation.redirectUri,
        responseMode: validation.responseMode,
        issuer: ctx.config.envUrl,
        params: { error: error.code, error_description: error.description, state: validation.state },
      });
      return sendAuthorizationResponse(c, response, chrome);
    }
    const { request } = validation;
    const session = await findLiveSession(ctx, readSessionCookie(c));
    const decision = await decideAuthorization(ctx, request, session);
    if (decision.kind === 'error') {
      const response = buildAuthorizationResponse({
        redirectUri: request.redirectUri,
        responseMode: request.responseMode,
        issuer: ctx.config.envUrl,
        params: {
          error: decision.error.code,
          error_description: decision.error.description,
          state: request.state,
        },
      });
      return sendAuthorizationResponse(c, response, chrome);
    }
    if (decision.kind === 'issue') {
      const response = await issueAuthorizationCode(ctx, {
        request,
        session: decision.session,
        organizationId: decision.organizationId,
      });
      await touchSession(ctx, decision.session);
      return sendAuthorizationResponse(c, response, chrome);
    }
    const interaction = await startInteraction(c, request);
    if (decision.page === 'select-organization' && decision.session) {
      await ctx.store.interactions.setUser(interaction.id, decision.session.userId, decision.session.id);
    }
    c.header('Cache-Control', 'no-store');
    return c.redirect(interactionUrl(decision.page, interaction), 303);
  };
  app.get('/oauth/authorize', handle);
  app.post('/oauth/authorize', handle);
}
