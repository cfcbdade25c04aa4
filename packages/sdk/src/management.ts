import * as oidc from 'openid-client';
import { AuthError } from './errors.ts';
import type {
  NewUser,
  Organization,
  OrganizationInput,
  PageOf,
  PageOptions,
  Permission,
  Role,
  RoleInput,
  RoleRef,
  Session,
  User,
  UserInput,
} from './management-types.ts';
import { isNetworkError, type Provider } from './provider.ts';
import { SingleFlight } from './single-flight.ts';

/** Renew the management token this long before it expires. */
const renewBeforeSeconds = 60;

type Query = Record<string, string | number | undefined>;

/**
 * The management API client (the seed's optional step): REST/JSON calls authenticated with a
 * `client_credentials` token, cached until shortly before it expires, renewed once on a 401.
 * Errors are `AuthError('ERR_MANAGEMENT_API')` carrying the HTTP status, the gRPC code and the
 * server's `error_code`.
 */
export class ManagementClient {
  readonly #provider: Provider;
  readonly #fetch: typeof fetch;
  readonly #now: () => Date;
  #token: { value: string; expiresAt: number } | null = null;
  readonly #tokens = new SingleFlight<{ value: string; expiresAt: number }>({ rememberMs: 0 });

  constructor(provider: Provider, options: { fetch: typeof fetch; now: () => Date }) {
    this.#provider = provider;
    this.#fetch = options.fetch;
    this.#now = options.now;
  }

