// Enforces: code_challenge_method is S256 (plain is refused, RFC 9700 §2.1.1); the challenge is
// 43 base64url characters; public clients (spa, native) must send one; web apps may.
import { invalidRequest } from '../errors.ts';
import { optionalParam } from '../params.ts';
import type { AuthorizeCheck } from './check.ts';

const s256Challenge = /^[A-Za-z0-9_-]{43}$/;

/** @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3 */
export const checkPkce: AuthorizeCheck = ({ params, client }, request) => {
  const challenge = optionalParam(params, 'code_challenge', 200);
  const method = optionalParam(params, 'code_challenge_method', 20);
  if (challenge === null) {
    if (method !== null) throw invalidRequest('code_challenge_method was sent without code_challenge');
    if (client.type === 'spa' || client.type === 'native') {
      throw invalidRequest('This client must use PKCE: code_challenge is required');
    }
    request.codeChallenge = null;
    request.codeChallengeMethod = null;
    return;
  }
  // RFC 7636 defaults to plain when the method is omitted; plain is not accepted here.
  if (method !== 'S256') throw invalidRequest('code_challenge_method must be S256');
  if (!s256Challenge.test(challenge)) throw invalidRequest('code_challenge is not a valid S256 challenge');
  request.codeChallenge = challenge;
  request.codeChallengeMethod = 'S256';
};
