// File bodies: real buffers for small files, virtual (seeded, generated on demand) bodies for big ones,
// so a 1 GiB file costs no memory. Also the per-extension metadata put.io derives from names.
import * as zlib from "node:zlib";

export type ContentSpec = Buffer | { size: number; seed?: number };

const BLOCK = 64 * 1024;
const patternCache = new Map<number, Buffer>();

function pattern(seed: number): Buffer {
  let p = patternCache.get(seed);
  if (!p) {
    p = Buffer.alloc(BLOCK);
    let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
    for (let i = 0; i < BLOCK; i += 4) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      p.writeUInt32LE(x, i);
    }
    patternCache.set(seed, p);
  }
  return p;
}

/** Deterministic bytes of a virtual file: a seeded block, each block stamped with its index (the first
 * 8 bytes, big-endian) so shifted ranges differ. */
const STAMP = 8;
export class Content {
  private crcCache: string | undefined;
  /** Offset of one flipped byte in served bytes (corruptCrc), or null. */
  corruptAt: number | null = null;

  private constructor(
    readonly size: number,
    private readonly buffer: Buffer | null,
    private readonly seed: number,
  ) {}

  static from(spec: ContentSpec, defaultSeed: number): Content {
    if (Buffer.isBuffer(spec)) return new Content(spec.length, Buffer.from(spec), 0);
    if (!Number.isSafeInteger(spec.size) || spec.size < 0) throw new Error(`invalid virtual size ${spec.size}`);
    return new Content(spec.size, null, spec.seed ?? defaultSeed);
  }

  /** A file of its own holding the bytes as served (a flipped byte included): what a URL transfer of it stores. */
  servedCopy(): Content {
    if (this.corruptAt === null) return new Content(this.size, this.buffer, this.seed);
    return Content.from(this.read(0, this.size), 0);
  }

  private pristine(start: number, end: number): Buffer {
    if (this.buffer) return this.buffer.subarray(start, end);
    return this.fill(Buffer.allocUnsafe(end - start), start, end);
  }

  /** Writes the pristine bytes [start, end) of a virtual file into `out` (from its offset 0). */
  private fill(out: Buffer, start: number, end: number): Buffer {
    // Hot path of every download: filled straight from the shared pattern (no zero-fill, no
    // per-block copy), so serving 1 GiB is a memcpy, not what a benchmark measures.
    const p = pattern(this.seed);
    const stamp = Buffer.allocUnsafe(STAMP);
    let pos = start;
    while (pos < end) {
      const index = Math.floor(pos / BLOCK);
      const inBlock = pos - index * BLOCK;
      const take = Math.min(BLOCK - inBlock, end - pos);
      const at = pos - start;
      p.copy(out, at, inBlock, inBlock + take);
      if (inBlock < STAMP) {
        stamp.writeBigUInt64BE(BigInt(index), 0);
        stamp.copy(out, at, inBlock, Math.min(STAMP, inBlock + take));
      }
      pos += take;
    }
    return out;
  }

  /** Bytes as storage serves them, [start, end) clamped to the size. */
  read(start = 0, end = this.size): Buffer {
    const s = Math.max(0, Math.min(start, this.size));
    const e = Math.max(s, Math.min(end, this.size));
    const bytes = this.pristine(s, e);
    if (this.corruptAt !== null && this.corruptAt >= s && this.corruptAt < e) {
      const copy = Buffer.from(bytes);
      copy[this.corruptAt - s] ^= 0xff;
      return copy;
    }
    return bytes;
  }

  /**
   * Like read(), into a caller's buffer (reused between chunks by the storage server: fresh 1 MiB
   * buffers per chunk cost page faults and GC, which made the emulator the bottleneck of P1).
   * Returns the filled view of `out`.
   */
  readInto(out: Buffer, start: number, end: number): Buffer {
    const s = Math.max(0, Math.min(start, this.size));
    const e = Math.max(s, Math.min(end, this.size, s + out.length));
    const view = out.subarray(0, e - s);
    if (this.buffer) this.buffer.copy(view, 0, s, e);
    else this.fill(view, s, e);
    if (this.corruptAt !== null && this.corruptAt >= s && this.corruptAt < e) view[this.corruptAt - s] ^= 0xff;
    return view;
  }

