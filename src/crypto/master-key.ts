import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A master key: 32 random bytes. It is identified by a key id and checked by a verifier, both
 * HMACs of fixed labels under the key, so storage can tell "wrong key" from "right key" without
 * holding anything that reveals the key.
 */
export const MASTER_KEY_BYTES = 32;

export interface MasterKey {
  id: string;
  key: Buffer;
}

function mac(key: Buffer, label: string): string {
  return createHmac('sha256', key).update(label).digest('hex');
}

export function masterKeyFrom(key: Buffer): MasterKey {
  if (key.length !== MASTER_KEY_BYTES) throw new Error(`a master key is ${MASTER_KEY_BYTES} bytes`);
  return { id: `mk${mac(key, 'tessera master key id').slice(0, 16)}`, key };
}

export function verifierOf(master: MasterKey): string {
  return mac(master.key, 'tessera master key verifier');
}

export function verifies(master: MasterKey, verifier: string): boolean {
  const expected = Buffer.from(verifierOf(master), 'hex');
  const stored = Buffer.from(verifier, 'hex');
  return expected.length === stored.length && timingSafeEqual(expected, stored);
}

export function generateMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

/** Parses base64 text holding exactly 32 bytes; undefined for anything else. */
export function decodeMasterKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return undefined;
  const bytes = Buffer.from(trimmed.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  return bytes.length === MASTER_KEY_BYTES ? bytes : undefined;
}
