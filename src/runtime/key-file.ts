import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { ConfigError } from '../config-error.js';

/** The largest key file read: a master key is 45 characters of base64; anything far larger is not one. */
const MAX_KEY_FILE_BYTES = 4096;

/**
 * Reads a file that holds a key, refusing it when group or others may read or write it (as
 * OpenSSH refuses a loose private key): a key any local user can copy is no longer a secret, and
 * starting anyway would hide that. The mode is checked on the open file, so the file checked is
 * the file read. Windows has no such mode bits: there the check is skipped. `variable` names the
 * setting that pointed at the file, when one did, at the start of the message.
 */
export function readKeyFile(file: string, variable?: string, platform = process.platform): string {
  const prefix = variable === undefined ? '' : `${variable}: `;
  const fd = openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    if (platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new ConfigError(
        `${prefix}${file} is accessible by group or others (mode ${mode}): run chmod 600 ${shellWord(file)}`,
      );
    }
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw new ConfigError(`${prefix}${file} is ${stat.size} bytes, too large to hold a key`);
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** `file` as one word of a shell command, quoted only when it needs to be. */
function shellWord(file: string): string {
  return /^[\w@%+=:,./-]+$/.test(file) ? file : `'${file.replaceAll("'", "'\\''")}'`;
}
