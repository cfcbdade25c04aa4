import { createHash, timingSafeEqual } from 'node:crypto';

const verifierShape = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * Checks a PKCE code_verifier against an S256 code_challenge.
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 */
export function verifyPkce(verifier: string, challenge: string): boolean {
  if (!verifierShape.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** Whether a string has the shape RFC 7636 §4.1 requires of a verifier. */
export function isVerifierShaped(verifier: string): boolean {
  return verifierShape.test(verifier);
}
