/**
 * A setting Tessera cannot start with. `tessera` prints its message as the one line it exits with,
 * so the message names the variable or file and what to do, and never the value of a secret.
 * Its own module so that parsers config.ts uses (key files, trusted proxies) can throw it too.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
