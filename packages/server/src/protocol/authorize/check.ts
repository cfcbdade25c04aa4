import type { Config } from '../../config/config.ts';
import type { AuthorizationRequest, Client } from '../../storage/types.ts';
import type { RawParams } from '../params.ts';

/** What every authorization check reads: the raw parameters and the verified client. */
export interface AuthorizeCheckInput {
  readonly params: RawParams;
  readonly client: Client;
  readonly config: Config;
}

/** One named step: reads the input, fills its part of the request, or throws an OAuthError. */
export type AuthorizeCheck = (input: AuthorizeCheckInput, request: Partial<AuthorizationRequest>) => void;
