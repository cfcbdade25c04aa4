/**
 * The one method the Redis stores use, which a node-redis v5 client (`createClient({ url })`,
 * connected) has. Typed structurally so the SDK does not depend on the `redis` package's types.
 */
export interface RedisCommander {
  sendCommand<T = unknown>(args: readonly string[]): Promise<T>;
}

/** What the Redis stores share. */
export interface RedisStoreOptions {
  /** Prepended to every key; give each app (and each environment) its own. */
  keyPrefix?: string;
}

/** A `PXAT` argument: Redis refuses 0 and below, and a past moment expires the key at once. */
export function pxat(date: Date): string {
  return String(Math.max(1, Math.ceil(date.getTime())));
}
