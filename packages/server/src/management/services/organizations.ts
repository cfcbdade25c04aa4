// scalekit.v1.organizations.OrganizationService: organizations by id or external id, listing and
// search with page tokens. Slugs, logos and regions are refused: Sesame does not store them.
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { ServerContext } from '../../context.ts';
import { newId } from '../../lib/ids.ts';
import { AlreadyExistsError, type Store } from '../../storage/store.ts';
import type { Organization } from '../../storage/types.ts';
import { auditedWrite } from '../audited-write.ts';
import { alreadyExists, invalidField, notFound } from '../errors.ts';
import { RegionCode } from '../gen/scalekit/v1/commons/commons_pb.ts';
import type {
  CreateOrganizationRequest,
  DeleteOrganizationRequest,
  GetOrganizationRequest,
  ListOrganizationsRequest,
  OrganizationService,
  SearchOrganizationsRequest,
  UpdateOrganizationRequest,
} from '../gen/scalekit/v1/organizations/organizations_pb.ts';
import { memoryPage, readPageToken, storePage } from '../paging.ts';
import {
  checkExternalId,
  checkMap,
  checkString,
  organizationMetadata,
  pageSize,
  refuseUnsupported,
  requireId,
  requireMessage,
  requireString,
} from '../validate.ts';
import { organizationView } from '../views.ts';

type Identities = GetOrganizationRequest['identities'];

const displayNameRule = { min: 1, max: 200 };

/** The organization a request names by `id` or `external_id`. */
export async function findOrganization(store: Store, identities: Identities): Promise<Organization> {
  let org: Organization | null;
  if (identities.case === 'id') {
    org = await store.organizations.get(requireId('id', identities.value, 'org'));
  } else if (identities.case === 'externalId') {
    org = await store.organizations.getByExternalId(checkExternalId('external_id', identities.value));
  } else {
    throw invalidField('id', 'is required (or external_id)');
  }
  if (!org) throw notFound('organization');
  return org;
}

/** An organization named by id in a path (`organization_id`, `org_id`). */
export async function requireOrganization(store: Store, field: string, id: string): Promise<Organization> {
  const org = await store.organizations.get(requireId(field, id, 'org'));
  if (!org) throw notFound('organization');
  return org;
}

function externalIdTaken(err: unknown, field: string): never {
  if (err instanceof AlreadyExistsError && err.field === 'externalId') {
    throw alreadyExists(field, 'an organization with this external id');
  }
  throw err;
}

