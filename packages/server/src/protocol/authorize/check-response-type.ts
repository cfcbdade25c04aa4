// Enforces: response_type is present and is exactly `code` (the only flow served).
import { invalidRequest, OAuthError } from '../errors.ts';
import { optionalParam } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

/** @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1 */
export const checkResponseType: AuthorizeCheck = ({ params }) => {
  const type = optionalParam(params, 'response_type', 100);
  if (type === null) throw invalidRequest('The response_type parameter is required');
  if (type !== 'code') {
    throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported');
  }
};