  async #accessToken(force: boolean): Promise<string> {
    const nowSeconds = Math.floor(this.#now().getTime() / 1000);
    if (!force && this.#token && this.#token.expiresAt - renewBeforeSeconds > nowSeconds)
      return this.#token.value;
    const token = await this.#tokens.run('token', async () => {
      const config = await this.#provider.config();
      try {
        const response = await oidc.clientCredentialsGrant(config);
        return { value: response.access_token, expiresAt: nowSeconds + (response.expires_in ?? 300) };
      } catch (err) {
        const provider = err instanceof oidc.ResponseBodyError;
        throw new AuthError(
          'ERR_MANAGEMENT_API',
          provider ? 'provider' : isNetworkError(err) ? 'network' : 'malformed',
          'could not get a management API token',
          {
            cause: err,
            ...(provider ? { oauthError: (err as oidc.ResponseBodyError).error } : {}),
          },
        );
      }
    });
    this.#token = token;
    return token.value;
  }

  /** One REST call: JSON in, JSON out, a single retry with a fresh token after a 401. */
  async request<T>(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const config = await this.#provider.config();
    const url = new URL(path, `${config.serverMetadata().issuer.replace(/\/$/, '')}/`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = await this.#accessToken(attempt > 0);
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        throw new AuthError(
          'ERR_MANAGEMENT_API',
          'network',
          `${method} ${url.pathname} could not reach the server`,
          { cause: err },
        );
      }
      if (response.status === 401 && attempt === 0) continue;
      const text = await response.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        throw new AuthError(
          'ERR_MANAGEMENT_API',
          'malformed',
          `${method} ${url.pathname} answered ${response.status} with a body that is not JSON`,
        );
      }
      if (response.ok) return body as T;
      throw managementError(method, url.pathname, response.status, body);
    }
    throw new AuthError(
      'ERR_MANAGEMENT_API',
      'provider',
      `${method} ${url.pathname} was refused: unauthenticated`,
    );
  }

  /** Walks every page of a listing. */
  async *all<T>(list: (page: PageOptions) => Promise<PageOf<T>>, pageSize = 100): AsyncGenerator<T> {
    let pageToken: string | undefined;
    do {
      const page = await list({ pageSize, ...(pageToken ? { pageToken } : {}) });
      yield* page.items;
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  }

  readonly organizations = {
    create: async (input: OrganizationInput & { display_name: string }) =>
      (await this.request<{ organization: Organization }>('POST', 'api/v1/organizations', { body: input }))
        .organization,
    get: async (id: string) =>
      (await this.request<{ organization: Organization }>('GET', `api/v1/organizations/${enc(id)}`))
        .organization,
    getByExternalId: async (externalId: string) =>
      (
        await this.request<{ organization: Organization }>(
          'GET',
          `api/v1/organizations:external/${enc(externalId)}`,
        )
      ).organization,
    list: async (page: PageOptions = {}) =>
      paged(
        await this.request<ListBody>('GET', 'api/v1/organizations', { query: pageQuery(page) }),
        'organizations',
      ) as PageOf<Organization>,
    search: async (query: string, page: PageOptions = {}) =>
      paged(
        await this.request<ListBody>('GET', 'api/v1/organizations:search', {
          query: { query, ...pageQuery(page) },
        }),
        'organizations',
      ) as PageOf<Organization>,
    update: async (id: string, patch: OrganizationInput) =>
      (
        await this.request<{ organization: Organization }>('PATCH', `api/v1/organizations/${enc(id)}`, {
          body: patch,
        })
      ).organization,
    delete: async (id: string) => {
      await this.request('DELETE', `api/v1/organizations/${enc(id)}`);
    },
  };

  readonly users = {
    get: async (id: string) => (await this.request<{ user: User }>('GET', `api/v1/users/${enc(id)}`)).user,
    getByExternalId: async (externalId: string) =>
      (await this.request<{ user: User }>('GET', `api/v1/users:external/${enc(externalId)}`)).user,
    list: async (page: PageOptions = {}) =>
      paged(
        await this.request<ListBody>('GET', 'api/v1/users', { query: pageQuery(page) }),
        'users',
      ) as PageOf<User>,
    search: async (query: string, page: PageOptions = {}) =>
      paged(
        await this.request<ListBody>('GET', 'api/v1/users:search', { query: { query, ...pageQuery(page) } }),
        'users',
      ) as PageOf<User>,
    listForOrganization: async (organizationId: string, page: PageOptions = {}) =>
      paged(
        await this.request<ListBody>('GET', `api/v1/organizations/${enc(organizationId)}/users`, {
          query: pageQuery(page),
        }),
        'users',
      ) as PageOf<User>,
    createInOrganization: async (organizationId: string, user: NewUser) =>
      (
        await this.request<{ user: User }>('POST', `api/v1/organizations/${enc(organizationId)}/users`, {
          body: user,
        })
      ).user,
    update: async (id: string, patch: UserInput) =>
      (await this.request<{ user: User }>('PATCH', `api/v1/users/${enc(id)}`, { body: patch })).user,
    delete: async (id: string) => {
      await this.request('DELETE', `api/v1/users/${enc(id)}`);
    },
  };

  readonly memberships = {
    create: async (
      organizationId: string,
      userId: string,
      membership: { roles?: RoleRef[]; metadata?: Record<string, string> } = {},
    ) =>
      (
        await this.request<{ user: User }>(
          'POST',
          `api/v1/memberships/organizations/${enc(organizationId)}/users/${enc(userId)}`,
          { body: membership },
        )
      ).user,
    update: async (
      organizationId: string,
      userId: string,
      membership: { roles?: RoleRef[]; metadata?: Record<string, string> },
    ) =>
      (
        await this.request<{ user: User }>(
          'PATCH',
          `api/v1/memberships/organizations/${enc(organizationId)}/users/${enc(userId)}`,
          { body: membership },
        )
      ).user,
    delete: async (organizationId: string, userId: string) => {
      await this.request(
        'DELETE',
        `api/v1/memberships/organizations/${enc(organizationId)}/users/${enc(userId)}`,
      );
    },
  };

  readonly userRoles = {
    list: async (organizationId: string, userId: string) =>
      (
        await this.request<{ roles?: RoleRef[] }>(
          'GET',
          `api/v1/organizations/${enc(organizationId)}/users/${enc(userId)}/roles`,
        )
      ).roles ?? [],
    /** Adds roles (by name) to the user's membership; returns every role they now hold. */
    assign: async (organizationId: string, userId: string, roleNames: string[]) =>
      (
        await this.request<{ roles?: RoleRef[] }>(
          'POST',
          `api/v1/organizations/${enc(organizationId)}/users/${enc(userId)}/roles`,
          { body: roleNames.map((role_name) => ({ role_name })) },
        )
      ).roles ?? [],
    remove: async (organizationId: string, userId: string, roleName: string) => {
      await this.request(
        'DELETE',
        `api/v1/organizations/${enc(organizationId)}/users/${enc(userId)}/roles/${enc(roleName)}`,
      );
    },
    permissions: async (organizationId: string, userId: string) =>
      (
        await this.request<{ permissions?: Permission[] }>(
          'GET',
          `api/v1/organizations/${enc(organizationId)}/users/${enc(userId)}/permissions`,
        )
      ).permissions ?? [],
  };

  readonly roles = {
    list: async () => (await this.request<{ roles?: Role[] }>('GET', 'api/v1/roles')).roles ?? [],
    get: async (name: string) =>
      (await this.request<{ role: Role }>('GET', `api/v1/roles/${enc(name)}`)).role,
    create: async (role: RoleInput & { name: string }) =>
      (await this.request<{ role: Role }>('POST', 'api/v1/roles', { body: role })).role,
    update: async (name: string, patch: RoleInput) =>
      (await this.request<{ role: Role }>('PUT', `api/v1/roles/${enc(name)}`, { body: patch })).role,
    delete: async (name: string) => {
      await this.request('DELETE', `api/v1/roles/${enc(name)}`);
    },
    listPermissions: async (name: string) =>
      (await this.request<{ permissions?: Permission[] }>('GET', `api/v1/roles/${enc(name)}/permissions`))
        .permissions ?? [],
    addPermissions: async (name: string, permissionNames: string[]) =>
      (
        await this.request<{ permissions?: Permission[] }>('POST', `api/v1/roles/${enc(name)}/permissions`, {
          body: { permission_names: permissionNames },
        })
      ).permissions ?? [],
    removePermission: async (name: string, permissionName: string) => {
      await this.request('DELETE', `api/v1/roles/${enc(name)}/permissions/${enc(permissionName)}`);
    },
    listForOrganization: async (organizationId: string) =>
      (await this.request<{ roles?: Role[] }>('GET', `api/v1/organizations/${enc(organizationId)}/roles`))
        .roles ?? [],
    createForOrganization: async (organizationId: string, role: RoleInput & { name: string }) =>
      (
        await this.request<{ role: Role }>('POST', `api/v1/organizations/${enc(organizationId)}/roles`, {
          body: role,
        })
      ).role,
    deleteForOrganization: async (organizationId: string, name: string) => {
      await this.request('DELETE', `api/v1/organizations/${enc(organizationId)}/roles/${enc(name)}`);
    },
  };

  readonly permissions = {
    list: async (page: PageOptions = {}) =>
      paged(
        await this.request<ListBody>('GET', 'api/v1/permissions', { query: pageQuery(page) }),
        'permissions',
      ) as PageOf<Permission>,
    get: async (name: string) =>
      (await this.request<{ permission: Permission }>('GET', `api/v1/permissions/${enc(name)}`)).permission,
    create: async (permission: { name: string; description?: string }) =>
      (await this.request<{ permission: Permission }>('POST', 'api/v1/permissions', { body: permission }))
        .permission,
    update: async (name: string, permission: { name?: string; description?: string }) =>
      (
        await this.request<{ permission: Permission }>('PUT', `api/v1/permissions/${enc(name)}`, {
          body: { name, ...permission },
        })
      ).permission,
    delete: async (name: string) => {
      await this.request('DELETE', `api/v1/permissions/${enc(name)}`);
    },
  };

  readonly sessions = {
    get: async (sessionId: string) => this.request<Session>('GET', `api/v1/sessions/${enc(sessionId)}`),
    listForUser: async (userId: string, page: PageOptions = {}) =>
      paged(
        await this.request<ListBody>('GET', `api/v1/users/${enc(userId)}/sessions`, {
          query: pageQuery(page),
        }),
        'sessions',
      ) as PageOf<Session>,
    revoke: async (sessionId: string) =>
      (await this.request<{ revoked_session?: Session }>('POST', `api/v1/sessions/${enc(sessionId)}/revoke`))
        .revoked_session ?? null,
    revokeAllForUser: async (userId: string) =>
      this.request<Record<string, unknown>>('POST', `api/v1/users/${enc(userId)}/sessions/revoke`),
  };
}

