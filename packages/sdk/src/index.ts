/** @sesame/sdk: the framework-free core. Adapters: `@sesame/sdk/express`, `/hono`, `/fastify`, `/next`. */
export { type AuthState, isNavigation, SesameAuth } from './auth.ts';
export { browserRefreshHelper } from './browser/refresh-helper.ts';
export { optionsFromEnv } from './env-options.ts';
export { AuthError, type AuthErrorCode, type AuthErrorKind } from './errors.ts';
export { ManagementClient } from './management.ts';
export type * from './management-types.ts';
export type { RouteOptions, SesameAuthOptions } from './options.ts';
export type { RevocationStore } from './revocation-store.ts';
export { MemoryRevocationStore } from './revocation-store-memory.ts';
export type { SessionData, SessionUser } from './session.ts';
export type { SessionStore } from './session-store.ts';
export { MemorySessionStore } from './stores/memory-session-store.ts';
