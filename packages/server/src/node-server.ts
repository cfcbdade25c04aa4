import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AppEnv } from './http/env.ts';

/** A listening server and how to stop it. */
export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** Serves the app's fetch handler on a TCP port (0 picks a free one). */
export function listen(
  app: Hono<AppEnv>,
  options: { port: number; host?: string | undefined },
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port, ...(options.host ? { hostname: options.host } : {}) },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              // Keep-alive sockets would hold close() open; end them.
              if ('closeAllConnections' in server)
                (server as { closeAllConnections(): void }).closeAllConnections();
            }),
        });
      },
    );
    server.once('error', reject);
  });
}
