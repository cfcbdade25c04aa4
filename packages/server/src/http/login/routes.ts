import type { Context, Hono } from 'hono';
import { passwordMinLength } from '../../accounts/passwords.ts';
import { signInWithPassword } from '../../accounts/sign-in.ts';
import { signUpWithPassword } from '../../accounts/sign-up.ts';
import { issueAuthorizationCode } from '../../protocol/authorize/issue-code.ts';
import { OAuthError } from '../../protocol/errors.ts';
import { findLiveSession } from '../../protocol/sessions.ts';
import type { Interaction } from '../../storage/types.ts';
import { issueCsrfToken, readSessionCookie, verifyCsrfToken } from '../cookies.ts';
import type { AppEnv } from '../env.ts';
import { type PageChrome, readForm, sendAuthorizationResponse, sendPage } from '../pages.ts';
import { renderErrorPage } from '../views/error-page.ts';
import { renderSelectOrganizationPage } from '../views/select-organization-page.ts';
import { renderSignInPage } from '../views/sign-in-page.ts';
import { renderSignUpPage } from '../views/sign-up-page.ts';
import { renderStartAgainPage } from '../views/start-again-page.ts';
import { renderTooManyAttemptsPage } from '../views/too-many-attempts-page.ts';
import {
  type FinishOutcome,
  finishSignIn,
  finishWithError,
  interactionUrl,
  loadInteraction,
} from './interaction-flow.ts';

type Ctx = Context<AppEnv>;

