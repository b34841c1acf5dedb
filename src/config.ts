import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import { decodeMasterKey } from './crypto/master-key.js';
import { isWellFormedToken } from './crypto/tokens.js';
import { DEFAULT_AUTH_FAILURES_PER_MINUTE } from './http/auth-failures.js';
import { parseTrustProxy, type TrustProxy } from './http/trust-proxy.js';
import { readKeyFile } from './runtime/key-file.js';

export { ConfigError };

/**
 * All configuration comes from the environment, is parsed once at start and frozen.
 * Anything invalid stops start-up with one line naming the variable (never its value when the
 * variable holds a secret). No secret has a default.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** PostgreSQL connections per node. */
  readonly databasePoolSize: number;
  readonly redisUrl: string | undefined;
  readonly bootstrapToken: string | undefined;
  readonly rateLimitPerMinute: number;
  /** Failed authentications per client (IPv4 address, IPv6 /64) per minute before 429s. */
  readonly authFailuresPerMinute: number;
  readonly logLevel: LogLevel;
  /** Which proxies may name the client in X-Forwarded-For (see trust-proxy.ts). */
  readonly trustProxy: TrustProxy;
  /** The master key from TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE; unset: the data folder's. */
  readonly masterKey: ConfiguredMasterKey | undefined;
  /** Value versions kept per secret, the current one included. */
  readonly secretVersionsKept: number;
  /** Whether `GET /api/v1/secrets/{tagOrId}/value` may reveal values at all. */
  readonly secretReveal: boolean;
  /** Audit events older than this many days are pruned (the chain stays verifiable). */
  readonly auditRetentionDays: number;
  /** Server processes sharing the port (1: this process serves; more: a primary forks them). */
  readonly workers: number;
  /** `stdout`, or a file path: each audit event is also written there as a JSON line. */
  readonly auditExport: string | undefined;
  /** GitHub-format public keys that sign leaked-token reports; unset: no scanning endpoint. */
  readonly scanningPublicKeysFile: string | undefined;
  /** The bearer token of `GET /metrics`; unset: no metrics (the route is a 404). */
  readonly metricsToken: string | undefined;
  /** Whether webhooks may point at loopback, private and link-local addresses. */
  readonly webhookAllowPrivate: boolean;
  /** How long one webhook POST may take, in seconds. */
  readonly webhookTimeoutSeconds: number;
  /** The first webhook retry's delay in seconds; each next one doubles (up to an hour). */
  readonly webhookRetryBaseSeconds: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
  }
  return Number(raw);
}

/** The most workers: more than a machine's cores only adds contention for the one SQLite writer. */
export const MAX_WORKERS = 64;

/** TESSERA_WORKERS: a whole number, or `auto` for one per core the process may use. */
function workers(env: Env): number {
  const raw = text(env, 'TESSERA_WORKERS');
  if (raw?.toLowerCase() === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
  if (raw !== undefined && !(/^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_WORKERS)) {
    throw new ConfigError(
      `TESSERA_WORKERS must be auto or a whole number from 1 to ${MAX_WORKERS} (got '${raw}')`,
    );
  }
  return raw === undefined ? 1 : Number(raw);
}

/** A DNS label: letters, digits and inner hyphens, 63 characters at most. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** A host name: labels joined by dots (one may end it), 253 characters at most, the last not all digits. */
function isHostName(name: string): boolean {
  const labels = name.replace(/\.$/, '').split('.');
  return (
    name.length <= 253 &&
    labels.every((label) => LABEL.test(label)) &&
    // `1.2.3.999` is neither an address nor a name.
    !/^\d+$/.test(labels[labels.length - 1] ?? '')
  );
}

/**
 * TESSERA_HOST: an IPv4 or IPv6 address, or a host name. Anything else (a URL, a port, a space)
 * would only fail later, inside listen, with an error that names no setting.
 */
function host(env: Env): string {
  const raw = text(env, 'TESSERA_HOST');
  if (raw === undefined) return '127.0.0.1';
  if (isIP(raw) === 0 && !isHostName(raw)) {
    throw new ConfigError(
      `TESSERA_HOST must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::) or a host name (got '${raw.slice(0, 64)}')`,
    );
  }
  return raw;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false (got '${raw}')`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got '${raw}')`);
  }
  return raw as T;
}

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    // The URL may carry a password: name the variable, not the value.
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

