import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { RevealedValue } from '../../client/index.js';
import { UsageError } from './output.js';

/**
 * `tessera run --fallback FILE`: the last values fetched, kept encrypted for when the server cannot
 * be reached. AES-256-GCM under a key derived with scrypt from TESSERA_FALLBACK_PASSPHRASE; a fresh
 * random salt and nonce for every write, stored beside the ciphertext with the scrypt parameters.
 * The selection it was made for (tags or prefix, never values) is in the clear for a clear error
 * and bound as additional data, so a snapshot is never used for another selection; any change to
 * the file, or a wrong passphrase, fails authentication. The file is written whole with mode 0600
 * and renamed into place. No plaintext value ever touches the disk.
 */
export const PASSPHRASE_VARIABLE = 'TESSERA_FALLBACK_PASSPHRASE';
const FORMAT = 'tessera-fallback-1';
/** 16 MiB of memory and tens of milliseconds per derivation: a passphrase is costly to guess. */
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 } as const;

interface SnapshotFile {
  format: string;
  selection: string;
  savedAt: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  nonce: string;
  ciphertext: string;
  authTag: string;
}

export interface Snapshot {
  values: RevealedValue[];
  savedAt: string;
}

export function fallbackPassphrase(env: NodeJS.ProcessEnv = process.env): string {
  const passphrase = env[PASSPHRASE_VARIABLE];
  if (passphrase === undefined || passphrase === '') {
    throw new UsageError(
      `--fallback needs ${PASSPHRASE_VARIABLE}, the passphrase its snapshot is encrypted under`,
    );
  }
  return passphrase;
}

export async function saveSnapshot(
  file: string,
  passphrase: string,
  selection: string,
  values: readonly RevealedValue[],
): Promise<void> {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const savedAt = new Date().toISOString();
  const key = await derive(passphrase, salt, SCRYPT);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(additionalData(selection, savedAt));
  const plaintext = Buffer.from(JSON.stringify({ values }));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  plaintext.fill(0);
  const snapshot: SnapshotFile = {
    format: FORMAT,
    selection,
    savedAt,
    kdf: { name: 'scrypt', ...SCRYPT, salt: salt.toString('base64') },
    nonce: nonce.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    authTag: cipher.getAuthTag().toString('base64'),
  };
  const partial = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(partial, `${JSON.stringify(snapshot)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

export async function loadSnapshot(file: string, passphrase: string, selection: string): Promise<Snapshot> {
  let snapshot: SnapshotFile;
  try {
    snapshot = JSON.parse(readFileSync(file, 'utf8')) as SnapshotFile;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UsageError(
      `the fallback snapshot ${file} ${missing ? 'does not exist yet' : 'is not readable'}`,
      1,
    );
  }
  if (snapshot.format !== FORMAT || snapshot.kdf?.name !== 'scrypt') {
    throw new UsageError(`${file} is not a Tessera fallback snapshot`, 1);
  }
  if (snapshot.selection !== selection) {
    throw new UsageError(
      `the fallback snapshot ${file} holds other secrets (${snapshot.selection}), not ${selection}`,
      1,
    );
  }
  const { N, r, p, salt } = snapshot.kdf;
  if (![N, r, p].every(Number.isInteger) || N > 2 ** 17 || r > 8 || p > 4) {
    throw new UsageError(`${file} asks for scrypt parameters out of bounds`, 1);
  }
  try {
    const key = await derive(passphrase, Buffer.from(salt, 'base64'), { N, r, p });
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(snapshot.nonce, 'base64'));
    decipher.setAAD(additionalData(selection, snapshot.savedAt));
    decipher.setAuthTag(Buffer.from(snapshot.authTag, 'base64'));
    const plaintext = Buffer.concat([
      decipher.update(Buffer.from(snapshot.ciphertext, 'base64')),
      decipher.final(),
    ]);
    const { values } = JSON.parse(plaintext.toString('utf8')) as { values: RevealedValue[] };
    plaintext.fill(0);
    return { values, savedAt: snapshot.savedAt };
  } catch {
    throw new UsageError(
      `the fallback snapshot ${file} could not be decrypted: ${PASSPHRASE_VARIABLE} is wrong, or the file was altered`,
      1,
    );
  }
}

function additionalData(selection: string, savedAt: string): Buffer {
  return Buffer.from(JSON.stringify([FORMAT, selection, savedAt]));
}

function derive(
  passphrase: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((done, fail) => {
    scrypt(
      passphrase,
      salt,
      32,
      { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error === null ? done(key) : fail(error)),
    );
  });
}
