import type { FastifyInstance } from 'fastify';
import type { PageQuery } from '../../domain/page.js';
import { actorOf } from '../../http/access.js';
import { pageQuery, sendPage } from '../../http/pagination.js';
import { commonErrors, conflictError, notFoundError, origin } from '../../http/schemas.js';
import type { ChangeFeedQuery } from './secret-change-feed.js';
import {
  BULK_REVEAL_MAX,
  type BulkRevealInput,
  bulkRevealBody,
  bulkRevealedSchema,
  type CreateSecretInput,
  changesQuery,
  changesSchema,
  createSecretBody,
  revealedSchema,
  revealQuery,
  secretListSchema,
  secretSchema,
  tagOrIdParams,
  type UpdateSecretInput,
  updateSecretBody,
  versionsSchema,
} from './secrets.schemas.js';
import type { SecretService } from './secrets.service.js';

const tags = ['Secrets'];
const access = { permission: 'CREATE_SECRETS', objectType: 'SECRET' } as const;
const security = [{ bearerAuth: [] }];
/** What every operation here shares in the OpenAPI document. */
const cortexCall = { ...origin('cortex'), tags, security };
const tesseraCall = { ...origin('tessera'), tags, security };
type ByTag = { Params: { tagOrId: string } };
/** How much longer than its wait a long poll's connection may stay silent. */
const LONG_POLL_SLACK_SECONDS = 15;

/**
 * SPEC §5: Cortex's five secrets calls, plus versions, value reveal and bulk reveal (Tessera's
 * own). `POST /api/v1/secrets/values` is a static path beside `POST /api/v1/secrets`, so it clashes
 * with no secret's tag; the tag `values` is reserved all the same (secrets.rules.ts).
 */
