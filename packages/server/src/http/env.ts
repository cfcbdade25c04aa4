import type { ServerContext } from '../context.ts';

/** Per-request values the middleware hands to routes. */
export interface AppEnv {
  Variables: {
    ctx: ServerContext;
    requestId: string;
    clientAddress: string | null;
    /** Set by a route when the script on its page needs a CSP nonce. */
    scriptNonce: string | undefined;
    /** The CSRF cookie value set by this response, so that every form of one page shares it. */
    csrfSecret: string | undefined;
  };
}
