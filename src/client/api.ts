/**
 * The API's shapes, named, read from the generated OpenAPI types (api-types.gen.ts): an operation's
 * JSON body, its 200 reply, its query and path parameters. Nothing here is written by hand but the
 * names, so a change of the API shows up as a type error in the client, not as a surprise at run time.
 */
import type { paths } from './api-types.gen.js';

export type Path = keyof paths;
export type Method = 'get' | 'post' | 'put' | 'delete';

type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M & keyof paths[P]]>;

/** The JSON body an operation takes (never when it takes none). */
export type RequestBody<P extends Path, M extends Method> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The JSON of an operation's 200 reply (undefined for an empty one, such as a delete's). */
export type Reply<P extends Path, M extends Method> =
  Operation<P, M> extends { responses: { 200: { content: { 'application/json': infer R } } } }
    ? R
    : undefined;

/** An operation's query parameters. */
export type Query<P extends Path, M extends Method> =
  Operation<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

/** The problem+json body of an error reply, as the document describes it. */
export type ProblemBody =
  Operation<'/api/v1/secrets', 'get'> extends {
    responses: { 400: { content: { 'application/problem+json': infer E } } };
  }
    ? E
    : never;
export type Violation = NonNullable<ProblemBody['violations']>[number];

export type ApiKey = Reply<'/api/v1/auth/key/{cid}', 'get'>;
export type CreatedApiKey = Reply<'/api/v1/auth/key', 'post'>;
export type NewApiKey = RequestBody<'/api/v1/auth/key', 'post'>;
export type ApiKeyChanges = RequestBody<'/api/v1/auth/key/{cid}', 'put'>;
export type Role = NewApiKey['roles'][number];
export type Me = Reply<'/api/v1/me', 'get'>;

export type Secret = Reply<'/api/v1/secrets/{tagOrId}', 'get'>;
export type NewSecret = RequestBody<'/api/v1/secrets', 'post'>;
export type SecretChanges = RequestBody<'/api/v1/secrets/{tagOrId}', 'put'>;
export type SecretVersion = Reply<'/api/v1/secrets/{tagOrId}/versions', 'get'>['versions'][number];
export type RevealedSecret = Reply<'/api/v1/secrets/{tagOrId}/value', 'get'>;

export type AuditLogEvent = Reply<'/api/v1/audit-logs', 'get'>['logs'][number];
export type AuditLogQuery = Omit<Query<'/api/v1/audit-logs', 'get'>, 'page' | 'pageSize'>;

export type IpAllowlist = Reply<'/api/v1/ip-allowlist', 'get'>;
export type IpAllowlistInput = RequestBody<'/api/v1/ip-allowlist', 'put'>;
export type IpAllowlistValidation = Reply<'/api/v1/ip-allowlist/validate', 'post'>;

export type CustomRole = Reply<'/api/v1/roles/{tag}', 'get'>;
export type NewCustomRole = RequestBody<'/api/v1/roles', 'post'>;
export type CustomRoleChanges = RequestBody<'/api/v1/roles/{tag}', 'put'>;

/** `POST /api/v1/secrets/values`: the secrets named by their tags, or every one under a tag prefix. */
export type ValuesSelection = RequestBody<'/api/v1/secrets/values', 'post'>;
export type RevealedValues = Reply<'/api/v1/secrets/values', 'post'>;
export type RevealedValue = RevealedValues['values'][number];

export type KeyRolling = RequestBody<'/api/v1/auth/key/{cid}/roll', 'post'>;
export type RolledApiKey = Reply<'/api/v1/auth/key/{cid}/roll', 'post'>;

/** `GET /api/v1/secrets/changes`: what changed after a cursor, and the cursor to ask from next. */
export type SecretChangesPage = Reply<'/api/v1/secrets/changes', 'get'>;
export type SecretChange = SecretChangesPage['changes'][number];