export interface ConfiguredMasterKey {
  key: Buffer;
  /** Where it came from, for messages: the variable's name, or the file's path. */
  source: string;
}

/** Reads a master key from one variable or the other (never both), naming only the source on error. */
export function masterKeyFromEnv(env: Env, prefix = 'TESSERA_MASTER_KEY'): ConfiguredMasterKey | undefined {
  const inline = text(env, prefix);
  const file = text(env, `${prefix}_FILE`);
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError(`set ${prefix} or ${prefix}_FILE, not both`);
  }
  if (inline !== undefined) {
    const key = decodeMasterKey(inline);
    if (key === undefined) throw new ConfigError(`${prefix} must be base64 of exactly 32 bytes`);
    return { key, source: prefix };
  }
  if (file === undefined) return undefined;
  let content: string;
  try {
    content = readKeyFile(file, `${prefix}_FILE`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // No such file, and the "path" has a key's shape: the key itself was put where its file's
    // path belongs (`..._FILE=$(tessera keygen)`), and quoting the path would print it.
    if (decodeMasterKey(file) !== undefined) {
      throw new ConfigError(`${prefix}_FILE holds a key, not a file's path: set ${prefix} to it instead`);
    }
    throw new ConfigError(`${prefix}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`);
  }
  const key = decodeMasterKey(content);
  if (key === undefined)
    throw new ConfigError(`${prefix}_FILE: ${file} must hold base64 of exactly 32 bytes`);
  return { key, source: `${prefix}_FILE (${file})` };
}

/** A scraper's token: long enough that guessing it is hopeless (the route has no rate limit). */
function metricsToken(env: Env): string | undefined {
  const token = text(env, 'TESSERA_METRICS_TOKEN');
  if (token === undefined) return undefined;
  if (token.length < 32 || token.length > 256 || !/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(
      'TESSERA_METRICS_TOKEN must be 32 to 256 printable characters without spaces (e.g. `tessera token`)',
    );
  }
  return token;
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const dataDir = text(env, 'TESSERA_DATA_DIR') ?? './data';
  const bootstrapToken = text(env, 'TESSERA_BOOTSTRAP_TOKEN');
  if (bootstrapToken !== undefined && !isWellFormedToken(bootstrapToken)) {
    throw new ConfigError(
      'TESSERA_BOOTSTRAP_TOKEN is not a well-formed Tessera token (make one with `tessera token`)',
    );
  }
  return Object.freeze({
    host: host(env),
    port: integer(env, 'TESSERA_PORT', 8080, 0, 65535),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: integer(env, 'TESSERA_DB_POOL_SIZE', 20, 1, 500),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    bootstrapToken,
    rateLimitPerMinute: integer(env, 'TESSERA_RATE_LIMIT_PER_MINUTE', 1000, 1, 1_000_000),
    authFailuresPerMinute: integer(
      env,
      'TESSERA_AUTH_FAILURES_PER_MINUTE',
      DEFAULT_AUTH_FAILURES_PER_MINUTE,
      1,
      1_000_000,
    ),
    logLevel: oneOf(env, 'TESSERA_LOG_LEVEL', LOG_LEVELS, 'info'),
    trustProxy: parseTrustProxy(text(env, 'TESSERA_TRUST_PROXY')),
    masterKey: masterKeyFromEnv(env),
    secretVersionsKept: integer(env, 'TESSERA_SECRET_VERSIONS_KEPT', 10, 1, 1000),
    secretReveal: boolean(env, 'TESSERA_SECRET_REVEAL', true),
    auditRetentionDays: integer(env, 'TESSERA_AUDIT_RETENTION_DAYS', 365, 1, 36_500),
    auditExport: text(env, 'TESSERA_AUDIT_EXPORT'),
    scanningPublicKeysFile: text(env, 'TESSERA_SCANNING_PUBLIC_KEYS_FILE'),
    workers: workers(env),
    metricsToken: metricsToken(env),
    webhookAllowPrivate: boolean(env, 'TESSERA_WEBHOOK_ALLOW_PRIVATE', false),
    webhookTimeoutSeconds: integer(env, 'TESSERA_WEBHOOK_TIMEOUT_SECONDS', 10, 1, 60),
    webhookRetryBaseSeconds: integer(env, 'TESSERA_WEBHOOK_RETRY_BASE_SECONDS', 10, 1, 3600),
  });
}
