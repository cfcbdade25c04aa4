import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { grpcHandlerOf, isGrpcRequest } from './management/grpc.ts';

/** A listening server and how to stop it. */
export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/** The first bytes of every HTTP/2 connection with prior knowledge (RFC 9113 §3.4). */
const h2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** A connection that sends nothing is dropped after this long. */
const firstBytesTimeoutMs = 30_000;

/**
 * Serves a fetch handler on a TCP port (0 picks a free one); a busy port rejects with a clear error.
 * HTTP/1.1 and cleartext HTTP/2 share the port: each connection is told apart by its first bytes
 * (the HTTP/2 preface); with `tls`, the TLS handshake's ALPN chooses. On HTTP/2, gRPC requests go
 * to the app's management API handler (see `mountManagementApi`); every other request, on either
 * protocol, goes to the fetch handler.
 */
export function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  options: {
    port: number;
    host?: string | undefined;
    /** PEM certificate and key: serve HTTPS, HTTP/2 or HTTP/1.1 chosen by ALPN. */
    tls?: { cert: string | Buffer; key: string | Buffer } | undefined;
  },
): Promise<RunningServer> {
  const fetchListener = getRequestListener(app.fetch);
  const grpc = grpcHandlerOf(app);
  const route = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    if (grpc && req.httpVersionMajor === 2 && isGrpcRequest(req.headers)) {
      grpc(req as http2.Http2ServerRequest, res as http2.Http2ServerResponse);
    } else void fetchListener(req, res);
  };
  if (options.tls) return listenTls(route, { ...options, tls: options.tls });
  const http1 = http.createServer(fetchListener);
  const h2 = http2.createServer({}, route);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setTimeout(firstBytesTimeoutMs, () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, h2Preface.length);
      const isH2 = seen.subarray(0, n).equals(h2Preface.subarray(0, n));
      // Wait for more only while the bytes so far could still be the preface.
      if (isH2 && seen.length < h2Preface.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(seen);
      if (isH2) {
        // The HTTP/2 session reads the handle itself, taking what was unshifted first.
        h2.emit('connection', socket);
      } else {
        http1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });

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
            // Keep-alive connections and HTTP/2 sessions would hold close() open; end them.
            http1.closeAllConnections();
            for (const session of sessions) session.destroy();
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}

/** HTTPS on one port: HTTP/2 when the client offers it (ALPN `h2`), HTTP/1.1 otherwise. */
function listenTls(
  route: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  options: { port: number; host?: string | undefined; tls: { cert: string | Buffer; key: string | Buffer } },
): Promise<RunningServer> {
  const server = http2.createSecureServer(
    { cert: options.tls.cert, key: options.tls.key, allowHTTP1: true },
    route,
  );
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
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
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}