  /** The advertised checksum: of the pristine bytes, computed once, streaming in 4 MiB chunks. */
  crc32(): string {
    if (this.crcCache === undefined) {
      let crc = 0;
      const CHUNK = 4 * 1024 * 1024;
      for (let pos = 0; pos < this.size; pos += CHUNK) {
        crc = zlib.crc32(this.pristine(pos, Math.min(this.size, pos + CHUNK)), crc);
      }
      this.crcCache = (crc >>> 0).toString(16).padStart(8, "0");
    }
    return this.crcCache;
  }

  /** OpenSubtitles hash: size + 64-bit LE word sums of the first and last 64 KiB. */
  opensubtitlesHash(): string {
    const chunk = Math.min(65536, this.size);
    let sum = BigInt(this.size);
    const add = (buf: Buffer) => {
      for (let i = 0; i + 8 <= buf.length; i += 8) sum = (sum + buf.readBigUInt64LE(i)) & 0xffffffffffffffffn;
    };
    add(this.pristine(0, chunk));
    add(this.pristine(this.size - chunk, this.size));
    return sum.toString(16).padStart(16, "0");
  }
}

export interface TypeInfo {
  fileType: string;
  contentType: string;
}

const BY_EXTENSION: Record<string, TypeInfo> = {
  mkv: { fileType: "VIDEO", contentType: "video/x-matroska" },
  mp4: { fileType: "VIDEO", contentType: "video/mp4" },
  m4v: { fileType: "VIDEO", contentType: "video/x-m4v" },
  avi: { fileType: "VIDEO", contentType: "video/x-msvideo" },
  mov: { fileType: "VIDEO", contentType: "video/quicktime" },
  webm: { fileType: "VIDEO", contentType: "video/webm" },
  flv: { fileType: "VIDEO", contentType: "video/x-flv" },
  ts: { fileType: "VIDEO", contentType: "video/mp2t" },
  mp3: { fileType: "AUDIO", contentType: "audio/mpeg" },
  flac: { fileType: "AUDIO", contentType: "audio/flac" },
  m4a: { fileType: "AUDIO", contentType: "audio/mp4" },
  ogg: { fileType: "AUDIO", contentType: "audio/ogg" },
  wav: { fileType: "AUDIO", contentType: "audio/x-wav" },
  jpg: { fileType: "IMAGE", contentType: "image/jpeg" },
  jpeg: { fileType: "IMAGE", contentType: "image/jpeg" },
  png: { fileType: "IMAGE", contentType: "image/png" },
  gif: { fileType: "IMAGE", contentType: "image/gif" },
  zip: { fileType: "ARCHIVE", contentType: "application/zip" },
  rar: { fileType: "ARCHIVE", contentType: "application/x-rar" },
  "7z": { fileType: "ARCHIVE", contentType: "application/x-7z-compressed" },
  tar: { fileType: "ARCHIVE", contentType: "application/x-tar" },
  gz: { fileType: "ARCHIVE", contentType: "application/gzip" },
  pdf: { fileType: "PDF", contentType: "application/pdf" },
  txt: { fileType: "TEXT", contentType: "text/plain" },
  nfo: { fileType: "TEXT", contentType: "text/plain" },
  srt: { fileType: "TEXT", contentType: "application/x-subrip" },
  vtt: { fileType: "TEXT", contentType: "text/vtt" },
  swf: { fileType: "SWF", contentType: "application/x-shockwave-flash" },
  torrent: { fileType: "FILE", contentType: "application/x-bittorrent" },
};

/** Extension without the dot, as real payloads carry it; null when the name has none. */
export function extensionOf(name: string): string | null {
  const i = name.lastIndexOf(".");
  if (i <= 0 || i === name.length - 1) return null;
  return name.slice(i + 1).toLowerCase();
}

export function typeInfoFor(name: string): TypeInfo {
  const ext = extensionOf(name);
  return (ext && BY_EXTENSION[ext]) || { fileType: "FILE", contentType: "application/octet-stream" };
}

/** A .torrent is a bencoded dictionary; name it by info.name when we can read it. */
export function torrentName(data: Buffer): string | null {
  const text = data.toString("latin1");
  const m = /4:infod[\s\S]*?4:name(\d+):/.exec(text);
  if (!m) return null;
  const start = m.index + m[0].length;
  return data.subarray(start, start + Number(m[1])).toString("utf8");
}

export function looksLikeTorrent(filename: string, data: Buffer): boolean {
  if (filename.toLowerCase().endsWith(".torrent")) return true;
  return data.length > 0 && data[0] === 0x64 /* 'd' */ && data.includes("4:info");
}
