import type { RevocationStore } from '../revocation-store.ts';
import { pxat, type RedisCommander, type RedisStoreOptions } from './redis-client.ts';

/**
 * Records the moment up to which a user's sessions are ended, keeping the later of the stored and
 * the new one, so a late logout token naming an earlier moment cannot bring sessions back.
 * KEYS[1] = key; ARGV = at, expiresAt (epoch ms).
 */
const revokeUserScript = `
local at = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current > at then at = current end
redis.call('SET', KEYS[1], string.format('%d', at), 'PXAT', ARGV[2])
return 1
`;

/**
 * Back-channel logouts in Redis (a node-redis v5 client), shared by every instance of the app:
 * `sid:<sid>` for an ended session, `sub:<sub>` holding the moment (epoch ms) up to which a
 * user's sessions are ended, `jti:<jti>` for each seen logout token. Every lookup is one round
 * trip; `rememberJti` is one `SET NX`, so exactly one instance accepts a token.
 */
export class RedisRevocationStore implements RevocationStore {
  readonly #redis: RedisCommander;
  readonly #prefix: string;

  constructor(client: RedisCommander, options: RedisStoreOptions = {}) {
    this.#redis = client;
    this.#prefix = options.keyPrefix ?? 'sesame:revocation:';
  }

  async revoke(entry: { sid?: string; sub?: string; at: Date }, expiresAt: Date): Promise<void> {
    // A sid names one session; only a logout without one ends all of the user's sessions.
    if (entry.sid) {
      await this.#redis.sendCommand(['SET', `${this.#prefix}sid:${entry.sid}`, '1', 'PXAT', pxat(expiresAt)]);
    } else if (entry.sub) {
      await this.#redis.sendCommand([
        'EVAL',
        revokeUserScript,
        '1',
        `${this.#prefix}sub:${entry.sub}`,
        String(entry.at.getTime()),
        pxat(expiresAt),
      ]);
    }
  }

  async isRevoked(entry: { sid: string | null; sub: string; authTime: Date | null }): Promise<boolean> {
    const subKey = `${this.#prefix}sub:${entry.sub}`;
    let sidValue: string | null = null;
    let subValue: string | null;
    if (entry.sid === null) {
      subValue = await this.#redis.sendCommand<string | null>(['GET', subKey]);
    } else {
      [sidValue = null, subValue = null] = await this.#redis.sendCommand<(string | null)[]>([
        'MGET',
        `${this.#prefix}sid:${entry.sid}`,
        subKey,
      ]);
    }
    if (sidValue !== null) return true;
    if (subValue === null) return false;
    return entry.authTime === null || entry.authTime.getTime() <= Number(subValue);
  }

  async rememberJti(jti: string, expiresAt: Date): Promise<boolean> {
    const reply = await this.#redis.sendCommand<string | null>([
      'SET',
      `${this.#prefix}jti:${jti}`,
      '1',
      'NX',
      'PXAT',
      pxat(expiresAt),
    ]);
    return reply === 'OK';
  }
}
