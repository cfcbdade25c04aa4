// Every management write lands in the audit log, and `npx sesame audit` lists it (spec:
// management.md, "Every write is recorded in an audit log (who, what, when)").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import { type ManagementServer, startManagementServer } from './management-helpers.ts';

let dir: string;
let database: string;
let m: ManagementServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-audit-'));
  database = join(dir, 'sesame.db');
  m = await startManagementServer({ databaseUrl: database });
});
afterAll(async () => {
  await m.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    { DATABASE_URL: database },
    {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface AuditRow {
  id: string;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  detail: Record<string, unknown>;
}

describe('sesame audit', () => {
  it('lists every write, oldest first: who, what, which target, when, and the fields changed', async () => {
    const org = (
      await m.api('POST', '/api/v1/organizations', { display_name: 'Audited', metadata: { plan: 'a' } })
    ).body.organization;
    await m.api('PATCH', `/api/v1/organizations/${org.id}`, { display_name: 'Audited Inc' });
    // Reads are not recorded.
    await m.api('GET', `/api/v1/organizations/${org.id}`);
    const user = (
      await m.api('POST', `/api/v1/organizations/${org.id}/users`, { email: 'audited@example.com' })
    ).body.user;
    await m.api('DELETE', `/api/v1/users/${user.id}`);

    const run = await cli(['audit', '--json']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.out) as AuditRow[];
    expect(rows.map((r) => [r.action, r.target_type, r.target_id])).toEqual([
      ['OrganizationService.CreateOrganization', 'organization', org.id],
      ['OrganizationService.UpdateOrganization', 'organization', org.id],
      ['UserService.CreateUserAndMembership', 'user', user.id],
      ['UserService.DeleteUser', 'user', user.id],
    ]);
    expect(new Set(rows.map((r) => r.actor))).toEqual(new Set([m.app.id]));
    expect(rows[0]?.detail).toMatchObject({ display_name: 'Audited', metadata: { plan: 'a' } });
    expect(rows[1]?.detail).toEqual({ display_name: 'Audited Inc' });
    expect(rows.map((r) => r.at)).toEqual([...rows.map((r) => r.at)].sort());
    for (const row of rows) expect(Date.parse(row.at)).not.toBeNaN();
    // Never a secret in the log.
    expect(run.out).not.toContain(m.app.secret);
    expect(run.out).not.toContain(m.token);
  });

  it('prints a table, and --limit keeps the first N', async () => {
    const table = await cli(['audit']);
    expect(table.code).toBe(0);
    expect(table.out.split('\n')[0]).toMatch(/^at\s+actor\s+action\s+target\s+detail$/);
    expect(table.out).toContain('OrganizationService.CreateOrganization');
    const limited = JSON.parse((await cli(['audit', '--limit', '1', '--json'])).out) as AuditRow[];
    expect(limited.map((r) => r.action)).toEqual(['OrganizationService.CreateOrganization']);
  });

  it('a malformed --limit is a usage error', async () => {
    const run = await cli(['audit', '--limit', 'ten']);
    expect(run.code).toBe(2);
    expect(run.err).toContain('--limit');
  });
});
