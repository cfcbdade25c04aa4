// The management API (spec: management.md): one set of handlers served as REST/JSON under
// `/api/v1` by the Hono app and as gRPC by the node listener on the same port.
import type { Hono } from 'hono';
import type { ServerContext } from '../context.ts';
import type { AppEnv } from '../http/env.ts';
import { attachGrpcHandler, createGrpcHandler } from './grpc.ts';
import { mountRest } from './rest.ts';

export { tooLargeForManagementApi } from './rest.ts';

import { managementServices } from './services/index.ts';

/** Mounts the REST form on the app and attaches the gRPC form for `listen()` to serve. */
export function mountManagementApi(app: Hono<AppEnv>, ctx: ServerContext): void {
  const services = managementServices(ctx);
  mountRest(app, ctx, services);
  attachGrpcHandler(app, createGrpcHandler(ctx, services));
}
