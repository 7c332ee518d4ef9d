/**
 * CRC32 helpers. put.io's `crc32` is the standard (zlib) CRC-32 of the whole file, as 8 lower-case
 * hex digits. zlib.crc32 computes it incrementally; crc32Combine joins the CRCs of adjacent byte
 * ranges (zlib's crc32_combine, which Node does not expose), so segments can be hashed as they arrive.
 */
import * as zlib from "node:zlib";

export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).padStart(8, "0");
}

/** put.io's checksum as a number, or null when it is missing or not 8 hex digits. */
export function parseCrc(hex: string | null | undefined): number | null {
  return typeof hex === "string" && /^[0-9a-f]{8}$/i.test(hex) ? parseInt(hex, 16) >>> 0 : null;
}

export function crc32(data: Buffer, seed = 0): number {
  return zlib.crc32(data, seed) >>> 0;
}

function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!; // i < 32: vec is a 32-bit value
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
}

/** CRC of A‖B from crc(A), crc(B) and len(B) (zlib's crc32_combine; len may exceed 4 GiB). */
export function crc32Combine(crcA: number, crcB: number, lenB: number): number {
  if (lenB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320; // the reflected CRC-32 polynomial
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  gf2Square(even, odd); // 2 zero bits
  gf2Square(odd, even); // 4 zero bits
  let crc = crcA >>> 0;
  let len = lenB;
  // Apply len zero bytes to crcA, one bit of len at a time (first square gives 1 zero byte).
  for (;;) {
    gf2Square(even, odd);
    if (len % 2 === 1) crc = gf2Times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2 === 1) crc = gf2Times(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crcB) >>> 0;
}
