// Management API, REST form, organizations (spec: management.md, "Resources": organizations; REST
// is grpc-gateway transcoding: snake_case JSON, enums as strings, RFC 3339 timestamps, 201 on
// create, 200 with {} on delete, google.rpc.Status errors).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  auditCount,
  expectStatusError,
  grpc,
  type ManagementServer,
  rfc3339,
  startManagementServer,
} from './management-helpers.ts';

let m: ManagementServer;
let acme: { id: string };

beforeAll(async () => {
  m = await startManagementServer();
  const res = await m.api('POST', '/api/v1/organizations', {
    display_name: 'Acme Corp',
    external_id: 'acme-001',
    metadata: { plan: 'enterprise' },
  });
  acme = res.body.organization;
  await m.api('POST', '/api/v1/organizations', { display_name: 'Other Inc', external_id: 'other-001' });
});
afterAll(() => m.close());

describe('organizations over REST', () => {
  it('POST /api/v1/organizations creates one: 201, snake_case fields, RFC 3339 times, enums as strings', async () => {
    const before = await auditCount(m.server);
    const res = await m.api('POST', '/api/v1/organizations', {
      display_name: 'Globex',
      external_id: 'globex-1',
      metadata: { tier: 'gold' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toContain('application/json');
    const org = res.body.organization;
    expect(org).toMatchObject({
      display_name: 'Globex',
      external_id: 'globex-1',
      metadata: { tier: 'gold' },
      region_code: 'REGION_CODE_UNSPECIFIED',
    });
    expect(org.id).toMatch(/^org_[0-9a-z]+$/);
    expect(org.create_time).toMatch(rfc3339);
    expect(org.update_time).toMatch(rfc3339);
    expect(org).not.toHaveProperty('displayName');
    const stored = await m.server.store.organizations.get(org.id);
    expect(stored).toMatchObject({ name: 'Globex', externalId: 'globex-1', metadata: { tier: 'gold' } });
    expect(await auditCount(m.server)).toBe(before + 1);
    const [event] = (await m.server.store.audit.list({ limit: 1000 })).items.slice(-1);
    expect(event).toMatchObject({
      actor: m.app.id,
      action: 'OrganizationService.CreateOrganization',
      targetType: 'organization',
      targetId: org.id,
      detail: { display_name: 'Globex', external_id: 'globex-1' },
    });
  });

  it('GET /api/v1/organizations/{id} reads one', async () => {
    const res = await m.api('GET', `/api/v1/organizations/${acme.id}`);
    expect(res.status).toBe(200);
    expect(res.body.organization).toMatchObject({
      id: acme.id,
      display_name: 'Acme Corp',
      external_id: 'acme-001',
    });
  });

  it('GET /api/v1/organizations:external/{external_id} reads one by external id', async () => {
    const res = await m.api('GET', '/api/v1/organizations:external/acme-001');
    expect(res.status).toBe(200);
    expect(res.body.organization.id).toBe(acme.id);
  });

  it('PATCH /api/v1/organizations/{id} changes the fields sent and leaves the others', async () => {
    const created = (
      await m.api('POST', '/api/v1/organizations', { display_name: 'Initech', external_id: 'ini-1' })
    ).body.organization;
    const res = await m.api('PATCH', `/api/v1/organizations/${created.id}`, { display_name: 'Initech Ltd' });
    expect(res.status).toBe(200);
    expect(res.body.organization).toMatchObject({
      id: created.id,
      display_name: 'Initech Ltd',
      external_id: 'ini-1',
    });
    expect((await m.server.store.organizations.get(created.id))?.name).toBe('Initech Ltd');
  });

  it('PATCH with update_mask clears a named field that is not sent', async () => {
    const created = (
      await m.api('POST', '/api/v1/organizations', { display_name: 'Umbrella', external_id: 'umb-1' })
    ).body.organization;
    const res = await m.api('PATCH', `/api/v1/organizations/${created.id}?update_mask=external_id`, {});
    expect(res.status).toBe(200);
    expect(res.body.organization.display_name).toBe('Umbrella');
    expect(res.body.organization).not.toHaveProperty('external_id');
    expect((await m.server.store.organizations.get(created.id))?.externalId).toBeNull();
  });

  it('DELETE /api/v1/organizations/{id} answers 200 with {} and removes it', async () => {
    const created = (await m.api('POST', '/api/v1/organizations', { display_name: 'Doomed' })).body
      .organization;
    const res = await m.api('DELETE', `/api/v1/organizations/${created.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(await m.server.store.organizations.get(created.id)).toBeNull();
    expectStatusError(await m.api('GET', `/api/v1/organizations/${created.id}`), {
      status: 404,
      code: grpc.NotFound,
      errorCode: 'NOT_FOUND',
    });
  });

  it('GET /api/v1/organizations pages with opaque next and previous page tokens and a total', async () => {
    for (const name of ['Page A', 'Page B', 'Page C'])
      await m.api('POST', '/api/v1/organizations', { display_name: name });
    const total = (await m.server.store.organizations.list({ limit: 1 })).totalSize;
    const seen: string[] = [];
    let token = '';
    let previous: string[] = [];
    const pages: Array<{ ids: string[]; prev: string }> = [];
    do {
      const res = await m.api(
        'GET',
        `/api/v1/organizations?page_size=2${token ? `&page_token=${token}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.total_size).toBe(total);
      const ids = res.body.organizations.map((o: { id: string }) => o.id);
      expect(ids.length).toBeLessThanOrEqual(2);
      pages.push({ ids, prev: res.body.prev_page_token });
      seen.push(...ids);
      previous = ids;
      token = res.body.next_page_token;
    } while (token);
    expect(previous.length).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(total);
    expect(pages[0]?.prev).toBe('');
    // The previous page token of the last page leads back to the page before it.
    const last = pages.at(-1)!;
    const back = await m.api('GET', `/api/v1/organizations?page_size=2&page_token=${last.prev}`);
    expect(back.body.organizations.map((o: { id: string }) => o.id)).toEqual(pages.at(-2)?.ids);
  });

  it('page_size 0 (or absent) means the default of 10', async () => {
    for (let i = 0; i < 9; i++) await m.api('POST', '/api/v1/organizations', { display_name: `Bulk ${i}` });
    for (const query of ['', '?page_size=0']) {
      const res = await m.api('GET', `/api/v1/organizations${query}`);
      expect(res.body.organizations).toHaveLength(10);
      expect(res.body.next_page_token).not.toBe('');
    }
  });

  it('GET /api/v1/organizations?external_id= filters to that organization', async () => {
    const res = await m.api('GET', '/api/v1/organizations?external_id=acme-001');
    expect(res.body.organizations.map((o: { id: string }) => o.id)).toEqual([acme.id]);
    expect(res.body.total_size).toBe(1);
  });

  it('GET /api/v1/organizations:search finds by a substring of the name, case-insensitively', async () => {
    const res = await m.api('GET', '/api/v1/organizations:search?query=ACME');
    expect(res.status).toBe(200);
    expect(res.body.organizations.map((o: { id: string }) => o.id)).toEqual([acme.id]);
    expect(res.body.total_size).toBe(1);
  });
});

type Row = {
  name: string;
  method: string;
  path: () => string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: number;
  errorCode: string;
  field?: string;
};

const organizationPath = () => `/api/v1/organizations/${acme.id}`;
const unknownOrg = 'org_0000000000000000000000000';

const badInput: Row[] = [
  // Create
  {
    name: 'create without a body',
    method: 'POST',
    path: () => '/api/v1/organizations',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization',
  },
  {
    name: 'empty display_name',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: '' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.display_name',
  },
  {
    name: 'missing display_name',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { external_id: 'x-1' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.display_name',
  },
  {
    name: 'oversized display_name (201 characters)',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'x'.repeat(201) },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.display_name',
  },
  {
    name: 'wrong-typed display_name',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 42 },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.display_name',
  },
  {
    name: 'wrong-typed metadata',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'X', metadata: ['a'] },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.metadata',
  },
  {
    name: 'an unknown field',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'X', colour: 'red' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.colour',
  },
  {
    name: 'metadata with 11 pairs',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: {
      display_name: 'X',
      metadata: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`key${i}`, 'v'])),
    },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.metadata',
  },
  {
    name: 'a metadata key of 2 characters',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'X', metadata: { ab: 'v' } },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.metadata',
  },
  {
    name: 'a slug (not stored by Sesame)',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'X', slug: 'x' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.slug',
  },
  {
    name: 'a region code (not stored by Sesame)',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'X', region_code: 'EU' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.region_code',
  },
  {
    name: 'an unknown region code',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'X', region_code: 'MARS' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.region_code',
  },
  {
    name: 'a duplicate external_id',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: { display_name: 'Other', external_id: 'acme-001' },
    status: 409,
    code: grpc.AlreadyExists,
    errorCode: 'ALREADY_EXISTS',
    field: 'organization.external_id',
  },
  {
    name: 'a form body',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: 'display_name=X',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: '(body)',
  },
  {
    name: 'invalid JSON',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: '{"display_name": ',
    headers: { 'content-type': 'application/json' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: '(body)',
  },
  {
    name: 'a JSON array as the organization',
    method: 'POST',
    path: () => '/api/v1/organizations',
    body: [{ display_name: 'X' }],
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization',
  },
  // Read
  {
    name: 'an unknown id',
    method: 'GET',
    path: () => `/api/v1/organizations/${unknownOrg}`,
    status: 404,
    code: grpc.NotFound,
    errorCode: 'NOT_FOUND',
  },
  {
    name: 'an id of another kind',
    method: 'GET',
    path: () => '/api/v1/organizations/usr_0000000000000000000000000',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'id',
  },
  {
    name: 'an unknown external id',
    method: 'GET',
    path: () => '/api/v1/organizations:external/nobody',
    status: 404,
    code: grpc.NotFound,
    errorCode: 'NOT_FOUND',
  },
  {
    name: 'both id and external_id',
    method: 'GET',
    path: () => `${organizationPath()}?external_id=acme-001`,
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'id',
  },
  // Update
  {
    name: 'update of an unknown id',
    method: 'PATCH',
    path: () => `/api/v1/organizations/${unknownOrg}`,
    body: { display_name: 'New' },
    status: 404,
    code: grpc.NotFound,
    errorCode: 'NOT_FOUND',
  },
  {
    name: 'update to an empty display_name',
    method: 'PATCH',
    path: organizationPath,
    body: { display_name: '' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization.display_name',
  },
  {
    name: 'update to a taken external_id',
    method: 'PATCH',
    path: organizationPath,
    body: { external_id: 'other-001' },
    status: 409,
    code: grpc.AlreadyExists,
    errorCode: 'ALREADY_EXISTS',
    field: 'organization.external_id',
  },
  {
    name: 'PATCH on the external-id path (not bound)',
    method: 'PATCH',
    path: () => '/api/v1/organizations:external/acme-001',
    body: {},
    status: 405,
    code: grpc.Unimplemented,
    errorCode: 'UNIMPLEMENTED',
  },
  {
    name: 'update_mask naming an unknown field',
    method: 'PATCH',
    path: () => `${organizationPath()}?update_mask=colour`,
    body: { display_name: 'New' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'update_mask',
  },
  {
    name: 'update without a body',
    method: 'PATCH',
    path: organizationPath,
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'organization',
  },
  {
    name: 'the id in the query as well as the path',
    method: 'PATCH',
    path: () => `${organizationPath()}?id=${unknownOrg}`,
    body: { display_name: 'New' },
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'id',
  },
  // Delete
  {
    name: 'delete of an unknown id',
    method: 'DELETE',
    path: () => `/api/v1/organizations/${unknownOrg}`,
    status: 404,
    code: grpc.NotFound,
    errorCode: 'NOT_FOUND',
  },
  // List and search
  {
    name: 'page_size 101',
    method: 'GET',
    path: () => '/api/v1/organizations?page_size=101',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'page_size',
  },
  {
    name: 'page_size "abc"',
    method: 'GET',
    path: () => '/api/v1/organizations?page_size=abc',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'page_size',
  },
  {
    name: 'page_size -1',
    method: 'GET',
    path: () => '/api/v1/organizations?page_size=-1',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'page_size',
  },
  {
    name: 'page_size given twice',
    method: 'GET',
    path: () => '/api/v1/organizations?page_size=1&page_size=2',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'page_size',
  },
  {
    name: 'a forged page_token',
    method: 'GET',
    path: () => '/api/v1/organizations?page_token=bm90LWEtdG9rZW4',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'page_token',
  },
  {
    name: 'an unknown query parameter',
    method: 'GET',
    path: () => '/api/v1/organizations?colour=red',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'colour',
  },
  {
    name: 'search without a query',
    method: 'GET',
    path: () => '/api/v1/organizations:search',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'query',
  },
  {
    name: 'search with a 2-character query',
    method: 'GET',
    path: () => '/api/v1/organizations:search?query=ac',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'query',
  },
  {
    name: 'search with page_size 31',
    method: 'GET',
    path: () => '/api/v1/organizations:search?query=acme&page_size=31',
    status: 400,
    code: grpc.InvalidArgument,
    errorCode: 'INVALID_ARGUMENT',
    field: 'page_size',
  },
  // Methods and paths
  {
    name: 'a wrong method',
    method: 'PUT',
    path: () => '/api/v1/organizations',
    body: {},
    status: 405,
    code: grpc.Unimplemented,
    errorCode: 'UNIMPLEMENTED',
  },
  {
    name: 'an unknown path',
    method: 'GET',
    path: () => '/api/v1/organisations',
    status: 404,
    code: grpc.NotFound,
    errorCode: 'NOT_FOUND',
  },
];

describe('organizations: bad input', () => {
  it.each(badInput)('$name → $status', async (row) => {
    const before = await auditCount(m.server);
    const orgsBefore = (await m.server.store.organizations.list({ limit: 1 })).totalSize;
    const acmeBefore = await m.server.store.organizations.get(acme.id);
    const res: ApiResponse = await m.api(
      row.method,
      row.path(),
      row.body,
      row.headers ? { headers: row.headers } : {},
    );
    expectStatusError(res, row.field === undefined ? row : { ...row, field: row.field });
    expect(await auditCount(m.server)).toBe(before);
    expect((await m.server.store.organizations.list({ limit: 1 })).totalSize).toBe(orgsBefore);
    expect(await m.server.store.organizations.get(acme.id)).toEqual(acmeBefore);
  });

  it('a wrong method answers Allow with the methods the path has', async () => {
    const res = await m.api('PUT', '/api/v1/organizations', {});
    expect(res.headers.get('allow')).toBe('POST, GET');
  });
});