export async function secretRoutes(app: FastifyInstance, { service }: { service: SecretService }) {
  // Declared before `/api/v1/secrets/:tagOrId`, though the router prefers a static path whatever
  // the order: a secret tagged `changes` (reserved since, secrets.rules.ts) is reached by its id.
  app.get<{ Querystring: ChangeFeedQuery }>(
    '/api/v1/secrets/changes',
    {
      config: { permission: ['CREATE_SECRETS', 'READ_SECRET_VALUES'], objectType: 'SECRET' },
      schema: {
        ...tesseraCall,
        summary: 'Watch secrets for changes',
        description:
          'The creates, updates and deletes of secrets after the cursor `since`, oldest first, and the ' +
          'cursor to ask from next; never values. Without `since`: no changes and the current cursor. ' +
          'With nothing new, waits up to `waitSeconds` (long poll) and answers as soon as a change is ' +
          'made on any node. Shows only secrets the key may see. Needs CREATE_SECRETS or ' +
          "READ_SECRET_VALUES (either; a custom role's scope applies: the union of the two). A cursor " +
          'older than the history kept (TESSERA_AUDIT_RETENTION_DAYS) is a 400: start again without `since`.',
        querystring: changesQuery,
        response: { 200: changesSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      const wait = request.query.waitSeconds ?? 0;
      // A long poll is silent while it waits: the socket's idle timeout must outlast the wait.
      if (wait > 0) request.raw.setTimeout((wait + LONG_POLL_SLACK_SECONDS) * 1000);
      // The client may go away while the poll waits: stop waiting for it then.
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      const answer = await service.changes(actorOf(request), request.query, gone.signal);
      // Answered because the server is stopping: the connection must not then idle on keep-alive,
      // which would hold the stop until it timed out.
      if (service.closing()) reply.header('connection', 'close');
      return answer;
    },
  );

  app.get<{ Querystring: PageQuery }>(
    '/api/v1/secrets',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'List secrets',
        description: 'Oldest first; values are never listed. Needs CREATE_SECRETS.',
        querystring: pageQuery,
        response: { 200: secretListSchema, ...commonErrors },
      },
    },
    async (request, reply) => sendPage(reply, 'secrets', await service.list(actorOf(request), request.query)),
  );

  app.post<{ Body: CreateSecretInput }>(
    '/api/v1/secrets',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Create a secret',
        description:
          'Answers 200 (as Cortex does). The value is encrypted at rest and never returned by ' +
          'these calls. A duplicate tag is 409. Needs CREATE_SECRETS.',
        body: createSecretBody,
        response: { 200: secretSchema, ...commonErrors, ...conflictError },
      },
    },
    async (request) => service.create(actorOf(request), request.body),
  );

  app.get<ByTag>(
    '/api/v1/secrets/:tagOrId',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Get a secret',
        description: 'Its id, name and tag; never its value. Needs CREATE_SECRETS.',
        params: tagOrIdParams,
        response: { 200: secretSchema, ...commonErrors, ...notFoundError },
      },
    },
    (request) => service.get(actorOf(request), request.params.tagOrId),
  );

  app.put<ByTag & { Body: UpdateSecretInput }>(
    '/api/v1/secrets/:tagOrId',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Update a secret',
        description:
          'Changes the name, the value, or both (at least one). A new value becomes a new version; ' +
          'earlier versions are kept (TESSERA_SECRET_VERSIONS_KEPT). The tag cannot change. Needs CREATE_SECRETS.',
        params: tagOrIdParams,
        body: updateSecretBody,
        response: { 200: secretSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.update(actorOf(request), request.params.tagOrId, request.body ?? {}),
  );

  app.delete<ByTag>(
    '/api/v1/secrets/:tagOrId',
    {
      config: access,
      schema: {
        ...cortexCall,
        summary: 'Delete a secret',
        description:
          'Deletes the secret and every version of its value. 200 with an empty body. Needs CREATE_SECRETS.',
        params: tagOrIdParams,
        response: {
          200: { type: 'null', description: 'Deleted (empty body).' },
          ...commonErrors,
          ...notFoundError,
        },
      },
    },
    async (request, reply) => {
      await service.delete(actorOf(request), request.params.tagOrId);
      return reply.code(200).send();
    },
  );

  app.get<ByTag & { Querystring: PageQuery }>(
    '/api/v1/secrets/:tagOrId/versions',
    {
      config: access,
      schema: {
        ...tesseraCall,
        summary: 'List value versions',
        description:
          'Version numbers, when and by which key each was written; never values. Needs CREATE_SECRETS.',
        params: tagOrIdParams,
        querystring: pageQuery,
        response: { 200: versionsSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.versions(actorOf(request), request.params.tagOrId, request.query),
  );

  app.get<ByTag & { Querystring: { version?: number } }>(
    '/api/v1/secrets/:tagOrId/value',
    {
      config: { permission: 'READ_SECRET_VALUES', objectType: 'SECRET' },
      schema: {
        ...tesseraCall,
        summary: 'Reveal a value',
        description:
          'Decrypts and returns the current value, or `?version=N`. Sent with `Cache-Control: no-store`. ' +
          'Needs READ_SECRET_VALUES (ADMIN). Off when TESSERA_SECRET_REVEAL=false (then 403).',
        params: tagOrIdParams,
        querystring: revealQuery,
        response: { 200: revealedSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.reveal(actorOf(request), request.params.tagOrId, request.query.version),
  );

  app.post<{ Body: BulkRevealInput }>(
    '/api/v1/secrets/values',
    {
      config: { permission: 'READ_SECRET_VALUES', objectType: 'SECRET' },
      schema: {
        ...tesseraCall,
        summary: 'Reveal many values',
        description:
          'The current values of the secrets named by `tags`, or of every secret whose tag starts with ' +
          '`tagPrefix` that the key may reveal, in one answer ordered by tag. A tag naming no secret ' +
          'the key may reveal is a 404 naming it (as for a single reveal). At most ' +
          `${BULK_REVEAL_MAX} values: a prefix matching more is a 400 asking to narrow it. Each value ` +
          'revealed is recorded in the audit log before the answer is sent. Sent with ' +
          '`Cache-Control: no-store`. Needs READ_SECRET_VALUES (ADMIN, or a custom role: its scope ' +
          'applies). Off when TESSERA_SECRET_REVEAL=false (then 403).',
        body: bulkRevealBody,
        response: { 200: bulkRevealedSchema, ...commonErrors, ...notFoundError },
      },
    },
    async (request) => service.revealMany(actorOf(request), request.body ?? {}),
  );
}
