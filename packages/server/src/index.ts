/** The embeddable server: assemble a context, build the fetch handler, listen. */

export { createUserWithOrganization } from './accounts/sign-up.ts';
export { deleteUser, disableUser, enableUser, endUserSessions } from './accounts/user-lifecycle.ts';
export { createKeyRing, createServerContext, openStore, parseDatabaseUrl } from './assemble.ts';
export { registerClient, rotateClientSecret } from './clients/register-client.ts';
export type { Config } from './config/config.ts';
export { ConfigError, loadConfig } from './config/load.ts';
export type { ServerContext } from './context.ts';
export { createApp } from './http/app.ts';
export { runUpkeep, scheduleUpkeep, startLogoutDelivery } from './jobs.ts';
export { createLogger } from './logger.ts';
export { listen, type RunningServer } from './node-server.ts';
export { OAuthError, type OAuthErrorCode } from './protocol/errors.ts';
export { endSession } from './protocol/sessions.ts';
