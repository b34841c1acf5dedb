import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** AES-256-GCM with a random 96-bit nonce; the 128-bit tag is appended to the ciphertext. */
export interface Sealed {
  iv: Buffer;
  /** ciphertext || tag */
  data: Buffer;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class DecryptionError extends Error {
  override name = 'DecryptionError';
}

export function seal(key: Buffer, plaintext: Buffer, aad: string): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv, data };
}

/** Throws DecryptionError when the key, the additional data or any byte is wrong: never garbage. */
export function open(key: Buffer, sealed: Sealed, aad: string): Buffer {
  if (sealed.data.length < TAG_BYTES || sealed.iv.length !== IV_BYTES) {
    throw new DecryptionError('ciphertext is truncated');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.data.subarray(sealed.data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.data.subarray(0, -TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptionError('ciphertext failed authentication');
  }
}
