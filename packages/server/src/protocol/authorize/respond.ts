/** How the authorization response reaches the client. */
export type AuthorizationResponse =
  | { mode: 'query'; location: string }
  | { mode: 'form_post'; action: string; fields: Record<string, string> };

/**
 * Builds the redirect back to the client, always carrying `iss` (RFC 9207), as a query redirect
 * or an auto-submitted form.
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2
 * @see https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html
 */
export function buildAuthorizationResponse(input: {
  redirectUri: string;
  responseMode: 'query' | 'form_post';
  issuer: string;
  params: Record<string, string | null | undefined>;
}): AuthorizationResponse {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.params)) {
    if (value !== null && value !== undefined) fields[name] = value;
  }
  fields['iss'] = input.issuer;
  if (input.responseMode === 'form_post') return { mode: 'form_post', action: input.redirectUri, fields };
  const url = new URL(input.redirectUri);
  for (const [name, value] of Object.entries(fields)) url.searchParams.set(name, value);
  return { mode: 'query', location: url.toString() };
}
