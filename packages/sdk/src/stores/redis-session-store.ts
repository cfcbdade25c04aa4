import type { SessionData } from '../session.ts';
import type { SessionStore } from '../session-store.ts';
import { pxat, type RedisCommander, type RedisStoreOptions } from './redis-client.ts';

export type { RedisCommander, RedisStoreOptions } from './redis-client.ts';
export { RedisRevocationStore } from './redis-revocation-store.ts';

/**
 * Writes the session unless the stored one is newer, in one step on the server, so two instances
 * finishing refreshes out of order cannot replace the newer session with the older one.
 * KEYS[1] = key; ARGV = json, updatedAt, expiresAt (epoch ms).
 */
const setUnlessNewerScript = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and tonumber(stored['updatedAt']) and tonumber(stored['updatedAt']) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
return 1
`;

/**
 * Sessions in Redis (a node-redis v5 client), shared by every instance of the app. One string key
 * per session holding its JSON, expiring with the session (`PXAT`). The value holds tokens: never
 * log it.
 */
export class RedisSessionStore implements SessionStore {
  readonly #redis: RedisCommander;
  readonly #prefix: string;

  constructor(client: RedisCommander, options: RedisStoreOptions = {}) {
    this.#redis = client;
    this.#prefix = options.keyPrefix ?? 'sesame:session:';
  }

  async get(id: string): Promise<SessionData | null> {
    const value = await this.#redis.sendCommand<string | null>(['GET', this.#prefix + id]);
    if (typeof value !== 'string') return null;
    try {
      return JSON.parse(value) as SessionData;
    } catch {
      return null;
    }
  }

  async set(id: string, data: SessionData, expiresAt: Date): Promise<void> {
    await this.#redis.sendCommand([
      'EVAL',
      setUnlessNewerScript,
      '1',
      this.#prefix + id,
      JSON.stringify(data),
      String(data.updatedAt),
      pxat(expiresAt),
    ]);
  }

  async delete(id: string): Promise<void> {
    await this.#redis.sendCommand(['DEL', this.#prefix + id]);
  }
}
