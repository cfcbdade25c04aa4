import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/** A listening server and how to stop it. */
export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** Serves a fetch handler on a TCP port (0 picks a free one); a busy port rejects with a clear error. */
export function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  options: { port: number; host?: string | undefined },
): Promise<RunningServer> {
  const server = createAdaptorServer({ fetch: app.fetch });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(new Error(`Port ${options.port} is already in use (set PORT to use another)`));
      else reject(err);
    });
    server.listen(options.port, options.host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive sockets would hold close() open; end them.
            if ('closeAllConnections' in server)
              (server as { closeAllConnections(): void }).closeAllConnections();
          }),
      });
    });
  });
}