type ListBody = Record<string, unknown> & {
  next_page_token?: string;
  prev_page_token?: string;
  total_size?: number;
};

function paged(body: ListBody, key: string): PageOf<unknown> {
  return {
    items: (body[key] as unknown[] | undefined) ?? [],
    next_page_token: body.next_page_token ?? '',
    prev_page_token: body.prev_page_token ?? '',
    total_size: Number(body.total_size ?? 0),
  };
}

function pageQuery(page: PageOptions): Query {
  return { page_size: page.pageSize, page_token: page.pageToken };
}

const enc = encodeURIComponent;

/** The server's `google.rpc.Status` error as an AuthError. */
function managementError(method: string, path: string, status: number, body: unknown): AuthError {
  const rpc = (body ?? {}) as { code?: number; message?: string; details?: Array<{ error_code?: string }> };
  const errorCode = rpc.details?.find((d) => typeof d?.error_code === 'string')?.error_code;
  const error = new AuthError(
    'ERR_MANAGEMENT_API',
    'provider',
    `${method} ${path} failed (${status}${rpc.message ? `: ${rpc.message}` : ''})`,
    {
      ...(errorCode ? { oauthError: errorCode } : {}),
      ...(rpc.message ? { oauthErrorDescription: rpc.message } : {}),
    },
  );
  return Object.assign(error, { status, grpcCode: rpc.code ?? null, errorCode: errorCode ?? null });
}
