import { beforeEach, describe, expect, it } from 'vitest';
import type { RevocationStore } from '../revocation-store.ts';

const hour = 3600_000;
const t0 = Date.UTC(2030, 0, 1);
/** The moment `seconds` after the suite's epoch. */
const at = (seconds: number) => new Date(t0 + seconds * 1000);

/**
 * The behaviour every `RevocationStore` must have (OpenID Connect Back-Channel Logout §2.7), run
 * against each implementation. `open` returns an empty store for each test.
 * @see https://openid.net/specs/openid-connect-backchannel-1_0.html#BCActions
 */
export function describeRevocationStoreSuite(
  name: string,
  open: () => RevocationStore | Promise<RevocationStore>,
): void {
  describe(`RevocationStore: ${name}`, () => {
    let store: RevocationStore;
    const later = () => new Date(Date.now() + hour);

    beforeEach(async () => {
      store = await open();
    });

    it('nothing is revoked until a logout is recorded', async () => {
      expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: at(0) })).toBe(false);
      expect(await store.isRevoked({ sid: null, sub: 'usr_a', authTime: null })).toBe(false);
    });

    it('a sid logout ends that session only, not the user’s other sessions', async () => {
      await store.revoke({ sid: 'sid_a', sub: 'usr_a', at: at(100) }, later());
      expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: at(0) })).toBe(true);
      expect(await store.isRevoked({ sid: 'sid_b', sub: 'usr_a', authTime: at(0) })).toBe(false);
      expect(await store.isRevoked({ sid: null, sub: 'usr_a', authTime: at(0) })).toBe(false);
    });

    it('a sid logout ends that session whatever its sign-in time', async () => {
      await store.revoke({ sid: 'sid_a', at: at(100) }, later());
      expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: at(500) })).toBe(true);
    });

    it('a sub logout ends every session of that user signed in at or before the moment', async () => {
      await store.revoke({ sub: 'usr_a', at: at(100) }, later());
      expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: at(50) })).toBe(true);
      expect(await store.isRevoked({ sid: 'sid_b', sub: 'usr_a', authTime: at(100) })).toBe(true);
      expect(await store.isRevoked({ sid: null, sub: 'usr_a', authTime: at(99) })).toBe(true);
    });

    it('a sub logout spares sessions signed in after the moment', async () => {
      await store.revoke({ sub: 'usr_a', at: at(100) }, later());
      expect(await store.isRevoked({ sid: 'sid_c', sub: 'usr_a', authTime: at(101) })).toBe(false);
    });

    it('a sub logout ends a session whose sign-in time is unknown', async () => {
      await store.revoke({ sub: 'usr_a', at: at(100) }, later());
      expect(await store.isRevoked({ sid: 'sid_a', sub: 'usr_a', authTime: null })).toBe(true);
    });

    it('a sub logout leaves other users signed in', async () => {
      await store.revoke({ sub: 'usr_a', at: at(100) }, later());
      expect(await store.isRevoked({ sid: 'sid_x', sub: 'usr_b', authTime: at(0) })).toBe(false);
    });

    it('a later logout naming an earlier moment does not bring ended sessions back', async () => {
      await store.revoke({ sub: 'usr_a', at: at(200) }, later());
      await store.revoke({ sub: 'usr_a', at: at(100) }, later());
      expect(await store.isRevoked({ sid: null, sub: 'usr_a', authTime: at(150) })).toBe(true);
      await store.revoke({ sub: 'usr_a', at: at(300) }, later());
      expect(await store.isRevoked({ sid: null, sub: 'usr_a', authTime: at(250) })).toBe(true);
      expect(await store.isRevoked({ sid: null, sub: 'usr_a', authTime: at(301) })).toBe(false);
    });

    it('a logout token jti is accepted once, then reported as a replay', async () => {
      expect(await store.rememberJti('jti-1', later())).toBe(true);
      expect(await store.rememberJti('jti-1', later())).toBe(false);
      expect(await store.rememberJti('jti-2', later())).toBe(true);
    });

    it('of concurrent deliveries of one jti, exactly one is accepted', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.rememberJti('jti-race', later())),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
