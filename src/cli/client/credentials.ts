import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { normalizeBaseUrl } from '../../client/http.js';
import { UsageError } from './output.js';

/**
 * Where the client commands get the server and the token: TESSERA_TOKEN (with TESSERA_URL) from
 * the environment, else what `tessera login` stored in the user's config folder
 * ($XDG_CONFIG_HOME/tessera, or ~/.config/tessera: folder 0700, file 0600). A stored token is sent
 * only to the server it was stored for: with TESSERA_URL naming another server and no
 * TESSERA_TOKEN, nothing is sent at all.
 */
export interface Credentials {
  baseUrl: string;
  token: string;
}

export function configFolder(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ''
      ? env.XDG_CONFIG_HOME
      : join(homedir(), '.config');
  return join(base, 'tessera');
}

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configFolder(env), 'credentials.json');
}

export function resolveCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  const envUrl = nonEmpty(env.TESSERA_URL);
  const envToken = nonEmpty(env.TESSERA_TOKEN);
  if (envToken !== undefined) {
    if (envUrl === undefined) throw new UsageError('TESSERA_TOKEN is set but TESSERA_URL is not: set both');
    return { baseUrl: checkedUrl(envUrl, 'TESSERA_URL'), token: envToken };
  }
  const stored = readStored(env);
  if (stored === undefined) {
    throw new UsageError('not logged in: run `tessera login`, or set TESSERA_URL and TESSERA_TOKEN');
  }
  if (envUrl !== undefined && checkedUrl(envUrl, 'TESSERA_URL') !== stored.baseUrl) {
    throw new UsageError(
      `TESSERA_URL names ${envUrl}, but the stored login is for ${stored.baseUrl}: set TESSERA_TOKEN, or log in to ${envUrl}`,
    );
  }
  return stored;
}

export function checkedUrl(raw: string, what: string): string {
  try {
    return normalizeBaseUrl(raw);
  } catch (error) {
    throw new UsageError(`${what}: ${(error as Error).message}`);
  }
}

/** Written whole, mode 0600 from the start, then renamed into place: never a readable half-file. */
export function storeCredentials(credentials: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const folder = configFolder(env);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  chmodSync(folder, 0o700);
  const file = credentialsFile(env);
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify({ url: credentials.baseUrl, token: credentials.token })}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  renameSync(partial, file);
  return file;
}

/** True when there was a stored login to remove. */
export function removeCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = credentialsFile(env);
  try {
    statSync(file);
  } catch {
    return false;
  }
  rmSync(file, { force: true });
  return true;
}

function readStored(env: NodeJS.ProcessEnv): Credentials | undefined {
  const file = credentialsFile(env);
  let text: string;
  try {
    // Group or others able to read the token: refused, as ssh refuses a readable private key.
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new UsageError(`${file} may be read by others: run \`chmod 600 ${file}\`, or log in again`);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: { url?: unknown; token?: unknown };
  try {
    parsed = JSON.parse(text) as { url?: unknown; token?: unknown };
  } catch {
    throw new UsageError(`${file} is not readable: run \`tessera login\` again`);
  }
  if (typeof parsed.url !== 'string' || typeof parsed.token !== 'string') {
    throw new UsageError(`${file} is not readable: run \`tessera login\` again`);
  }
  return { baseUrl: checkedUrl(parsed.url, file), token: parsed.token };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
