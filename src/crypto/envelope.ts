import { randomBytes } from 'node:crypto';
import { open, type Sealed, seal } from './aes-gcm.js';
import type { MasterKey } from './master-key.js';

/**
 * Envelope encryption of one secret value version: a fresh data key encrypts the value, and the
 * master key wraps the data key. Both layers authenticate the secret id and version as additional
 * data, so ciphertext (or a wrapped key) copied to another row or version fails to decrypt.
 */
export interface Envelope {
  value: Sealed;
  wrappedKey: Sealed;
  masterKeyId: string;
}

const DATA_KEY_BYTES = 32;

function valueAad(secretId: string, version: number) {
  return `tessera:secret-value:${secretId}:${version}`;
}
function dataKeyAad(secretId: string, version: number) {
  return `tessera:data-key:${secretId}:${version}`;
}

export function encryptValue(
  master: MasterKey,
  plaintext: string,
  secretId: string,
  version: number,
): Envelope {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  try {
    return {
      value: seal(dataKey, Buffer.from(plaintext, 'utf8'), valueAad(secretId, version)),
      wrappedKey: seal(master.key, dataKey, dataKeyAad(secretId, version)),
      masterKeyId: master.id,
    };
  } finally {
    dataKey.fill(0);
  }
}

export function decryptValue(
  master: MasterKey,
  envelope: Envelope,
  secretId: string,
  version: number,
): string {
  const dataKey = open(master.key, envelope.wrappedKey, dataKeyAad(secretId, version));
  try {
    return open(dataKey, envelope.value, valueAad(secretId, version)).toString('utf8');
  } finally {
    dataKey.fill(0);
  }
}

/** Re-wraps a data key under another master key; the value ciphertext is untouched. */
export function rewrapDataKey(
  from: MasterKey,
  to: MasterKey,
  wrappedKey: Sealed,
  secretId: string,
  version: number,
): Sealed {
  const aad = dataKeyAad(secretId, version);
  const dataKey = open(from.key, wrappedKey, aad);
  try {
    return seal(to.key, dataKey, aad);
  } finally {
    dataKey.fill(0);
  }
}
