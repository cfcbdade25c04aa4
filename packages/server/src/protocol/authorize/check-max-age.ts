// Enforces: max_age, when sent, is a non-negative whole number of seconds.
import { invalidRequest } from '../errors.ts';
import { optionalParam } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

/** @see https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest */
export const checkMaxAge: AuthorizeCheck = ({ params }, request) => {
  const raw = optionalParam(params, 'max_age', 12);
  if (raw === null) {
    request.maxAge = null;
    return;
  }
  if (!/^\d+$/.test(raw)) throw invalidRequest('max_age must be a non-negative integer');
  request.maxAge = Number(raw);
};
