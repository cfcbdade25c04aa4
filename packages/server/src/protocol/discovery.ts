import type { Config } from '../config/config.ts';
import { supportedScopes } from './authorize/check-scope.ts';
import { supportedGrantTypes } from './token/index.ts';

/** Paths of every endpoint, relative to the issuer. */
export const endpointPaths = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  userinfo: '/userinfo',
  jwks: '/keys',
  endSession: '/oidc/logout',
} as const;

/**
 * The OpenID Provider metadata, also served as RFC 8414 authorization server metadata.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function discoveryDocument(config: Config): Record<string, unknown> {
  const at = (path: string) => `${config.envUrl}${path}`;
  const authMethods = ['client_secret_basic', 'client_secret_post', 'none'];
  return {
    issuer: config.envUrl,
    authorization_endpoint: at(endpointPaths.authorization),
    token_endpoint: at(endpointPaths.token),
    userinfo_endpoint: at(endpointPaths.userinfo),
    jwks_uri: at(endpointPaths.jwks),
    end_session_endpoint: at(endpointPaths.endSession),
    revocation_endpoint: at(endpointPaths.revocation),
    introspection_endpoint: at(endpointPaths.introspection),
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: supportedGrantTypes,
    subject_types_supported: ['public'],
    scopes_supported: [...supportedScopes],
    claims_supported: [
      'iss',
      'sub',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'at_hash',
      'amr',
      'azp',
      'sid',
      'oid',
      'email',
      'email_verified',
      'name',
      'given_name',
      'family_name',
    ],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    id_token_signing_alg_values_supported: [config.signingAlg],
    prompt_values_supported: ['none', 'login', 'create', 'select_account'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    frontchannel_logout_supported: false,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    authorization_response_iss_parameter_supported: true,
  };
}
