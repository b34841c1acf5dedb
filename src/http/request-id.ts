import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * `req_` + a ULID: 48 bits of milliseconds and 80 random bits in Crockford base32, so ids sort
 * by time in logs. Always generated here: a client-supplied id is not trusted into our logs.
 */
export function generateRequestId(now = Date.now()): string {
  let time = '';
  let rest = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  const random = randomBytes(10);
  let tail = '';
  // 80 bits = 16 characters of 5 bits each.
  let acc = 0n;
  for (const byte of random) acc = (acc << 8n) | BigInt(byte);
  for (let i = 0; i < 16; i++) {
    tail = CROCKFORD[Number(acc & 31n)] + tail;
    acc >>= 5n;
  }
  return `req_${time}${tail}`;
}
