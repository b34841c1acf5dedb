/**
 * The Tessera SDK: `import { TesseraClient } from 'tessera/client'`. Every call of the API, typed
 * from its OpenAPI document; lists as async iterators over every page; errors thrown as
 * TesseraProblem; 429 and 503 retried as Retry-After asks (bounded); a time limit on every call.
 * It imports nothing of the server, so a program (and `tessera run`) loads only this folder.
 */
import type {
  ApiKey,
  ApiKeyChanges,
  AuditLogEvent,
  AuditLogQuery,
  CreatedApiKey,
  CustomRole,
  CustomRoleChanges,
  IpAllowlist,
  IpAllowlistInput,
  IpAllowlistValidation,
  KeyRolling,
  Me,
  NewApiKey,
  NewCustomRole,
  NewSecret,
  Reply,
  RevealedSecret,
  RevealedValue,
  RevealedValues,
  RolledApiKey,
  Secret,
  SecretChange,
  SecretChanges,
  SecretChangesPage,
  SecretVersion,
  ValuesSelection,
} from './api.js';
import { Transport } from './http.js';
import { allPages } from './paging.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { SecretCache } from './secret-cache.js';

export type * from './api.js';
export { TesseraProblem, TesseraUnreachable } from './problem.js';
export type { RetryPolicy } from './retry.js';

export interface TesseraClientOptions {
  /** The server, e.g. `https://tessera.example.com`. Default: `TESSERA_URL`. */
  baseUrl?: string;
  /** An API token. Default: `TESSERA_TOKEN`. */
  token?: string;
  /** Each call's time limit, in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Retries of 429 and 503 (default: 3, waits of up to 10 s each). */
  retry?: Partial<RetryPolicy>;
  /**
   * Keep the values `getSecretValue` returns in memory, each dropped when the change feed reports
   * a change to it (default false). Needs READ_SECRET_VALUES, which the feed also checks; call
   * `close()` when done, or the feed's pending long poll keeps the process running.
   */
  cacheSecretValues?: boolean;
}

/** Options of the calls that take no other: an AbortSignal. */
export interface Signal {
  signal?: AbortSignal;
}

/** Options of the lists: the signal, and how many items each page fetched holds (1..1000, default 1000). */
export interface ListOptions extends Signal {
  pageSize?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** The longest wait the change feed allows. */
const MAX_WAIT_SECONDS = 60;

const segment = encodeURIComponent;

export class TesseraClient {
  readonly keys: ApiKeys;
  readonly secrets: Secrets;
  readonly roles: Roles;
  readonly ipAllowlist: IpAllowlistCalls;
  readonly auditLogs: AuditLogs;
  private readonly http: Transport;
  private readonly cache: SecretCache | undefined;

  constructor(options: TesseraClientOptions = {}) {
    const baseUrl = options.baseUrl ?? process.env.TESSERA_URL;
    const token = options.token ?? process.env.TESSERA_TOKEN;
    if (baseUrl === undefined || baseUrl === '')
      throw new TypeError('no base URL: pass baseUrl or set TESSERA_URL');
    if (token === undefined || token === '') throw new TypeError('no token: pass token or set TESSERA_TOKEN');
    this.http = new Transport({
      baseUrl,
      token,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retry: { ...DEFAULT_RETRY, ...options.retry },
    });
    this.keys = new ApiKeys(this.http);
    this.secrets = new Secrets(this.http);
    this.roles = new Roles(this.http);
    this.ipAllowlist = new IpAllowlistCalls(this.http);
    this.auditLogs = new AuditLogs(this.http);
    this.cache =
      options.cacheSecretValues === true
        ? new SecretCache({
            fetchValue: async (tag) => (await this.secrets.reveal(tag)).value,
            changes: (since, waitSeconds, signal) => this.secrets.changes({ since, waitSeconds, signal }),
          })
        : undefined;
  }

  /** The origin of the server this client calls. */
  get origin(): string {
    return this.http.origin;
  }

  /** The caller's key, roles and effective permissions. */
  me(options: Signal = {}): Promise<Me> {
    return this.http.call('GET', '/api/v1/me', options);
  }

  /** A secret's current value (from memory when `cacheSecretValues` is on and nothing changed). */
  getSecretValue(tag: string): Promise<string> {
    if (this.cache !== undefined) return this.cache.get(tag);
    return this.secrets.reveal(tag).then((revealed) => revealed.value);
  }

