// The gRPC form of the management API (`application/grpc`, HTTP/2), as the official SDKs speak it:
// the same handlers as the REST form, behind one interceptor that authenticates the caller and
// turns every failure into a status with an `ErrorInfo` detail.
import { Code, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { ServerContext } from '../context.ts';
import { authenticateCaller, callerKey } from './auth.ts';
import { codeName, toConnectError, toManagementError } from './errors.ts';
import type { ServiceBinding } from './services/index.ts';

/** A node request handler (`http` or `http2`). */
export type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

/** The gRPC request handler each app carries, for the node listener to serve on HTTP/2. */
const grpcHandlers = new WeakMap<object, NodeHandlerFn>();

/** The gRPC handler attached to an app (see `attachGrpcHandler`), if any. */
export function grpcHandlerOf(app: object): NodeHandlerFn | undefined {
  return grpcHandlers.get(app);
}

/** Attaches the gRPC handler to the app it belongs with. */
export function attachGrpcHandler(app: object, handler: NodeHandlerFn): void {
  grpcHandlers.set(app, handler);
}

/** Whether a request is gRPC (as opposed to REST, pages or an h2c client of the OAuth endpoints). */
export function isGrpcRequest(headers: { 'content-type'?: string | undefined }): boolean {
  return /^application\/grpc(\+|;|$)/i.test(headers['content-type'] ?? '');
}

function authenticateAndReport(ctx: ServerContext): Interceptor {
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    const logLine = (code: string) =>
      ctx.logger.info(
        { method, status: code, ms: Math.round((performance.now() - started) * 10) / 10 },
        'grpc request',
      );
    try {
      const caller = await authenticateCaller(ctx, req.header.get('authorization'));
      req.contextValues.set(callerKey, caller);
      const res = await next(req);
      logLine('OK');
      return res;
    } catch (err) {
      const error = toManagementError(err, ctx.logger, { method });
      logLine(codeName(error.code));
      throw toConnectError(error);
    }
  };
}

/** A node request handler serving the management services over gRPC (only). */
export function createGrpcHandler(ctx: ServerContext, services: ServiceBinding[]): NodeHandlerFn {
  return connectNodeAdapter({
    grpc: true,
    grpcWeb: false,
    connect: false,
    readMaxBytes: 1024 * 1024,
    interceptors: [authenticateAndReport(ctx)],
    // A method this server does not implement: a trailers-only gRPC answer, UNIMPLEMENTED.
    fallback: (req, res) => {
      res.writeHead(200, {
        'content-type': 'application/grpc',
        'grpc-status': String(Code.Unimplemented),
        'grpc-message': encodeURIComponent(`${req.url ?? ''} is not implemented by this server`),
      });
      res.end();
    },
    routes: (router) => {
      for (const { service, impl } of services) router.service(service, impl);
    },
  });
}
