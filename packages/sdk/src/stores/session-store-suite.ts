import { beforeEach, describe, expect, it } from 'vitest';
import type { SessionData } from '../session.ts';
import type { SessionStore } from '../session-store.ts';

const hour = 3600_000;

/** A session as the SDK writes it; `updatedAt` is what orders two writes of one session. */
export function makeSession(updatedAt: number, over: Partial<SessionData> = {}): SessionData {
  return {
    user: {
      sub: 'usr_suite',
      sid: 'sid_suite',
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada Lovelace',
      givenName: 'Ada',
      familyName: 'Lovelace',
      organizationId: 'org_suite',
      roles: ['admin'],
      permissions: ['reports:read'],
    },
    accessToken: `at-${updatedAt}`,
    accessTokenExpiresAt: Math.floor(updatedAt / 1000) + 300,
    refreshToken: `rt-${updatedAt}`,
    idToken: `idt-${updatedAt}`,
    authTime: Math.floor(updatedAt / 1000),
    updatedAt,
    ...over,
  };
}

/**
 * The behaviour every `SessionStore` must have, run against each implementation. `open` returns
 * an empty store (a fresh file, key prefix or instance) for each test. Expiry is expressed with
 * moments already past or far ahead, so the suite works with stores that read the real clock.
 */
export function describeSessionStoreSuite(
  name: string,
  open: () => SessionStore | Promise<SessionStore>,
): void {
  describe(`SessionStore: ${name}`, () => {
    let store: SessionStore;
    const later = () => new Date(Date.now() + hour);

    beforeEach(async () => {
      store = await open();
    });

    it('an unknown id has no session', async () => {
      expect(await store.get('nobody')).toBeNull();
    });

    it('returns what was stored, field for field', async () => {
      const session = makeSession(1_000_000, { refreshToken: null, authTime: null });
      await store.set('s1', session, later());
      expect(await store.get('s1')).toEqual(session);
    });

    it('keeps long tokens and any characters intact', async () => {
      const session = makeSession(1_000_000, {
        accessToken: 'x'.repeat(10_000),
        user: { ...makeSession(0).user, name: 'Zoë "Ω" \\ 名前 😀\n' },
      });
      await store.set('s1', session, later());
      expect(await store.get('s1')).toEqual(session);
    });

    it('a newer write replaces the session', async () => {
      await store.set('s1', makeSession(1_000), later());
      await store.set('s1', makeSession(2_000), later());
      expect((await store.get('s1'))?.accessToken).toBe('at-2000');
    });

    it('an older write never replaces a newer session (refreshes finishing out of order)', async () => {
      await store.set('s1', makeSession(2_000), later());
      await store.set('s1', makeSession(1_000), later());
      expect((await store.get('s1'))?.accessToken).toBe('at-2000');
    });

    it('the newer session wins when both writes race', async () => {
      await Promise.all([
        store.set('s1', makeSession(3_000), later()),
        store.set('s1', makeSession(1_000), later()),
      ]);
      expect((await store.get('s1'))?.updatedAt).toBe(3_000);
      await Promise.all([
        store.set('s2', makeSession(1_000), later()),
        store.set('s2', makeSession(3_000), later()),
      ]);
      expect((await store.get('s2'))?.updatedAt).toBe(3_000);
    });

    it('a write with the same updatedAt replaces the session', async () => {
      await store.set('s1', makeSession(1_000), later());
      await store.set('s1', makeSession(1_000, { accessToken: 'second' }), later());
      expect((await store.get('s1'))?.accessToken).toBe('second');
    });

    it('an expired session is not returned', async () => {
      await store.set('s1', makeSession(1_000), new Date(Date.now() - 1_000));
      expect(await store.get('s1')).toBeNull();
    });

    it('a newer write moves the expiry', async () => {
      await store.set('s1', makeSession(1_000), later());
      await store.set('s1', makeSession(2_000), new Date(Date.now() - 1_000));
      expect(await store.get('s1')).toBeNull();
    });

    it('delete ends the session and leaves others; deleting an unknown id is fine', async () => {
      await store.set('s1', makeSession(1_000), later());
      await store.set('s2', makeSession(1_000, { accessToken: 'other' }), later());
      await store.delete('s1');
      await store.delete('never-stored');
      expect(await store.get('s1')).toBeNull();
      expect((await store.get('s2'))?.accessToken).toBe('other');
    });

    it('after a delete, the id can hold a new session of any age', async () => {
      await store.set('s1', makeSession(2_000), later());
      await store.delete('s1');
      await store.set('s1', makeSession(1_000), later());
      expect((await store.get('s1'))?.updatedAt).toBe(1_000);
    });

    it('changing a returned session does not change the stored one', async () => {
      await store.set('s1', makeSession(1_000), later());
      const read = await store.get('s1');
      read?.user.roles.push('intruder');
      expect((await store.get('s1'))?.user.roles).toEqual(['admin']);
    });
  });
}
