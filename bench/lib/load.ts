import autocannon, { type AutocannonRequest } from 'autocannon';

/** One bounded load run against one server. */
export interface LoadResult {
  /** Successful (2xx, or completed flows) per second. */
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  /** Transport errors, timeouts and non-2xx answers (or failed flows). */
  errors: number;
  /** Successful responses (or completed flows). */
  ok: number;
  seconds: number;
  /** Answers by status code (autocannon runs only). */
  statusCodes: Record<string, number>;
}

/** Drives `requests` (cycled per connection) at `url` with a fixed number of connections for `seconds`. */
export async function hammer(input: {
  url: string;
  connections: number;
  seconds: number;
  requests: AutocannonRequest[];
}): Promise<LoadResult> {
  const result = await autocannon({
    url: input.url,
    connections: input.connections,
    duration: input.seconds,
    timeout: 10,
    requests: input.requests,
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = count;
  const ok = result['2xx'];
  const seconds = result.duration > 0 ? result.duration : input.seconds;
  return {
    rps: ok / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    ok,
    seconds,
    statusCodes,
  };
}

/**
 * Runs `flow` over and over with `concurrency` flows in flight for `seconds`; counts completed
 * flows per second and their latency (for multi-request flows such as a whole sign-in).
 */
export async function loop(input: {
  concurrency: number;
  seconds: number;
  flow: () => Promise<void>;
}): Promise<LoadResult & { failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + input.seconds * 1000;
  await Promise.all(
    Array.from({ length: input.concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await input.flow();
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (failures.length < 5) failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies.length === 0
      ? 0
      : (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return {
    rps: latencies.length / seconds,
    p50: Math.round(at(0.5)),
    p99: Math.round(at(0.99)),
    errors,
    ok: latencies.length,
    seconds,
    statusCodes: {},
    failures,
  };
}

/** An urlencoded POST for autocannon. */
export function formPost(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

/** Pre-minted single-use values (codes, refresh tokens), handed out in order across runs. */
export class Pool<T> {
  readonly #items: readonly T[];
  #next = 0;
  constructor(items: readonly T[]) {
    this.#items = items;
  }
  /** The next unused value; once the pool is dry, the last one again (which the server refuses). */
  take(): T {
    const item = this.#items[Math.min(this.#next, this.#items.length - 1)] as T;
    this.#next++;
    return item;
  }
  get size(): number {
    return this.#items.length;
  }
  get used(): number {
    return this.#next;
  }
}

/** An urlencoded POST whose fields come from a pool: one value per request, each used once. */
export function pooledPost<T>(
  path: string,
  pool: Pool<T>,
  fields: (entry: T) => Record<string, string>,
): AutocannonRequest {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    setupRequest: (request) => ({ ...request, body: new URLSearchParams(fields(pool.take())).toString() }),
  };
}
