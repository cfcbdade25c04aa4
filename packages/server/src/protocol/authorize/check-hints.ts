// Enforces: nonce, login_hint and organization_id are each sent at most once and of a sane size;
// organization_id has the organization id shape (membership is checked at sign-in).
import { invalidRequest } from '../errors.ts';
import { optionalParam } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

/** @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest */
export const checkHints: AuthorizeCheck = ({ params }, request) => {
  request.nonce = optionalParam(params, 'nonce', 512);
  request.loginHint = optionalParam(params, 'login_hint', 320);
  const organizationId = optionalParam(params, 'organization_id', 100);
  if (organizationId !== null && !/^org_[A-Za-z0-9]+$/.test(organizationId)) {
    throw invalidRequest('organization_id is not a valid organization id');
  }
  request.organizationId = organizationId;
};
