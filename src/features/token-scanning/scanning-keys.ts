import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config-error.js';

const VARIABLE = 'TESSERA_SCANNING_PUBLIC_KEYS_FILE';
/** More keys than this in the file is a mistake, not a rotation. */
const MAX_KEYS = 32;

/**
 * The public keys that sign leaked-token reports, by identifier, read from a file in GitHub's
 * format (`{"public_keys": [{"key_identifier", "key", "is_current"}]}`, the key a PEM of an ECDSA
 * P-256 public key). Every key listed is accepted, current or not: a report signed just before a
 * rotation still verifies. Anything malformed stops start-up naming the variable.
 */
export type ScanningKeys = ReadonlyMap<string, KeyObject>;

export function readScanningKeys(file: string): ScanningKeys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not JSON';
    throw new ConfigError(`${VARIABLE}: ${file} cannot be read as JSON (${reason})`);
  }
  const listed = (parsed as { public_keys?: unknown })?.public_keys;
  if (!Array.isArray(listed) || listed.length === 0 || listed.length > MAX_KEYS) {
    throw new ConfigError(`${VARIABLE}: ${file} must hold {"public_keys": [...]} with 1 to ${MAX_KEYS} keys`);
  }
  const keys = new Map<string, KeyObject>();
  listed.forEach((entry: { key_identifier?: unknown; key?: unknown }, index) => {
    const id = entry?.key_identifier;
    if (typeof id !== 'string' || id === '' || id.length > 256 || typeof entry.key !== 'string') {
      throw new ConfigError(`${VARIABLE}: public_keys[${index}] needs a key_identifier and a key`);
    }
    let key: KeyObject;
    try {
      key = createPublicKey(entry.key);
    } catch {
      throw new ConfigError(`${VARIABLE}: public_keys[${index}].key is not a PEM public key`);
    }
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new ConfigError(`${VARIABLE}: public_keys[${index}].key is not an ECDSA P-256 key`);
    }
    keys.set(id, key);
  });
  return keys;
}

/**
 * Whether `signature` (base64 of a DER ECDSA signature) signs `body`, the request's raw bytes,
 * with SHA-256 under the key named `keyId`. False for an unknown key or anything malformed.
 */
export function reportSigned(keys: ScanningKeys, keyId: string, signature: string, body: Buffer): boolean {
  const key = keys.get(keyId);
  if (key === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature) || signature.length > 512) return false;
  try {
    return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
