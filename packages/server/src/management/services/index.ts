import type { DescService } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import type { ServerContext } from '../../context.ts';
import { OrganizationService } from '../gen/scalekit/v1/organizations/organizations_pb.ts';
import { RolesService } from '../gen/scalekit/v1/roles/roles_pb.ts';
import { SessionService } from '../gen/scalekit/v1/sessions/sessions_pb.ts';
import { UserService } from '../gen/scalekit/v1/users/users_pb.ts';
import { organizationService } from './organizations.ts';
import { rolesService } from './roles.ts';
import { sessionService } from './sessions.ts';
import { userService } from './users.ts';

/** A service descriptor with its implementation. */
export interface ServiceBinding {
  service: DescService;
  impl: Partial<ServiceImpl<DescService>>;
}

function bind<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceBinding {
  return { service, impl: impl as unknown as ServiceBinding['impl'] };
}

/** Every management service this server implements; the gRPC and REST forms both serve these. */
export function managementServices(ctx: ServerContext): ServiceBinding[] {
  return [
    bind(OrganizationService, organizationService(ctx)),
    bind(UserService, userService(ctx)),
    bind(RolesService, rolesService(ctx)),
    bind(SessionService, sessionService(ctx)),
  ];
}
