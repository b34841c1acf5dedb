import type { FastifyInstance } from 'fastify';
import type { PageQuery } from '../../domain/page.js';
import { actorOf, principalOf } from '../../http/access.js';
import { pageQuery, sendPage } from '../../http/pagination.js';
import { commonErrors, conflictError, notFoundError, origin } from '../../http/schemas.js';
import { sortedPermissions } from '../roles/permissions.js';
import {
  apiKeyListSchema,
  apiKeySchema,
  type CreateApiKeyInput,
  cidParams,
  createApiKeyBody,
  createdApiKeySchema,
  meSchema,
  type RollApiKeyInput,
  rollApiKeyBody,
  type UpdateApiKeyInput,
  updateApiKeyBody,
} from './api-keys.schemas.js';
import type { ApiKeyService } from './api-keys.service.js';
import type { KeyPrincipal } from './authentication.js';
import type { LastUsed } from './last-used.js';

const tags = ['API keys'];
const access = { permission: 'EDIT_API_KEYS', objectType: 'API_KEY' } as const;
const security = [{ bearerAuth: [] }];
/** What every operation here shares in the OpenAPI document. */
const cortexCall = { ...origin('cortex'), tags, security };
const tesseraCall = { ...origin('tessera'), tags, security };

/** SPEC §4: Cortex's five API-key calls, plus rolling a key's token and `GET /api/v1/me`. */
export async function apiKeyRoutes(
  app: FastifyInstance,
  { service, lastUsed }: { service: ApiKeyService; lastUsed: LastUsed },
) {
  app.get<{ Querystring: PageQuery }>(
    '/api/v1/auth/key',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'List API keys',
        description: 'Oldest first. Needs EDIT_API_KEYS.',
        querystring: pageQuery,
        response: { 200: apiKeyListSchema, ...commonErrors },
      },
    },
    async (request, reply) => sendPage(reply, 'apiKeys', await service.list(request.query)),
  );

  app.post<{ Body: CreateApiKeyInput }>(
    '/api/v1/auth/key',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Create an API key',
        description:
          'Answers 200 (as Cortex does) with the token in `apiKey`: it is shown this once. ' +
          'The new key may hold only permissions the caller holds. Needs EDIT_API_KEYS.',
        body: createApiKeyBody,
        response: { 200: createdApiKeySchema, ...commonErrors },
      },
    },
    async (request) => service.create(actorOf<KeyPrincipal>(request), request.body),
  );

  app.get<{ Params: { cid: string } }>(
    '/api/v1/auth/key/:cid',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Get an API key',
        params: cidParams,
        response: { 200: apiKeySchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.get(request.params.cid),
  );

  app.put<{ Params: { cid: string }; Body: UpdateApiKeyInput }>(
    '/api/v1/auth/key/:cid',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Update an API key',
        description:
          "`name` and `description` (Cortex's fields), and Tessera's `allowedIps` and " +
          '`rateLimitPerMinute` (omitted: unchanged; null: cleared). Roles and expiry never change. ' +
          'Needs EDIT_API_KEYS, and the caller must hold every permission the key holds.',
        params: cidParams,
        body: updateApiKeyBody,
        response: { 200: apiKeySchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.update(actorOf<KeyPrincipal>(request), request.params.cid, request.body),
  );

  app.post<{ Params: { cid: string }; Body: RollApiKeyInput }>(
    '/api/v1/auth/key/:cid/roll',
    {
      config: access,
      schema: {
        ...tesseraCall,
        summary: "Roll an API key's token",
        description:
          'A new token for the same key (same cid, roles and settings, new `last4`), in `apiKey`: ' +
          'shown this once. The replaced token keeps working for `expireOldAfterSeconds` (never past ' +
          "the key's expiry), then is refused (401); 0 refuses it at once. Rolling again while a grace " +
          'runs ends that grace: the token replaced earlier is refused at once. Needs EDIT_API_KEYS, ' +
          'and the caller must hold every permission the key holds.',
        params: cidParams,
        body: rollApiKeyBody,
        response: { 200: createdApiKeySchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.roll(actorOf<KeyPrincipal>(request), request.params.cid, request.body),
  );

  app.delete<{ Params: { cid: string } }>(
    '/api/v1/auth/key/:cid',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Delete an API key',
        description:
          'Answers 200 with an empty body. Deleting an ADMIN key is 409 unless another ADMIN key stays valid for at least an hour. ' +
          'Any request body is ignored. Needs EDIT_API_KEYS.',
        params: cidParams,
        response: {
          200: { type: 'null', description: 'Deleted (empty body).' },
          ...commonErrors,
          ...notFoundError,
          ...conflictError,
        },
      },
    },
    async (request, reply) => {
      await service.delete(actorOf<KeyPrincipal>(request), request.params.cid);
      return reply.code(200).send();
    },
  );

  app.get(
    '/api/v1/me',
    {
      config: { authenticated: true, objectType: 'API_KEY' },
      schema: {
        ...tesseraCall,
        summary: 'The calling key',
        description:
          'The key behind the bearer token, with its effective permissions and how far its secret permissions reach. Any valid key.',
        response: { 200: meSchema, ...commonErrors },
      },
    },
    // Not async: the cached token check answers without a promise (maybe-promise.ts).
    (request) => {
      const principal = principalOf<KeyPrincipal>(request);
      return {
        ...grantsShown(principal),
        // This very request is a use: the cached key may predate it (and the last flush).
        lastUsedDate: lastUsed.latest(principal.cid) ?? principal.key.lastUsedDate,
      };
    },
  );
}

/** The key and its grants as `/me` shows them. */
function showGrants(principal: KeyPrincipal) {
  return Object.freeze({
    ...principal.key,
    permissions: sortedPermissions(principal.permissions),
    secretScopes: Object.fromEntries(
      [...principal.scopes].map(([permission, scope]) => [permission, scope.patterns]),
    ),
  });
}

/**
 * Made once per principal: the token cache shares one frozen principal between all the requests
 * it serves, so its sorted permissions and scopes are not rebuilt for each.
 */
const shownGrants = new WeakMap<KeyPrincipal, ReturnType<typeof showGrants>>();
function grantsShown(principal: KeyPrincipal) {
  let shown = shownGrants.get(principal);
  if (shown === undefined) {
    shown = showGrants(principal);
    shownGrants.set(principal, shown);
  }
  return shown;
}
