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

type Crc32 = (data: Buffer, seed: number) => number;

export const zlibCrc32: Crc32 = (data, seed) => zlib.crc32(data, seed) >>> 0;

/**
 * Every downloaded byte is hashed, and Node's bundled zlib computes CRC-32 without the CPU's
 * carry-less multiply (about 3 GiB/s here): on a 2-core NAS that was a third of a download's CPU.
 * The optional `@node-rs/crc32` (prebuilt for common platforms, nothing compiled at install) is about
 * twice as fast. It is used only when it loads and agrees with zlib on a check value, whole and
 * continued from a seed; otherwise zlib, with the same results.
 */
function loadNativeCrc32(): Crc32 | null {
  try {
    const mod = require("@node-rs/crc32") as { crc32?: (data: Uint8Array, seed?: number) => number };
    const fn = mod.crc32;
    if (typeof fn !== "function") return null;
    const check = Buffer.from("123456789");
    const whole = fn(check, 0) >>> 0;
    const continued = fn(check.subarray(4), fn(check.subarray(0, 4), 0)) >>> 0;
    if (whole !== 0xcbf43926 || continued !== whole) return null;
    return (data, seed) => fn(data, seed) >>> 0;
  } catch {
    return null;
  }
}

const native = loadNativeCrc32();

/** Which implementation `crc32` uses (benchmarks print it). */
export const crc32Implementation: "native" | "zlib" = native ? "native" : "zlib";

export const nativeCrc32: Crc32 | null = native;

export function crc32(data: Buffer, seed = 0): number {
  return native ? native(data, seed) : zlibCrc32(data, seed);
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
