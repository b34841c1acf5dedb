import { randomBytes } from 'node:crypto';

/** Resource ids (keys, secrets, webhooks, webhook deliveries and events) are a two-letter kind prefix and 16 random lowercase hex digits (Cortex's shape). */
export type IdPrefix = 'ak' | 'se' | 'wh' | 'wd' | 'ev';

export function generateId(prefix: IdPrefix): string {
  return prefix + randomBytes(8).toString('hex');
}

export function looksLikeId(prefix: IdPrefix, value: string): boolean {
  return value.length === 18 && value.startsWith(prefix) && /^[0-9a-f]{16}$/.test(value.slice(2));
}