/** The hosted sign-in, sign-up, organization choice and cancel pages. */
export function loginRoutes(app: Hono<AppEnv>, chrome: PageChrome): void {
  /** A dead or unknown interaction: back to the app's sign-in when it has one, else a page. */
  const startAgain = async (c: Ctx, interactionId?: string | null) => {
    const { store } = c.get('ctx');
    let clientId = c.req.query('client_id');
    // A submitted form names only its interaction; an expired or finished one still names its app.
    if (!clientId && interactionId && interactionId.length <= 100 && interactionId.startsWith('int_'))
      clientId = (await store.interactions.get(interactionId))?.request.clientId;
    const client = clientId && clientId.length <= 200 ? await store.clients.get(clientId) : null;
    if (client?.initiateLoginUri) {
      c.header('Cache-Control', 'no-store');
      return c.redirect(client.initiateLoginUri, 303);
    }
    return sendPage(
      c,
      400,
      renderStartAgainPage,
      { clientName: client?.name ?? null, restartHref: null },
      chrome,
    );
  };

  const respond = (c: Ctx, outcome: FinishOutcome, interactionId?: string) => {
    if (outcome.kind === 'stale') return startAgain(c, interactionId);
    if (outcome.kind === 'select-organization') return c.redirect(outcome.url, 303);
    return sendAuthorizationResponse(c, outcome.response, chrome);
  };

  const clientName = async (c: Ctx, interaction: Interaction) =>
    (await c.get('ctx').store.clients.get(interaction.request.clientId))?.name ?? 'the app';

  // The client id rides on the form's URL too, so a form submitted after its interaction expired
  // (or was swept) can still send the browser back to the app's initiate-login URI.
  const formAction = (path: string, interaction: Interaction) =>
    `${path}?${new URLSearchParams({ client_id: interaction.request.clientId })}`;

  const signInPage = async (
    c: Ctx,
    interaction: Interaction,
    status: 200 | 401 | 403,
    email: string | null,
    error: string | null,
  ) =>
    sendPage(
      c,
      status,
      renderSignInPage,
      {
        clientName: await clientName(c, interaction),
        action: formAction('/login', interaction),
        csrfToken: issueCsrfToken(c, `login:${interaction.id}`),
        interactionId: interaction.id,
        email,
        error,
        signUpHref: interactionUrl('sign-up', interaction),
        cancel: cancelForm(c, interaction),
      },
      chrome,
    );

  const signUpPage = async (
    c: Ctx,
    interaction: Interaction,
    status: 200 | 400 | 403 | 409,
    values: { email: string | null; name: string | null },
    errors: Parameters<typeof renderSignUpPage>[0]['errors'],
  ) =>
    sendPage(
      c,
      status,
      renderSignUpPage,
      {
        clientName: await clientName(c, interaction),
        action: formAction('/signup', interaction),
        csrfToken: issueCsrfToken(c, `signup:${interaction.id}`),
        interactionId: interaction.id,
        email: values.email,
        name: values.name,
        errors,
        signInHref: interactionUrl('sign-in', interaction),
        cancel: cancelForm(c, interaction),
        passwordMinLength,
      },
      chrome,
    );

  const cancelForm = (c: Ctx, interaction: Interaction) => ({
    action: formAction('/login/cancel', interaction),
    interactionId: interaction.id,
    csrfToken: issueCsrfToken(c, `cancel:${interaction.id}`),
  });

  const formExpired = 'This form expired. Please try again.';

  app.get('/login', async (c) => {
    const interaction = await loadInteraction(c, c.req.query('interaction'));
    if (!interaction) return startAgain(c);
    if (interaction.userId) return c.redirect(interactionUrl('select-organization', interaction), 303);
    return signInPage(c, interaction, 200, interaction.request.loginHint, null);
  });

  app.post('/login', async (c) => {
    const form = await readForm(c);
    if (!form) return badForm(c, chrome);
    const interaction = await loadInteraction(c, form.get('interaction'));
    if (!interaction) return startAgain(c, form.get('interaction'));
    const email = (form.get('email') ?? '').slice(0, 320);
    if (!verifyCsrfToken(c, form.get('csrf_token'), `login:${interaction.id}`)) {
      return signInPage(c, interaction, 403, email || null, formExpired);
    }
    const password = form.get('password') ?? '';
    if (!email || !password || password.length > 1024) {
      return signInPage(c, interaction, 401, email || null, 'Enter your email and password.');
    }
    const result = await signInWithPassword(c.get('ctx'), {
      email,
      password,
      address: c.get('clientAddress'),
    });
    if (result.kind === 'limited') {
      c.header('Retry-After', String(result.retryAfterSeconds));
      return sendPage(
        c,
        429,
        renderTooManyAttemptsPage,
        { retryAfterSeconds: result.retryAfterSeconds },
        chrome,
      );
    }
    if (result.kind === 'invalid')
      return signInPage(c, interaction, 401, email, 'Incorrect email or password.');
    return respond(c, await finishSignIn(c, interaction, result.user), interaction.id);
  });

  app.get('/signup', async (c) => {
    const interaction = await loadInteraction(c, c.req.query('interaction'));
    if (!interaction) return startAgain(c);
    return signUpPage(c, interaction, 200, { email: interaction.request.loginHint, name: null }, {});
  });

  app.post('/signup', async (c) => {
    const form = await readForm(c);
    if (!form) return badForm(c, chrome);
    const interaction = await loadInteraction(c, form.get('interaction'));
    if (!interaction) return startAgain(c, form.get('interaction'));
    const values = {
      email: (form.get('email') ?? '').slice(0, 320),
      name: (form.get('name') ?? '').slice(0, 200),
    };
    if (!verifyCsrfToken(c, form.get('csrf_token'), `signup:${interaction.id}`)) {
      return signUpPage(c, interaction, 403, values, { form: formExpired });
    }
    const password = (form.get('password') ?? '').slice(0, 1024);
    const result = await signUpWithPassword(c.get('ctx'), { ...values, password });
    if (result.kind === 'invalid') {
      return signUpPage(
        c,
        interaction,
        result.errors.email?.includes('already exists') ? 409 : 400,
        values,
        result.errors,
      );
    }
    return respond(c, await finishSignIn(c, interaction, result.user), interaction.id);
  });

  const organizationStep = async (c: Ctx, id: string | null | undefined) => {
    const interaction = await loadInteraction(c, id);
    if (!interaction?.userId || !interaction.sessionId) return { interaction: null };
    // The choice belongs to the browser that signed in: its session must be the one recorded.
    const session = await findLiveSession(c.get('ctx'), readSessionCookie(c));
    if (!session || session.id !== interaction.sessionId) return { interaction: null };
    return { interaction, session };
  };

  app.get('/login/organization', async (c) => {
    const { interaction } = await organizationStep(c, c.req.query('interaction'));
    if (!interaction) return startAgain(c);
    return organizationPage(c, interaction, 200);
  });

  const organizationPage = async (c: Ctx, interaction: Interaction, status: 200 | 400 | 403) => {
    const { store } = c.get('ctx');
    const userId = interaction.userId as string;
    const user = await store.users.get(userId);
    const memberships = await store.memberships.listForUser(userId);
    const organizations = [];
    for (const m of memberships) {
      const org = await store.organizations.get(m.organizationId);
      if (org) organizations.push({ id: org.id, name: org.name });
    }
    return sendPage(
      c,
      status,
      renderSelectOrganizationPage,
      {
        clientName: await clientName(c, interaction),
        action: formAction('/login/organization', interaction),
        csrfToken: issueCsrfToken(c, `organization:${interaction.id}`),
        interactionId: interaction.id,
        email: user?.email ?? null,
        organizations,
      },
      chrome,
    );
  };

  app.post('/login/organization', async (c) => {
    const form = await readForm(c);
    if (!form) return badForm(c, chrome);
    const { interaction, session } = await organizationStep(c, form.get('interaction'));
    if (!interaction || !session) return startAgain(c, form.get('interaction'));
    if (!verifyCsrfToken(c, form.get('csrf_token'), `organization:${interaction.id}`)) {
      return organizationPage(c, interaction, 403);
    }
    const ctx = c.get('ctx');
    const organizationId = form.get('organization_id') ?? '';
    const member = await ctx.store.memberships.get(organizationId.slice(0, 100), session.userId);
    if (!member) return organizationPage(c, interaction, 400);
    if (!(await ctx.store.interactions.complete(interaction.id, ctx.config.now())))
      return startAgain(c, interaction.id);
    const response = await issueAuthorizationCode(ctx, {
      request: interaction.request,
      session,
      organizationId,
    });
    return sendAuthorizationResponse(c, response, chrome);
  });

  app.post('/login/cancel', async (c) => {
    const form = await readForm(c);
    if (!form) return badForm(c, chrome);
    const interaction = await loadInteraction(c, form.get('interaction'));
    if (!interaction) return startAgain(c, form.get('interaction'));
    if (!verifyCsrfToken(c, form.get('csrf_token'), `cancel:${interaction.id}`)) {
      return signInPage(c, interaction, 403, null, formExpired);
    }
    c.get('ctx').logger.info({ clientId: interaction.request.clientId }, 'sign-in cancelled');
    return respond(
      c,
      await finishWithError(
        c,
        interaction,
        new OAuthError('access_denied', 'The user cancelled the sign-in'),
      ),
    );
  });

  app.all('/login/cancel', (c) => {
    c.header('Allow', 'POST');
    return sendPage(
      c,
      405,
      renderErrorPage,
      {
        title: 'Not allowed',
        message: 'Cancelling a sign-in takes the Cancel button of its page.',
        code: null,
      },
      chrome,
    );
  });

  for (const path of ['/login', '/signup', '/login/organization']) {
    app.all(path, (c) => {
      c.header('Allow', 'GET, POST');
      return sendPage(
        c,
        405,
        renderErrorPage,
        { title: 'Not allowed', message: 'This page only accepts GET and POST.', code: null },
        chrome,
      );
    });
  }
}

function badForm(c: Ctx, chrome: PageChrome): Response {
  return sendPage(
    c,
    400,
    renderErrorPage,
    {
      title: 'Something went wrong',
      message: 'The form could not be read. Go back and try again.',
      code: 'invalid_request',
    },
    chrome,
  );
}
