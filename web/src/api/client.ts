import { ApiError } from './problem';
import type {
  AllowlistEntry,
  AllowlistPage,
  ApiKey,
  AuditPage,
  AuditQuery,
  CreatedKey,
  KeyChange,
  KeyPage,
  Me,
  NewKey,
  NewSecret,
  Paging,
  RevealedValue,
  Role,
  RoleInput,
  RolePage,
  Roll,
  RolledKey,
  Secret,
  SecretChange,
  SecretPage,
  Validation,
  VersionPage,
} from './types';

/** What a page may ask of the API: one method per call the console makes, typed from the OpenAPI document. */
export type Api = ReturnType<typeof createApi>;

type Query = Record<string, string | number | boolean | undefined>;

const path = (template: string, value: string) => template.replace('{}', encodeURIComponent(value));

/**
 * The console's only way to the API: the public /api/v1 calls any client makes, with the
 * session's bearer token attached. A problem answer becomes an ApiError; a 401 also tells the
 * session (`onUnauthorized`), which returns to sign-in with the reason.
 */
export function createApi(token: string, onUnauthorized: (reason: string) => void) {
  async function call<T>(
    method: string,
    url: string,
    options: { query?: Query; body?: unknown } = {},
  ): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') search.set(name, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(search.size > 0 ? `${url}?${search}` : url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        // Nothing is cached or sent anywhere else: the API answers no-store, and no credentials but the header.
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError(
        0,
        'Network error',
        'Could not reach the server; check the connection and try again',
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = ApiError.from(response.status, body, response.headers.get('x-request-id'));
      if (response.status === 401) onUnauthorized(error.detail);
      throw error;
    }
    return body as T;
  }

  return {
    me: () => call<Me>('GET', '/api/v1/me'),

    listKeys: (paging: Paging) => call<KeyPage>('GET', '/api/v1/auth/key', { query: { ...paging } }),
    getKey: (cid: string) => call<ApiKey>('GET', path('/api/v1/auth/key/{}', cid)),
    createKey: (key: NewKey) => call<CreatedKey>('POST', '/api/v1/auth/key', { body: key }),
    updateKey: (cid: string, change: KeyChange) =>
      call<ApiKey>('PUT', path('/api/v1/auth/key/{}', cid), { body: change }),
    rollKey: (cid: string, roll: Roll) =>
      call<RolledKey>('POST', path('/api/v1/auth/key/{}/roll', cid), { body: roll }),
    deleteKey: (cid: string) => call<void>('DELETE', path('/api/v1/auth/key/{}', cid)),

    listSecrets: (paging: Paging) => call<SecretPage>('GET', '/api/v1/secrets', { query: { ...paging } }),
    getSecret: (tag: string) => call<Secret>('GET', path('/api/v1/secrets/{}', tag)),
    createSecret: (secret: NewSecret) => call<Secret>('POST', '/api/v1/secrets', { body: secret }),
    updateSecret: (tag: string, change: SecretChange) =>
      call<Secret>('PUT', path('/api/v1/secrets/{}', tag), { body: change }),
    deleteSecret: (tag: string) => call<void>('DELETE', path('/api/v1/secrets/{}', tag)),
    listVersions: (tag: string, paging: Paging) =>
      call<VersionPage>('GET', path('/api/v1/secrets/{}/versions', tag), { query: { ...paging } }),
    revealValue: (tag: string, version?: number) =>
      call<RevealedValue>('GET', path('/api/v1/secrets/{}/value', tag), { query: { version } }),

    listAudit: (query: AuditQuery) => call<AuditPage>('GET', '/api/v1/audit-logs', { query: { ...query } }),

    getAllowlist: () => call<AllowlistPage>('GET', '/api/v1/ip-allowlist', { query: { pageSize: 1000 } }),
    replaceAllowlist: (entries: AllowlistEntry[], force: boolean) =>
      call<AllowlistPage>('PUT', '/api/v1/ip-allowlist', { query: { force }, body: { entries } }),
    validateAllowlist: (entries: AllowlistEntry[]) =>
      call<Validation>('POST', '/api/v1/ip-allowlist/validate', { body: { entries } }),

    listRoles: (paging: Paging) => call<RolePage>('GET', '/api/v1/roles', { query: { ...paging } }),
    createRole: (role: RoleInput) => call<Role>('POST', '/api/v1/roles', { body: role }),
    updateRole: (tag: string, role: RoleInput) =>
      call<Role>('PUT', path('/api/v1/roles/{}', tag), { body: role }),
    deleteRole: (tag: string) => call<void>('DELETE', path('/api/v1/roles/{}', tag)),
  };
}
