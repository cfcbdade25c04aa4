import { describe, expect, it } from 'vitest';
import { verifyPkce } from './pkce.ts';

describe('PKCE S256', () => {
  it('accepts the RFC 7636 Appendix B test vector', () => {
    expect(
      verifyPkce(
        'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      ),
    ).toBe(true);
  });
  it('rejects a verifier that does not match', () => {
    expect(
      verifyPkce(
        'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx',
        'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      ),
    ).toBe(false);
  });
  it('rejects verifiers shorter than 43 or longer than 128 characters (RFC 7636 §4.1)', () => {
    expect(verifyPkce('a'.repeat(42), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(false);
    expect(verifyPkce('a'.repeat(129), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(false);
  });
  it('rejects characters outside the unreserved set', () => {
    expect(verifyPkce(`${'a'.repeat(42)}+`, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(false);
  });
});
