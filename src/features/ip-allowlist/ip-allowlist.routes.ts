import type { FastifyInstance } from 'fastify';
import type { PageQuery } from '../../domain/page.js';
import { actorOf } from '../../http/access.js';
import { DEFAULT_PAGE_SIZE, sendPage } from '../../http/pagination.js';
import { commonErrors, origin } from '../../http/schemas.js';
import {
  type IpAllowlistBody,
  ipAllowlistBody,
  ipAllowlistListSchema,
  listQuery,
  replaceQuery,
  validationSchema,
} from './ip-allowlist.schemas.js';
import type { IpAllowlistService } from './ip-allowlist.service.js';

const access = { permission: 'CONFIGURE_IP_ALLOWLIST', objectType: 'IP_ALLOWLIST' } as const;
/** What every operation here shares in the OpenAPI document: all three are Cortex's calls. */
const cortexCall = { ...origin('cortex'), tags: ['IP allowlist'], security: [{ bearerAuth: [] }] };

const ENFORCED =
  'While the list is not empty, a request from an address outside it is refused (403) before anything else ' +
  'is looked at, on every route but the health probes.';

/** Cortex's three IP-allowlist calls. */
export async function ipAllowlistRoutes(app: FastifyInstance, { service }: { service: IpAllowlistService }) {
  app.get<{ Querystring: PageQuery }>(
    '/api/v1/ip-allowlist',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Get the IP allowlist',
        description: `The entries in the order they were saved; empty: every address is allowed. ${ENFORCED} Needs CONFIGURE_IP_ALLOWLIST.`,
        querystring: listQuery,
        response: { 200: ipAllowlistListSchema, ...commonErrors },
      },
    },
    async (request, reply) => sendPage(reply, 'entries', await service.list(request.query)),
  );

  app.put<{ Querystring: { force: boolean }; Body: IpAllowlistBody }>(
    '/api/v1/ip-allowlist',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Replace the IP allowlist',
        description:
          'Replaces the whole list and answers its new state (the first page, as `GET` without a query). ' +
          'Entries are kept as sent, in order; duplicates are kept too (they change nothing). ' +
          'Each entry whose address is not an address or a CIDR range is a violation of its own (400, nothing saved). ' +
          "A non-empty list that does not contain the caller's own address is refused (400) unless `force=true`. " +
          `${ENFORCED} Needs CONFIGURE_IP_ALLOWLIST.`,
        querystring: replaceQuery,
        body: ipAllowlistBody,
        response: { 200: ipAllowlistListSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      await service.replace(actorOf(request), request.body.entries, request.query.force);
      return sendPage(reply, 'entries', await service.list({ page: 0, pageSize: DEFAULT_PAGE_SIZE }));
    },
  );

  app.post<{ Body: IpAllowlistBody }>(
    '/api/v1/ip-allowlist/validate',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Validate IP allowlist entries',
        description:
          'Checks each entry without saving anything, and answers one result per entry, in order: ' +
          '`{address, description, valid: true}` or `{address, description, message, valid: false}` ' +
          "(Cortex's ValidIpAllowlistEntry and InvalidIpAllowlistEntry). Cortex's document declares a single such " +
          'object as the answer, which cannot describe a request of several entries; Tessera answers them all, under ' +
          '`entries`. Invalid addresses still answer 200; only a body that breaks the schema is 400. Needs CONFIGURE_IP_ALLOWLIST.',
        body: ipAllowlistBody,
        response: { 200: validationSchema, ...commonErrors },
      },
    },
    async (request) => ({ entries: service.validate(request.body.entries) }),
  );
}
