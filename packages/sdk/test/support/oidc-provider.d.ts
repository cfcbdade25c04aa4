// oidc-provider ships no types: the little of it the test support touches.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface KoaContext {
    method: string;
    path: string;
    /** A request header (empty string when absent). */
    get(name: string): string;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
  }
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  /** An adapter factory over its own in-memory storage. */
  export function createMemoryAdapter(): (model: string) => object;
}