export function organizationService(ctx: ServerContext): ServiceImpl<typeof OrganizationService> {
  const getOrganization = async (req: GetOrganizationRequest) => ({
    organization: organizationView(await findOrganization(ctx.store, req.identities)),
  });

  return {
    async createOrganization(req: CreateOrganizationRequest, context: HandlerContext) {
      const input = requireMessage('organization', req.organization);
      const name = requireString('organization.display_name', input.displayName, displayNameRule);
      const externalId =
        input.externalId === undefined ? null : checkExternalId('organization.external_id', input.externalId);
      const metadata = checkMap('organization.metadata', input.metadata, organizationMetadata);
      refuseUnsupported('organization.slug', input.slug !== undefined && input.slug !== '');
      refuseUnsupported('organization.logo_url', input.logoUrl !== undefined && input.logoUrl !== '');
      refuseUnsupported('organization.region_code', input.regionCode !== RegionCode.REGION_CODE_UNSPECIFIED);
      const now = ctx.config.now();
      const org: Organization = {
        id: newId('org'),
        name,
        externalId,
        metadata,
        createdAt: now,
        updatedAt: now,
      };
      await auditedWrite(ctx, context, async (tx, record) => {
        await tx.store.organizations
          .insert(org)
          .catch((err) => externalIdTaken(err, 'organization.external_id'));
        record({
          targetType: 'organization',
          targetId: org.id,
          detail: { display_name: name, external_id: externalId, metadata },
        });
      });
      return { organization: organizationView(org) };
    },

    async updateOrganization(req: UpdateOrganizationRequest, context: HandlerContext) {
      const input = requireMessage('organization', req.organization);
      const mask = req.updateMask?.paths;
      const allowed = ['display_name', 'external_id', 'metadata', 'slug', 'logo_url'];
      for (const path of mask ?? []) {
        if (!allowed.includes(path)) throw invalidField('update_mask', `cannot update ${path}`);
      }
      // With a mask, exactly its fields change (an unset one is cleared); without, the fields sent.
      const changes = (field: string, isSet: boolean) => (mask ? mask.includes(field) : isSet);
      const patch: Partial<Omit<Organization, 'id' | 'createdAt'>> = {};
      if (changes('display_name', input.displayName !== undefined)) {
        patch.name = checkString('organization.display_name', input.displayName ?? '', displayNameRule);
      }
      if (changes('external_id', input.externalId !== undefined)) {
        const value = input.externalId ?? '';
        patch.externalId = value === '' ? null : checkExternalId('organization.external_id', value);
      }
      if (changes('metadata', Object.keys(input.metadata).length > 0)) {
        patch.metadata = checkMap('organization.metadata', input.metadata, organizationMetadata);
      }
      refuseUnsupported('organization.slug', changes('slug', input.slug !== undefined));
      refuseUnsupported('organization.logo_url', changes('logo_url', input.logoUrl !== undefined));
      const updated = await auditedWrite(ctx, context, async (tx, record) => {
        const org = await findOrganization(tx.store, req.identities);
        const result = await tx.store.organizations
          .update(org.id, { ...patch, updatedAt: ctx.config.now() })
          .catch((err) => externalIdTaken(err, 'organization.external_id'));
        if (!result) throw notFound('organization');
        record({
          targetType: 'organization',
          targetId: org.id,
          detail: {
            ...(patch.name !== undefined ? { display_name: patch.name } : {}),
            ...(patch.externalId !== undefined ? { external_id: patch.externalId } : {}),
            ...(patch.metadata !== undefined ? { metadata: patch.metadata } : {}),
          },
        });
        return result;
      });
      return { organization: organizationView(updated) };
    },

    getOrganization,
    getOrganizationByExternalId: getOrganization,

    async listOrganization(req: ListOrganizationsRequest) {
      const size = pageSize('page_size', req.pageSize);
      const filter = req.externalId === undefined ? '' : `?external_id=${req.externalId}`;
      const position = readPageToken('page_token', req.pageToken, `organizations${filter}`);
      if (req.externalId !== undefined) {
        // A filter by external id matches at most one organization.
        const org = await ctx.store.organizations.getByExternalId(
          checkExternalId('external_id', req.externalId),
        );
        const page = memoryPage(position, org ? [org] : [], (o) => o.id, size);
        return { ...page.tokens, organizations: page.items.map(organizationView) };
      }
      const page = storePage(
        position,
        await ctx.store.organizations.list({ limit: size, cursor: position.after }),
      );
      return { ...page.tokens, organizations: page.items.map(organizationView) };
    },

    async searchOrganization(req: SearchOrganizationsRequest) {
      const query = requireString('query', req.query.trim(), { min: 3, max: 100 });
      const size = pageSize('page_size', req.pageSize, { max: 30 });
      const position = readPageToken('page_token', req.pageToken, `organizations?${query}`);
      const page = storePage(
        position,
        await ctx.store.organizations.list({ limit: size, cursor: position.after }, { query }),
      );
      return { ...page.tokens, organizations: page.items.map(organizationView) };
    },

    async deleteOrganization(req: DeleteOrganizationRequest, context: HandlerContext) {
      await auditedWrite(ctx, context, async (tx, record) => {
        const org = await findOrganization(tx.store, req.identities);
        if (!(await tx.store.organizations.delete(org.id))) throw notFound('organization');
        record({
          targetType: 'organization',
          targetId: org.id,
          detail: { display_name: org.name, external_id: org.externalId },
        });
      });
      return {};
    },
  };
}
