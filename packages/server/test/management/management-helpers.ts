// Shared by the management API tests: a management app and its token, a REST caller, and the
// assertion that an answer is the `google.rpc.Status` error the one code table says.
import { expect } from 'vitest';
import { type RegisteredClient, startTestServer, type TestServer } from '../support/server.ts';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const grpc = {
  InvalidArgument: 3,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  FailedPrecondition: 9,
  Unimplemented: 12,
  Unauthenticated: 16,
} as const;

export interface ManagementServer {
  server: TestServer;
  /** A web app allowed the management API. */
  app: RegisteredClient;
  token: string;
  /** Calls `/api/v1/...` with the app's token. */
  api: (
    method: string,
    path: string,
    body?: unknown,
    init?: { headers?: Record<string, string> },
  ) => Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field.
  body: any;
}

/** Gets an access token from `client_credentials`. */
export async function clientCredentialsToken(server: TestServer, client: RegisteredClient): Promise<string> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: client.secret ?? '',
    }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no token: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Calls the management REST API. A string body is sent as is; anything else as JSON. */
export async function callApi(
  url: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  init: { headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined && typeof body !== 'string') headers['content-type'] = 'application/json';
  Object.assign(headers, init.headers);
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: kept as text for the assertion to show.
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A test server with a web app allowed the management API, and its token. */
export async function startManagementServer(
  options: Parameters<typeof startTestServer>[0] = {},
): Promise<ManagementServer> {
  const server = await startTestServer(options);
  const app = await server.registerClient({
    type: 'web',
    name: 'Admin Backend',
    redirectUris: ['http://localhost:4000/callback'],
    allowManagementApi: true,
  });
  const token = await clientCredentialsToken(server, app);
  return {
    server,
    app,
    token,
    api: (method, path, body, init) => callApi(server.url, token, method, path, body, init),
    close: () => server.close(),
  };
}

/** How many audit events there are. */
export async function auditCount(server: TestServer): Promise<number> {
  return (await server.store.audit.list({ limit: 1 })).totalSize;
}

/**
 * Asserts a REST error: the HTTP status of the one table, the `google.rpc.Status` body with the
 * gRPC code number, and the `ErrorInfo` detail (its `error_code`, and the field named).
 */
export function expectStatusError(
  res: ApiResponse,
  expected: { status: number; code: number; errorCode: string; field?: string },
): void {
  expect({ status: res.status, code: res.body?.code }, JSON.stringify(res.body)).toEqual({
    status: expected.status,
    code: expected.code,
  });
  expect(typeof res.body.message).toBe('string');
  expect(res.body.details).toHaveLength(1);
  const info = res.body.details[0];
  expect(info['@type']).toBe('type.googleapis.com/scalekit.v1.errdetails.ErrorInfo');
  expect(info.error_code).toBe(expected.errorCode);
  if (expected.field !== undefined) {
    expect(res.body.message).toContain(expected.field);
    expect(info.validation_error_info.field_violations[0].field).toBe(expected.field);
  }
}

/** The RFC 3339 UTC form proto JSON gives timestamps. */
export const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
