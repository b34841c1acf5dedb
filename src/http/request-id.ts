import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID_RANDOM_BYTES = 10;
/** Random bytes drawn from the system at a time: one call per 409 ids instead of one per id. */
const POOL_BYTES = ID_RANDOM_BYTES * 409;

const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

let encodedAt = -1;
let encodedTime = '';

/** 48 bits of milliseconds as 10 Crockford characters; the same millisecond is encoded once. */
function encodeTime(now: number): string {
  if (now !== encodedAt) {
    let time = '';
    let rest = now;
    for (let i = 0; i < 10; i++) {
      time = CROCKFORD[rest % 32] + time;
      rest = Math.floor(rest / 32);
    }
    encodedAt = now;
    encodedTime = time;
  }
  return encodedTime;
}

/** 40 bits (five bytes from `offset`) as 8 characters; 40 bits fit a double exactly. */
function encode40(bytes: Buffer, offset: number): string {
  let value = bytes.readUIntBE(offset, 5);
  let text = '';
  for (let i = 0; i < 8; i++) {
    text = CROCKFORD[value % 32] + text;
    value = Math.floor(value / 32);
  }
  return text;
}

/**
 * `req_` + a ULID: 48 bits of milliseconds and 80 random bits in Crockford base32, so ids sort
 * by time in logs. Always generated here: a client-supplied id is not trusted into our logs.
 * It runs on every request, so the random bits come from a pooled buffer and the encoding avoids
 * BigInt (see docs/performance.md).
 */
export function generateRequestId(now = Date.now()): string {
  if (poolOffset + ID_RANDOM_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += ID_RANDOM_BYTES;
  return `req_${encodeTime(now)}${encode40(pool, offset)}${encode40(pool, offset + 5)}`;
}
