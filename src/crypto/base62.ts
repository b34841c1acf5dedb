const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Encodes a non-negative integer in base62, left-padded with '0' to `width` characters. */
export function base62FromBigInt(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return padded(out, width);
}

/**
 * base62FromBigInt for a safe integer (a CRC-32), without BigInt: token checksums are checked on
 * every request, and BigInt arithmetic made that the costliest part of the check.
 */
export function base62FromNumber(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('not a non-negative safe integer');
  let out = '';
  for (let rest = value; rest > 0; rest = Math.floor(rest / 62)) out = ALPHABET[rest % 62] + out;
  return padded(out, width);
}

function padded(digits: string, width: number): string {
  if (digits.length > width) throw new RangeError(`value does not fit in ${width} base62 digits`);
  return digits.padStart(width, '0');
}

/** Encodes bytes as a fixed-width base62 string (the width a full-range value of that size needs). */
export function base62FromBytes(bytes: Uint8Array): string {
  const width = Math.ceil((bytes.length * 8) / Math.log2(62));
  return base62FromBigInt(BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`), width);
}