  /** Stops the cache's change feed; the client can still make calls. */
  close(): void {
    this.cache?.close();
  }
}

class ApiKeys {
  constructor(private readonly http: Transport) {}

  list(options: ListOptions = {}): AsyncGenerator<ApiKey> {
    return allPages(
      (page, pageSize) =>
        this.http.call<Reply<'/api/v1/auth/key', 'get'>>('GET', '/api/v1/auth/key', {
          ...options,
          query: { page, pageSize },
        }),
      (reply) => (reply as Reply<'/api/v1/auth/key', 'get'>).apiKeys,
      options.pageSize,
    );
  }

  get(cid: string, options: Signal = {}): Promise<ApiKey> {
    return this.http.call('GET', `/api/v1/auth/key/${segment(cid)}`, options);
  }

  /** The reply's `apiKey` is the token: shown this once. */
  create(key: NewApiKey, options: Signal = {}): Promise<CreatedApiKey> {
    return this.http.call('POST', '/api/v1/auth/key', { ...options, body: key });
  }

  update(cid: string, changes: ApiKeyChanges, options: Signal = {}): Promise<ApiKey> {
    return this.http.call('PUT', `/api/v1/auth/key/${segment(cid)}`, { ...options, body: changes });
  }

  async delete(cid: string, options: Signal = {}): Promise<void> {
    await this.http.call('DELETE', `/api/v1/auth/key/${segment(cid)}`, options);
  }

  /**
   * A new token for the key, the old one accepted for `expireOldAfterSeconds` more (0: refused at
   * once); the reply's `apiKey` is the new token, shown this once.
   */
  roll(cid: string, rolling: KeyRolling, options: Signal = {}): Promise<RolledApiKey> {
    return this.http.call('POST', `/api/v1/auth/key/${segment(cid)}/roll`, { ...options, body: rolling });
  }
}

class Secrets {
  constructor(private readonly http: Transport) {}

  list(options: ListOptions = {}): AsyncGenerator<Secret> {
    return allPages(
      (page, pageSize) => this.http.call('GET', '/api/v1/secrets', { ...options, query: { page, pageSize } }),
      (reply) => (reply as Reply<'/api/v1/secrets', 'get'>).secrets,
      options.pageSize,
    );
  }

  get(tagOrId: string, options: Signal = {}): Promise<Secret> {
    return this.http.call('GET', `/api/v1/secrets/${segment(tagOrId)}`, options);
  }

  create(secret: NewSecret, options: Signal = {}): Promise<Secret> {
    return this.http.call('POST', '/api/v1/secrets', { ...options, body: secret });
  }

  /** A new name, a new value (a new version), or both. */
  update(tagOrId: string, changes: SecretChanges, options: Signal = {}): Promise<Secret> {
    return this.http.call('PUT', `/api/v1/secrets/${segment(tagOrId)}`, { ...options, body: changes });
  }

  async delete(tagOrId: string, options: Signal = {}): Promise<void> {
    await this.http.call('DELETE', `/api/v1/secrets/${segment(tagOrId)}`, options);
  }

  versions(tagOrId: string, options: ListOptions = {}): AsyncGenerator<SecretVersion> {
    return allPages(
      (page, pageSize) =>
        this.http.call('GET', `/api/v1/secrets/${segment(tagOrId)}/versions`, {
          ...options,
          query: { page, pageSize },
        }),
      (reply) => (reply as Reply<'/api/v1/secrets/{tagOrId}/versions', 'get'>).versions,
      options.pageSize,
    );
  }

  /** The current value, or that of `version`. */
  reveal(tagOrId: string, options: Signal & { version?: number } = {}): Promise<RevealedSecret> {
    const { version, ...rest } = options;
    return this.http.call('GET', `/api/v1/secrets/${segment(tagOrId)}/value`, {
      ...rest,
      query: { version },
    });
  }

  /** Many values in one round trip: by their tags, or every secret whose tag starts with a prefix. */
  async revealMany(selection: ValuesSelection, options: Signal = {}): Promise<RevealedValue[]> {
    const reply = await this.http.call<RevealedValues>('POST', '/api/v1/secrets/values', {
      ...options,
      body: selection,
    });
    return reply.values;
  }

