import { writeFileSync } from 'node:fs';
import { ConfigError } from '../config.js';
import { generateMasterKey } from '../crypto/master-key.js';

/**
 * `tessera keygen [--out FILE]`: a fresh master key, on stdout or into FILE. The file is created
 * with mode 0600, readable by its owner only as start-up requires of key files (a shell
 * redirection would leave it to the umask, commonly 0644), and never replaces an existing file:
 * overwriting a key file can strand every secret encrypted under the key it held.
 */
export function runKeygen(out: unknown): number {
  const key = `${generateMasterKey().toString('base64')}\n`;
  if (out === undefined) {
    process.stdout.write(key);
    return 0;
  }
  if (typeof out !== 'string' || out === '') throw new ConfigError('usage: tessera keygen [--out FILE]');
  try {
    writeFileSync(out, key, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'EEXIST'
        ? `keygen: ${out} already exists and is left as it is (remove it first, or choose another file)`
        : `keygen: cannot write ${out} (${code})`,
    );
  }
  process.stdout.write(`Wrote a new master key to ${out} (mode 0600)\n`);
  return 0;
}
