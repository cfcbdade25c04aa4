import type { ServerContext } from '../../context.ts';
import type { AuthorizationRequest, Membership, Session, User } from '../../storage/types.ts';
import { OAuthError } from '../errors.ts';

/** What to do with a valid authorization request. */
export type AuthorizeDecision =
  /** Single sign-on: the browser's session suffices, issue a code now. */
  | { kind: 'issue'; session: Session; user: User; organizationId: string | null }
  /** The person must act on a hosted page first. */
  | { kind: 'interact'; page: 'sign-in' | 'sign-up' | 'select-organization'; session: Session | null }
  | { kind: 'error'; error: OAuthError };

/**
 * Decides between single sign-on, a hosted page, and an error, from the request, the browser's
 * live session and the clock.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest (prompt, max_age)
 */
export async function decideAuthorization(
  ctx: ServerContext,
  request: AuthorizationRequest,
  session: Session | null,
): Promise<AuthorizeDecision> {
  const promptNone = request.prompt.includes('none');
  if (request.prompt.includes('create')) return { kind: 'interact', page: 'sign-up', session };
  if (request.prompt.includes('login')) return { kind: 'interact', page: 'sign-in', session };

  const user = session ? await ctx.store.users.get(session.userId) : null;
  const usable = session !== null && user !== null && !user.disabled && !tooOld(ctx, request, session);
  if (!usable) {
    if (promptNone) {
      return { kind: 'error', error: new OAuthError('login_required', 'The user must sign in') };
    }
    return { kind: 'interact', page: 'sign-in', session };
  }
  const choice = await chooseOrganization(ctx, request, user, session.organizationId);
  if (choice.kind === 'error') return choice;
  if (choice.kind === 'ask') {
    if (promptNone) {
      return {
        kind: 'error',
        error: new OAuthError('account_selection_required', 'The user must choose an organization'),
      };
    }
    return { kind: 'interact', page: 'select-organization', session };
  }
  return { kind: 'issue', session, user, organizationId: choice.organizationId };
}

function tooOld(ctx: ServerContext, request: AuthorizationRequest, session: Session): boolean {
  if (request.maxAge === null) return false;
  const ageSeconds = (ctx.config.now().getTime() - session.authTime.getTime()) / 1000;
  return ageSeconds > request.maxAge;
}

/** The organization a sign-in lands in, or that the person must be asked. */
export type OrganizationChoice =
  | { kind: 'chosen'; organizationId: string | null }
  | { kind: 'ask'; memberships: Membership[] }
  | { kind: 'error'; error: OAuthError };

/**
 * `organization_id` must name one of the person's organizations; `prompt=select_account` asks a
 * member of several; otherwise the session's organization, else the oldest membership.
 */
export async function chooseOrganization(
  ctx: ServerContext,
  request: AuthorizationRequest,
  user: User,
  current: string | null,
): Promise<OrganizationChoice> {
  const memberships = await ctx.store.memberships.listForUser(user.id);
  if (request.organizationId !== null) {
    if (!memberships.some((m) => m.organizationId === request.organizationId)) {
      return {
        kind: 'error',
        error: new OAuthError('access_denied', 'The user is not a member of the requested organization'),
      };
    }
    return { kind: 'chosen', organizationId: request.organizationId };
  }
  if (request.prompt.includes('select_account') && memberships.length > 1)
    return { kind: 'ask', memberships };
  if (current !== null && memberships.some((m) => m.organizationId === current)) {
    return { kind: 'chosen', organizationId: current };
  }
  return { kind: 'chosen', organizationId: memberships[0]?.organizationId ?? null };
}
