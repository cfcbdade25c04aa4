// Management API semantics (spec: management.md): revoking a session has every effect of logout
// (refresh tokens die, back-channel logout is sent); deleting a user ends their sessions; role and
// permission changes appear in the next tokens; the session paths over REST and their bad input.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeClaims,
  type Receiver,
  registerApp,
  startReceiver,
  verifyLogoutToken,
  waitForDeliveries,
} from '../backchannel/receiver.ts';
import { Agent, signInAndExchange, tokenRequest } from '../support/agent.ts';
import type { RegisteredClient } from '../support/server.ts';
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
let receiver: Receiver;
let notified: RegisteredClient;

beforeEach(async () => {
  [m, receiver] = await Promise.all([startManagementServer(), startReceiver('ok')]);
  notified = await registerApp(m.server, 'Notified App', receiver.uri('notified'));
});
afterEach(async () => {
  await m.close();
  await receiver.close();
});

/** Signs the demo user in to the notified app: the session id and its tokens. */
async function signedIn() {
  const agent = new Agent();
  const tokens = await signInAndExchange(agent, m.server, { client: notified });
  const sid = decodeClaims(tokens['id_token'] as string)['sid'] as string;
  return {
    agent,
    sid,
    refreshToken: tokens['refresh_token'] as string,
    accessToken: tokens['access_token'] as string,
  };
}

function refresh(refreshToken: string) {
  return tokenRequest(m.server, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: notified.id,
    client_secret: notified.secret ?? '',
  });
}

