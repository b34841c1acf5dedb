import { createHmac } from 'node:crypto';

/**
 * The `Tessera-Signature` header of one delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>">`, keyed with the webhook secret's UTF-8 bytes. The timestamp is signed with the
 * body so that a receiver can refuse a replayed old delivery.
 */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${unixSeconds}.${body}`)
    .digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}
