/** @sesame/sdk: the framework-free core. Adapters: `@sesame/sdk/express`, `/hono`, `/fastify`, `/next`. */
export { type AuthState, SesameAuth, isNavigation } from './auth.ts';
export { AuthError, type AuthErrorCode, type AuthErrorKind } from './errors.ts';
export type { SesameAuthOptions, RouteOptions } from './options.ts';
export type { SessionData, SessionUser } from './session.ts';
export type { SessionStore } from './session-store.ts';
export { MemorySessionStore } from './stores/memory-session-store.ts';
export type { RevocationStore } from './revocation-store.ts';
export { MemoryRevocationStore } from './revocation-store-memory.ts';
export { browserRefreshHelper } from './browser/refresh-helper.ts';
export { optionsFromEnv } from './env-options.ts';