describe('sessions over REST', () => {
  it('GET /api/v1/sessions/{session_id} describes a live session', async () => {
    const { sid } = await signedIn();
    const res = await m.api('GET', `/api/v1/sessions/${sid}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      session_id: sid,
      user_id: m.server.user.id,
      organization_id: m.server.user.organizationId,
      authenticated_organizations: [m.server.user.organizationId],
      status: 'active',
      authenticated_clients: [{ client_id: notified.id, organization_id: m.server.user.organizationId }],
    });
    for (const field of [
      'created_at',
      'updated_at',
      'idle_expires_at',
      'absolute_expires_at',
      'last_active_at',
    ]) {
      expect(res.body[field]).toMatch(rfc3339);
    }
    expect(res.body).not.toHaveProperty('logout_at');
    expect(res.body.device.user_agent).not.toBe('');
  });

  it('GET /api/v1/users/{user_id}/sessions lists a user’s sessions, filtered by status', async () => {
    const first = await signedIn();
    const second = await signedIn();
    await m.api('POST', `/api/v1/sessions/${first.sid}/revoke`);
    const all = await m.api('GET', `/api/v1/users/${m.server.user.id}/sessions`);
    expect(all.status).toBe(200);
    expect(all.body.total_size).toBe(2);
    expect(all.body.sessions.map((s: { session_id: string }) => s.session_id).sort()).toEqual(
      [first.sid, second.sid].sort(),
    );
    const active = await m.api('GET', `/api/v1/users/${m.server.user.id}/sessions?filter.status=active`);
    expect(active.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([second.sid]);
    const revoked = await m.api(
      'GET',
      `/api/v1/users/${m.server.user.id}/sessions?filter.status=revoked&filter.status=logout`,
    );
    expect(revoked.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([first.sid]);
    expect(revoked.body.total_size).toBe(1);
    const paged = await m.api('GET', `/api/v1/users/${m.server.user.id}/sessions?page_size=1`);
    expect(paged.body.sessions).toHaveLength(1);
    const next = await m.api(
      'GET',
      `/api/v1/users/${m.server.user.id}/sessions?page_size=1&page_token=${paged.body.next_page_token}`,
    );
    expect(next.body.sessions).toHaveLength(1);
    expect(next.body.sessions[0].session_id).not.toBe(paged.body.sessions[0].session_id);
    expect(next.body.next_page_token).toBe('');
  });

  it('POST /api/v1/sessions/{session_id}/revoke is logout: refresh token dies, back-channel notice is sent', async () => {
    const { sid, refreshToken } = await signedIn();
    const before = await auditCount(m.server);
    const res = await m.api('POST', `/api/v1/sessions/${sid}/revoke`);
    expect(res.status).toBe(200);
    expect(res.body.revoked_session).toMatchObject({
      session_id: sid,
      user_id: m.server.user.id,
      status: 'revoked',
    });
    expect(res.body.revoked_session.logout_at).toMatch(rfc3339);

    const refreshed = await refresh(refreshToken);
    expect(refreshed.status).toBe(400);
    expect(refreshed.body['error']).toBe('invalid_grant');

    const [delivery] = await waitForDeliveries(
      m.server,
      sid,
      (d) => d.length === 1 && d[0]?.status === 'delivered',
    );
    expect(delivery?.clientId).toBe(notified.id);
    const [posted] = receiver.deliveredTo('notified');
    const { payload } = await verifyLogoutToken(m.server, posted?.logoutToken as string, notified.id);
    expect(payload['sid']).toBe(sid);

    expect(await auditCount(m.server)).toBe(before + 1);
    const events = (await m.server.store.audit.list({ limit: 100 })).items;
    expect(events.at(-1)).toMatchObject({
      actor: m.app.id,
      action: 'SessionService.RevokeSession',
      targetType: 'session',
      targetId: sid,
    });
    // Revoking it again changes nothing and records nothing.
    const again = await m.api('POST', `/api/v1/sessions/${sid}/revoke`);
    expect(again.status).toBe(200);
    expect(again.body.revoked_session.status).toBe('revoked');
    expect(await auditCount(m.server)).toBe(before + 1);
  });

  it('POST /api/v1/users/{user_id}/sessions/revoke ends every live session of the user', async () => {
    const first = await signedIn();
    const second = await signedIn();
    const res = await m.api('POST', `/api/v1/users/${m.server.user.id}/sessions/revoke`);
    expect(res.status).toBe(200);
    expect(res.body.total_revoked).toBe(2);
    expect(res.body.revoked_sessions.map((s: { session_id: string }) => s.session_id).sort()).toEqual(
      [first.sid, second.sid].sort(),
    );
    for (const session of [first, second]) {
      expect((await refresh(session.refreshToken)).body['error']).toBe('invalid_grant');
      await waitForDeliveries(m.server, session.sid, (d) => d.length === 1 && d[0]?.status === 'delivered');
    }
  });

  it('DELETE /api/v1/users/{id} ends the user’s sessions first: refresh dies, back-channel notice is sent', async () => {
    const { sid, refreshToken, accessToken } = await signedIn();
    const res = await m.api('DELETE', `/api/v1/users/${m.server.user.id}`);
    expect(res.status).toBe(200);
    expect((await refresh(refreshToken)).body['error']).toBe('invalid_grant');
    await waitForDeliveries(m.server, sid, (d) => d.length === 1 && d[0]?.status === 'delivered');
    const userinfo = await fetch(`${m.server.url}/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(userinfo.status).toBe(401);
  });
});

describe('role and permission changes show in the next tokens', () => {
  it('assigning and removing a role changes the `roles` claim of the next refreshed access token', async () => {
    const { refreshToken } = await signedIn();
    const { id: userId, organizationId } = m.server.user;
    await m.api('POST', '/api/v1/permissions', { name: 'reports:read', description: 'Read reports' });
    await m.api('POST', '/api/v1/roles', {
      name: 'analyst',
      display_name: 'Analyst',
      permissions: ['reports:read'],
    });

    const assigned = await m.api('POST', `/api/v1/organizations/${organizationId}/users/${userId}/roles`, [
      { role_name: 'analyst' },
    ]);
    expect(assigned.status).toBe(200);
    const afterAssign = await refresh(refreshToken);
    expect(afterAssign.status).toBe(200);
    const claims = decodeClaims(afterAssign.body['access_token'] as string);
    expect(claims['roles']).toEqual(['admin', 'analyst']);
    expect(claims['permissions']).toContain('reports:read');

    await m.api('DELETE', `/api/v1/organizations/${organizationId}/users/${userId}/roles/analyst`);
    const afterRemove = await refresh(afterAssign.body['refresh_token'] as string);
    const later = decodeClaims(afterRemove.body['access_token'] as string);
    expect(later['roles']).toEqual(['admin']);
    expect(later['permissions']).not.toContain('reports:read');
  });

  it('a permission added to a role shows in the `permissions` claim of the next token', async () => {
    const { refreshToken } = await signedIn();
    await m.api('POST', '/api/v1/permissions', { name: 'billing:manage', description: '' });
    const first = await refresh(refreshToken);
    expect(decodeClaims(first.body['access_token'] as string)['permissions']).not.toContain('billing:manage');
    const res = await m.api('POST', '/api/v1/roles/admin/permissions', {
      permission_names: ['billing:manage'],
    });
    expect(res.status).toBe(200);
    const next = await refresh(first.body['refresh_token'] as string);
    expect(next.status).toBe(200);
    expect(decodeClaims(next.body['access_token'] as string)['permissions']).toContain('billing:manage');
  });
});

type Row = {
  name: string;
  method: string;
  path: () => string;
  status: number;
  code: number;
  errorCode: string;
  field?: string;
};

const invalid = { status: 400, code: grpc.InvalidArgument, errorCode: 'INVALID_ARGUMENT' };
const missing = { status: 404, code: grpc.NotFound, errorCode: 'NOT_FOUND' };
const userSessions = () => `/api/v1/users/${m.server.user.id}/sessions`;

const badInput: Row[] = [
  {
    name: 'an unknown session',
    method: 'GET',
    path: () => '/api/v1/sessions/ses_0000000000000000000000000',
    ...missing,
  },
  {
    name: 'a malformed session id',
    method: 'GET',
    path: () => '/api/v1/sessions/not-a-session',
    ...invalid,
    field: 'session_id',
  },
  {
    name: 'revoking an unknown session',
    method: 'POST',
    path: () => '/api/v1/sessions/ses_0000000000000000000000000/revoke',
    ...missing,
  },
  {
    name: 'revoking with a wrong method',
    method: 'GET',
    path: () => '/api/v1/sessions/ses_0000000000000000000000000/revoke',
    status: 405,
    code: grpc.Unimplemented,
    errorCode: 'UNIMPLEMENTED',
  },
  {
    name: 'sessions of an unknown user',
    method: 'GET',
    path: () => '/api/v1/users/usr_0000000000000000000000000/sessions',
    ...missing,
  },
  {
    name: 'sessions with page_size 101',
    method: 'GET',
    path: () => `${userSessions()}?page_size=101`,
    ...invalid,
    field: 'page_size',
  },
  {
    name: 'sessions with page_size "ten"',
    method: 'GET',
    path: () => `${userSessions()}?page_size=ten`,
    ...invalid,
    field: 'page_size',
  },
  {
    name: 'an unknown status filter',
    method: 'GET',
    path: () => `${userSessions()}?filter.status=sleeping`,
    ...invalid,
    field: 'filter.status[0]',
  },
  {
    name: 'a malformed start_time',
    method: 'GET',
    path: () => `${userSessions()}?filter.start_time=yesterday`,
    ...invalid,
    field: 'filter.start_time',
  },
  {
    name: 'an end_time before start_time',
    method: 'GET',
    path: () =>
      `${userSessions()}?filter.start_time=2030-01-02T00:00:00Z&filter.end_time=2030-01-01T00:00:00Z`,
    ...invalid,
    field: 'filter.end_time',
  },
  {
    name: 'an unknown filter field',
    method: 'GET',
    path: () => `${userSessions()}?filter.colour=red`,
    ...invalid,
    field: 'filter.colour',
  },
  {
    name: 'the filter as a whole in the query',
    method: 'GET',
    path: () => `${userSessions()}?filter=active`,
    ...invalid,
    field: 'filter',
  },
  {
    name: 'revoking sessions of an unknown user',
    method: 'POST',
    path: () => '/api/v1/users/usr_0000000000000000000000000/sessions/revoke',
    ...missing,
  },
];

describe('sessions: bad input', () => {
  let session: { sid: string };
  beforeEach(async () => {
    session = await signedIn();
  });

  it.each(badInput)('$name → $status', async (row) => {
    const before = await auditCount(m.server);
    const res: ApiResponse = await m.api(row.method, row.path());
    expectStatusError(res, row);
    expect(await auditCount(m.server)).toBe(before);
    expect((await m.server.store.sessions.get(session.sid))?.endedAt).toBeNull();
  });
});
