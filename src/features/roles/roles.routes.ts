import type { FastifyInstance } from 'fastify';
import type { PageQuery } from '../../domain/page.js';
import { actorOf } from '../../http/access.js';
import { pageQuery, sendPage } from '../../http/pagination.js';
import { commonErrors, conflictError, notFoundError, origin } from '../../http/schemas.js';
import {
  createRoleBody,
  type RoleInput,
  replaceRoleBody,
  roleListSchema,
  roleSchema,
  roleTagParams,
} from './roles.schemas.js';
import type { RoleService } from './roles.service.js';

const tags = ['Roles'];
const access = { permission: 'EDIT_ROLES', objectType: 'ROLE' } as const;
const call = { ...origin('tessera'), tags, security: [{ bearerAuth: [] }] };
const NO_ESCALATION = 'A caller may only grant what it holds itself, scopes included.';

/** Custom roles (Tessera extension): keys refer to them as `{"type": "CUSTOM", "tag": "…"}`. */
export async function roleRoutes(app: FastifyInstance, { service }: { service: RoleService }) {
  app.get<{ Querystring: PageQuery }>(
    '/api/v1/roles',
    {
      config: access,
      schema: {
        ...call,
        summary: 'List custom roles',
        description: 'Oldest first. Needs EDIT_ROLES.',
        querystring: pageQuery,
        response: { 200: roleListSchema, ...commonErrors },
      },
    },
    async (request, reply) => sendPage(reply, 'roles', await service.list(request.query)),
  );

  app.post<{ Body: RoleInput & { tag: string } }>(
    '/api/v1/roles',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Create a custom role',
        description: `Answers 200 with the role; a tag already taken is 409. ${NO_ESCALATION} Needs EDIT_ROLES.`,
        body: createRoleBody,
        response: { 200: roleSchema, ...commonErrors, ...conflictError },
      },
    },
    async (request) => service.create(actorOf(request), request.body),
  );

  app.get<{ Params: { tag: string } }>(
    '/api/v1/roles/:tag',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Get a custom role',
        params: roleTagParams,
        response: { 200: roleSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.get(request.params.tag),
  );

  app.put<{ Params: { tag: string }; Body: RoleInput }>(
    '/api/v1/roles/:tag',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Replace a custom role',
        description:
          'Replaces everything but the tag; every key holding the role has the new permissions on every node within a second. ' +
          `${NO_ESCALATION} Needs EDIT_ROLES.`,
        params: roleTagParams,
        body: replaceRoleBody,
        response: { 200: roleSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.replace(actorOf(request), request.params.tag, request.body),
  );

  app.delete<{ Params: { tag: string } }>(
    '/api/v1/roles/:tag',
    {
      config: access,
      schema: {
        ...call,
        summary: 'Delete a custom role',
        description:
          'Answers 200 with an empty body. A role that keys hold is 409. Any request body is ignored. Needs EDIT_ROLES.',
        params: roleTagParams,
        response: {
          200: { type: 'null', description: 'Deleted (empty body).' },
          ...commonErrors,
          ...notFoundError,
          ...conflictError,
        },
      },
    },
    async (request, reply) => {
      await service.delete(actorOf(request), request.params.tag);
      return reply.code(200).send();
    },
  );
}
