import type { Context } from 'hono';
import { newSecret } from '../../lib/ids.ts';
import { chooseOrganization } from '../../protocol/authorize/decide.ts';
import { issueAuthorizationCode } from '../../protocol/authorize/issue-code.ts';
import { type AuthorizationResponse, buildAuthorizationResponse } from '../../protocol/authorize/respond.ts';
import type { OAuthError } from '../../protocol/errors.ts';
import { findLiveSession, startSession } from '../../protocol/sessions.ts';
import type { AuthorizationRequest, Interaction, User } from '../../storage/types.ts';
import { readSessionCookie, writeSessionCookie } from '../cookies.ts';
import type { AppEnv } from '../env.ts';

type Ctx = Context<AppEnv>;

/** The hosted page an interaction is sent to. */
export type InteractionPage = 'sign-in' | 'sign-up' | 'select-organization';

const pagePaths: Record<InteractionPage, string> = {
  'sign-in': '/login',
  'sign-up': '/signup',
  'select-organization': '/login/organization',
};

/** The URL of a hosted page for an interaction (the client id rides along for expired links). */
export function interactionUrl(
  page: InteractionPage,
  interaction: { id: string; request: { clientId: string } },
): string {
  const query = new URLSearchParams({ interaction: interaction.id, client_id: interaction.request.clientId });
  return `${pagePaths[page]}?${query}`;
}

/** Parks a validated request while the person signs in; the pages carry only its id. */
export async function startInteraction(c: Ctx, request: AuthorizationRequest): Promise<Interaction> {
  const { store, config } = c.get('ctx');
  const now = config.now();
  const interaction: Interaction = {
    id: `int_${newSecret()}`,
    request,
    userId: null,
    sessionId: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + config.interactionTtl * 1000),
    completedAt: null,
  };
  await store.interactions.insert(interaction);
  return interaction;
}

/** A pending interaction by id, or `null` when unknown, expired or already finished. */
export async function loadInteraction(c: Ctx, id: string | null | undefined): Promise<Interaction | null> {
  if (!id || id.length > 100 || !id.startsWith('int_')) return null;
  const { store, config } = c.get('ctx');
  const interaction = await store.interactions.get(id);
  if (!interaction || interaction.completedAt || interaction.expiresAt <= config.now()) return null;
  return interaction;
}

/** The outcome of finishing a sign-in. */
export type FinishOutcome =
  | { kind: 'respond'; response: AuthorizationResponse }
  | { kind: 'select-organization'; url: string }
  /** The interaction was finished by another submit (double click, back button). */
  | { kind: 'stale' };

/**
 * After a successful sign-in or sign-up: rotates the browser's session, picks the organization
 * (or asks), then answers the client with a code.
 */
export async function finishSignIn(c: Ctx, interaction: Interaction, user: User): Promise<FinishOutcome> {
  const ctx = c.get('ctx');
  const previous = await findLiveSession(ctx, readSessionCookie(c));
  const { session, cookieValue } = await startSession(ctx, {
    userId: user.id,
    organizationId: previous?.userId === user.id ? previous.organizationId : null,
    amr: ['pwd'],
    previous,
    userAgent: c.req.header('user-agent') ?? null,
    ipAddress: c.get('clientAddress'),
  });
  writeSessionCookie(c, cookieValue, session.absoluteExpiresAt);
  const choice = await chooseOrganization(ctx, interaction.request, user, session.organizationId);
  if (choice.kind === 'error') return finishWithError(c, interaction, choice.error);
  if (choice.kind === 'ask') {
    await ctx.store.interactions.setUser(interaction.id, user.id, session.id);
    return { kind: 'select-organization', url: interactionUrl('select-organization', interaction) };
  }
  if (!(await ctx.store.interactions.complete(interaction.id, ctx.config.now()))) return { kind: 'stale' };
  const response = await issueAuthorizationCode(ctx, {
    request: interaction.request,
    session,
    organizationId: choice.organizationId,
  });
  return { kind: 'respond', response };
}

/** Ends an interaction by sending an error (e.g. `access_denied`) to the client. */
export async function finishWithError(
  c: Ctx,
  interaction: Interaction,
  error: OAuthError,
): Promise<FinishOutcome> {
  const ctx = c.get('ctx');
  if (!(await ctx.store.interactions.complete(interaction.id, ctx.config.now()))) return { kind: 'stale' };
  const { request } = interaction;
  return {
    kind: 'respond',
    response: buildAuthorizationResponse({
      redirectUri: request.redirectUri,
      responseMode: request.responseMode,
      issuer: ctx.config.envUrl,
      params: { error: error.code, error_description: error.description, state: request.state },
    }),
  };
}
