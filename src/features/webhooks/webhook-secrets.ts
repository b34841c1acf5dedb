import { randomBytes } from 'node:crypto';
import { decryptValue, type Envelope, encryptValue } from '../../crypto/envelope.js';
import type { MasterKey } from '../../crypto/master-key.js';
import type { WebhookRow } from './webhooks.table.js';

/**
 * A webhook's signing secret is sealed as a secret value is (envelope.ts), as "version 1" of the
 * webhook's id: the additional data names the id, and a webhook id (`wh…`) is never a secret's
 * (`se…`), so neither ciphertext opens in the other's place. `tessera rekey` re-wraps its data key.
 */
export const SECRET_VERSION = 1;

/** A fresh signing secret: 32 random bytes, printable. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function sealWebhookSecret(master: MasterKey, secret: string, webhookId: string): Envelope {
  return encryptValue(master, secret, webhookId, SECRET_VERSION);
}

export function sealedColumns(
  envelope: Envelope,
): Pick<WebhookRow, 'secret_iv' | 'secret_data' | 'dek_iv' | 'dek_data' | 'master_key_id'> {
  return {
    secret_iv: envelope.value.iv,
    secret_data: envelope.value.data,
    dek_iv: envelope.wrappedKey.iv,
    dek_data: envelope.wrappedKey.data,
    master_key_id: envelope.masterKeyId,
  };
}

export function openWebhookSecret(
  master: MasterKey,
  row: Pick<WebhookRow, 'id' | 'secret_iv' | 'secret_data' | 'dek_iv' | 'dek_data' | 'master_key_id'>,
): string {
  const envelope: Envelope = {
    value: { iv: row.secret_iv, data: row.secret_data },
    wrappedKey: { iv: row.dek_iv, data: row.dek_data },
    masterKeyId: row.master_key_id,
  };
  return decryptValue(master, envelope, row.id, SECRET_VERSION);
}
