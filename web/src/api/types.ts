/**
 * The API's shapes as the console uses them, all taken from the types generated from the OpenAPI
 * document (src/client/api-types.gen.ts): when the API changes, the console fails to type-check
 * instead of drifting.
 */
import type { paths } from '../../../src/client/api-types.gen';

type Method = 'get' | 'put' | 'post' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<T> = T extends { content: { 'application/json': infer B } } ? B : never;

/** The 200 answer of an operation. */
export type Ok<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: { 200: infer R } } ? JsonOf<R> : never;
/** The JSON body an operation takes. */
export type BodyOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends {
    requestBody?: infer B;
  }
    ? JsonOf<NonNullable<B>>
    : never;
/** The query parameters an operation takes. */
export type QueryOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends {
    parameters: { query?: infer Q };
  }
    ? NonNullable<Q>
    : never;

export type Me = Ok<'/api/v1/me', 'get'>;
export type Permission = Me['permissions'][number];
export type ApiKey = Ok<'/api/v1/auth/key/{cid}', 'get'>;
export type KeyPage = Ok<'/api/v1/auth/key', 'get'>;
export type NewKey = BodyOf<'/api/v1/auth/key', 'post'>;
export type CreatedKey = Ok<'/api/v1/auth/key', 'post'>;
export type KeyChange = BodyOf<'/api/v1/auth/key/{cid}', 'put'>;
export type RolledKey = Ok<'/api/v1/auth/key/{cid}/roll', 'post'>;
export type Roll = BodyOf<'/api/v1/auth/key/{cid}/roll', 'post'>;
export type RoleRef = ApiKey['roles'][number];
export type DefaultRole = NonNullable<RoleRef['role']>;

export type Secret = Ok<'/api/v1/secrets/{tagOrId}', 'get'>;
export type SecretPage = Ok<'/api/v1/secrets', 'get'>;
export type NewSecret = BodyOf<'/api/v1/secrets', 'post'>;
export type SecretChange = BodyOf<'/api/v1/secrets/{tagOrId}', 'put'>;
export type VersionPage = Ok<'/api/v1/secrets/{tagOrId}/versions', 'get'>;
export type Version = VersionPage['versions'][number];
export type RevealedValue = Ok<'/api/v1/secrets/{tagOrId}/value', 'get'>;

export type AuditPage = Ok<'/api/v1/audit-logs', 'get'>;
export type AuditEvent = AuditPage['logs'][number];
export type AuditQuery = QueryOf<'/api/v1/audit-logs', 'get'>;

export type AllowlistPage = Ok<'/api/v1/ip-allowlist', 'get'>;
export type AllowlistEntry = BodyOf<'/api/v1/ip-allowlist', 'put'>['entries'][number];
export type Validation = Ok<'/api/v1/ip-allowlist/validate', 'post'>;

export type Role = Ok<'/api/v1/roles/{tag}', 'get'>;
export type RolePage = Ok<'/api/v1/roles', 'get'>;
export type RoleInput = BodyOf<'/api/v1/roles', 'post'>;

/** Every problem+json answer has this shape (SPEC's problem, with Cortex's fields). */
export type Problem = NonNullable<
  JsonOfProblem<Operation<'/api/v1/me', 'get'>['responses'] extends { 401: infer R } ? R : never>
>;
type JsonOfProblem<T> = T extends { content: { 'application/problem+json': infer B } } ? B : never;

/** A paging request: page is 0-indexed, pageSize 1 to 1000. */
export interface Paging {
  page: number;
  pageSize: number;
}

export const DEFAULT_ROLES: readonly DefaultRole[] = ['ADMIN', 'MANAGER', 'USER', 'READ_ONLY', 'VIEWER'];
export const PERMISSIONS: readonly Permission[] = [
  'EDIT_API_KEYS',
  'CREATE_SECRETS',
  'READ_SECRET_VALUES',
  'VIEW_AUDIT_LOGS',
  'CONFIGURE_IP_ALLOWLIST',
  'EDIT_ROLES',
];
