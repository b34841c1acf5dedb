// CRC-32 (IEEE 802.3), as used by zlib and by GitHub's token checksums.
// Written out rather than taken from node:zlib because zlib.crc32 only exists from Node 20.15 on.
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: string | Uint8Array): number {
  if (typeof data === 'string') return isAscii(data) ? crc32OfAscii(data) : crc32(Buffer.from(data, 'utf8'));
  let crc = 0xffffffff;
  for (const byte of data) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** An ASCII text's UTF-8 bytes are its character codes: no buffer to allocate (tokens, every request). */
function crc32OfAscii(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++)
    crc = (TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
