// Enforces: response_mode is `query` (default) or `form_post`. Runs first among the redirectable
// checks so that every later error is delivered the way the client asked.
import { invalidRequest } from '../errors.ts';
import { optionalParam } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

/** @see https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html */
export const checkResponseMode: AuthorizeCheck = ({ params }, request) => {
  const mode = optionalParam(params, 'response_mode', 20) ?? 'query';
  if (mode !== 'query' && mode !== 'form_post') {
    throw invalidRequest('response_mode must be query or form_post');
  }
  request.responseMode = mode;
};
