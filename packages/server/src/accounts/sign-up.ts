import type { ServerContext } from '../context.ts';
import { newId } from '../lib/ids.ts';
import { splitName } from '../protocol/claims.ts';
import { AlreadyExistsError } from '../storage/store.ts';
import type { User } from '../storage/types.ts';
import { passwordMaxLength, passwordMinLength } from './passwords.ts';
import { isPlausibleEmail, normalizeEmail } from './sign-in.ts';

/** Field errors of a sign-up form, worded for the person filling it in. */
export type SignUpErrors = Partial<Record<'email' | 'password' | 'name' | 'form', string>>;

export type SignUpResult =
  | { kind: 'ok'; user: User; organizationId: string }
  | { kind: 'invalid'; errors: SignUpErrors };

/**
 * Creates a person with a password, an organization of their own in which they hold the creator
 * role (`admin`), in one transaction.
 */
export async function signUpWithPassword(
  ctx: ServerContext,
  input: { email: string; password: string; name: string },
): Promise<SignUpResult> {
  const email = normalizeEmail(input.email);
  const name = input.name.trim().replace(/\s+/g, ' ');
  const errors: SignUpErrors = {};
  if (!isPlausibleEmail(email)) errors.email = 'Enter a valid email address.';
  if (input.password.length < passwordMinLength)
    errors.password = `Use at least ${passwordMinLength} characters.`;
  else if (Buffer.byteLength(input.password) > passwordMaxLength)
    errors.password = `Use at most ${passwordMaxLength} characters.`;
  if (name.length === 0) errors.name = 'Enter your name.';
  else if (name.length > 100) errors.name = 'Use at most 100 characters.';
  if (Object.keys(errors).length > 0) return { kind: 'invalid', errors };

  const passwordHash = await ctx.passwords.hash(input.password);
  try {
    const created = await createUserWithOrganization(ctx, {
      email,
      name,
      passwordHash,
      emailVerified: false,
    });
    return { kind: 'ok', ...created };
  } catch (err) {
    if (err instanceof AlreadyExistsError) {
      return {
        kind: 'invalid',
        errors: { email: 'An account with this email already exists. Sign in instead.' },
      };
    }
    throw err;
  }
}

/**
 * Creates a user and, unless one is named, an organization of their own in which they get the
 * creator role; joining a named organization gives the member role (or `role`).
 */
export async function createUserWithOrganization(
  ctx: ServerContext,
  input: {
    email: string;
    name: string | null;
    passwordHash: string | null;
    emailVerified: boolean;
    organizationId?: string;
    role?: string;
  },
): Promise<{ user: User; organizationId: string }> {
  const now = ctx.config.now();
  const { givenName, familyName } = input.name
    ? splitName(input.name)
    : { givenName: null, familyName: null };
  const user: User = {
    id: newId('usr'),
    email: normalizeEmail(input.email),
    emailVerified: input.emailVerified,
    name: input.name,
    givenName,
    familyName,
    passwordHash: input.passwordHash,
    externalId: null,
    disabled: false,
    metadata: {},
    createdAt: now,
    updatedAt: now,
  };
  return ctx.store.transaction(async (store) => {
    await store.users.insert(user);
    let organizationId = input.organizationId;
    let role = input.role;
    if (organizationId === undefined) {
      organizationId = newId('org');
      await store.organizations.insert({
        id: organizationId,
        name: `${input.name ?? user.email}'s organization`,
        externalId: null,
        metadata: {},
        createdAt: now,
        updatedAt: now,
      });
      role ??= (await defaultRole(store, 'creator')) ?? 'admin';
    } else {
      role ??= (await defaultRole(store, 'member')) ?? 'member';
    }
    await store.memberships.insert({
      organizationId,
      userId: user.id,
      roles: [role],
      createdAt: now,
      updatedAt: now,
    });
    return { user, organizationId };
  });
}

async function defaultRole(
  store: ServerContext['store'],
  kind: 'creator' | 'member',
): Promise<string | null> {
  const roles = await store.roles.list(null);
  const role = roles.find((r) => (kind === 'creator' ? r.isDefaultCreator : r.isDefaultMember));
  return role?.name ?? null;
}