  /**
   * One call of the change feed: the changes after `since` (at once if there are any, else when
   * one happens or `waitSeconds` pass) and the cursor to ask from next. Without `since`: no
   * changes and the current cursor, to start from.
   */
  changes(
    options: Signal & { since?: string | undefined; waitSeconds?: number } = {},
  ): Promise<SecretChangesPage> {
    const waitSeconds = Math.min(Math.max(0, Math.trunc(options.waitSeconds ?? 0)), MAX_WAIT_SECONDS);
    return this.http.call<SecretChangesPage>('GET', '/api/v1/secrets/changes', {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      query: { since: options.since, waitSeconds: options.since === undefined ? undefined : waitSeconds },
      // The server holds a long poll for up to waitSeconds: the time limit starts after that.
      timeoutMs: waitSeconds * 1000 + DEFAULT_TIMEOUT_MS,
    });
  }

  /**
   * Every change from now on (or after `since`), batch by batch, following the feed with long polls
   * until `signal` aborts. Errors end the iteration: the caller decides whether to follow again.
   */
  async *watch(
    options: Signal & { since?: string; waitSeconds?: number } = {},
  ): AsyncGenerator<SecretChange[]> {
    const { signal } = options;
    let cursor = options.since ?? (await this.changes(signal === undefined ? {} : { signal })).cursor;
    while (signal?.aborted !== true) {
      const page = await this.changes({
        since: cursor,
        waitSeconds: options.waitSeconds ?? 25,
        ...(signal ? { signal } : {}),
      });
      cursor = page.cursor;
      if (page.changes.length > 0) yield page.changes;
    }
  }
}

class Roles {
  constructor(private readonly http: Transport) {}

  list(options: ListOptions = {}): AsyncGenerator<CustomRole> {
    return allPages(
      (page, pageSize) => this.http.call('GET', '/api/v1/roles', { ...options, query: { page, pageSize } }),
      (reply) => (reply as Reply<'/api/v1/roles', 'get'>).roles,
      options.pageSize,
    );
  }

  get(tag: string, options: Signal = {}): Promise<CustomRole> {
    return this.http.call('GET', `/api/v1/roles/${segment(tag)}`, options);
  }

  create(role: NewCustomRole, options: Signal = {}): Promise<CustomRole> {
    return this.http.call('POST', '/api/v1/roles', { ...options, body: role });
  }

  update(tag: string, changes: CustomRoleChanges, options: Signal = {}): Promise<CustomRole> {
    return this.http.call('PUT', `/api/v1/roles/${segment(tag)}`, { ...options, body: changes });
  }

  async delete(tag: string, options: Signal = {}): Promise<void> {
    await this.http.call('DELETE', `/api/v1/roles/${segment(tag)}`, options);
  }
}

type IpAllowlistEntry = IpAllowlist extends { entries: (infer E)[] } ? E : never;

class IpAllowlistCalls {
  constructor(private readonly http: Transport) {}

  /** Every entry, in the order they were saved. */
  entries(options: ListOptions = {}): AsyncGenerator<IpAllowlistEntry> {
    return allPages(
      (page, pageSize) =>
        this.http.call('GET', '/api/v1/ip-allowlist', { ...options, query: { page, pageSize } }),
      (reply) => (reply as IpAllowlist).entries,
      options.pageSize,
    );
  }

  /** Replaces the list; refused unless it holds the caller's own address, or `force` is set. */
  replace(list: IpAllowlistInput, options: Signal & { force?: boolean } = {}): Promise<IpAllowlist> {
    const { force, ...rest } = options;
    return this.http.call('PUT', '/api/v1/ip-allowlist', { ...rest, body: list, query: { force } });
  }

  validate(list: IpAllowlistInput, options: Signal = {}): Promise<IpAllowlistValidation> {
    return this.http.call('POST', '/api/v1/ip-allowlist/validate', { ...options, body: list });
  }
}

class AuditLogs {
  constructor(private readonly http: Transport) {}

  /** Events, newest first, matching the filters (comma-joined values of one filter OR together). */
  list(query: AuditLogQuery = {}, options: ListOptions = {}): AsyncGenerator<AuditLogEvent> {
    return allPages(
      (page, pageSize) =>
        this.http.call('GET', '/api/v1/audit-logs', { ...options, query: { ...query, page, pageSize } }),
      (reply) => (reply as Reply<'/api/v1/audit-logs', 'get'>).logs,
      options.pageSize,
    );
  }
}
