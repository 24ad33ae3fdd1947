/**
 * CRC-16/X-25 (a.k.a. CRC-ITU as GT06 documents call it): reflected poly 0x1021 (0x8408),
 * init 0xFFFF, final XOR 0xFFFF. Check value for "123456789" is 0x906E.
 */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8408 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16x25(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ (TABLE[(crc ^ (buf[i] as number)) & 0xff] as number);
  }
  return (crc ^ 0xffff) & 0xffff;
}
