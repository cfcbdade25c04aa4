import { invalidRequest } from './errors.ts';

/** Request parameters as received: each name with every value it was given. */
export type RawParams = ReadonlyMap<string, readonly string[]>;

/** Collects URLSearchParams (query or form body) into a map of name -> values. */
export function collectParams(...sources: URLSearchParams[]): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const source of sources) {
    for (const [name, value] of source) {
      const values = params.get(name);
      if (values) values.push(value);
      else params.set(name, [value]);
    }
  }
  return params;
}

/** Longest value any single parameter may have; anything longer is an attack or a bug. */
export const maxParamLength = 4096;

/**
 * Reads one optional parameter. A parameter sent more than once, or absurdly long, is an
 * `invalid_request` (RFC 6749 §3.1: "Request and response parameters MUST NOT be included more
 * than once"). An empty value counts as absent (RFC 6749 §3.1).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1
 */
export function optionalParam(params: RawParams, name: string, maxLength = maxParamLength): string | null {
  const values = params.get(name);
  if (!values || values.length === 0) return null;
  if (values.length > 1) throw invalidRequest(`The ${name} parameter was sent more than once`);
  const value = values[0] as string;
  if (value.length > maxLength) throw invalidRequest(`The ${name} parameter is too long`);
  return value === '' ? null : value;
}

/** Reads one required parameter; missing is an `invalid_request` naming it. */
export function requiredParam(params: RawParams, name: string, maxLength = maxParamLength): string {
  const value = optionalParam(params, name, maxLength);
  if (value === null) throw invalidRequest(`The ${name} parameter is required`);
  return value;
}

/** Splits a space-delimited scope string into unique names, keeping order. */
export function parseScope(scope: string | null): string[] {
  if (scope === null) return [];
  return [...new Set(scope.split(' ').filter((s) => s.length > 0))];
}
