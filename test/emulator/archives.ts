// Archive formats the emulated extraction reads. ZIP is real: stored and deflated entries, and
// traditional PKWARE encryption ("ZipCrypto", what `zip -P` writes), with its one-byte password check
// and the CRC of every entry. RAR is modelled: each volume is the RAR5 signature followed by a JSON
// manifest (see README "Archive extraction"), so multi-volume sets, passwords and corrupt volumes
// can be built in tests without a RAR encoder.
import * as zlib from "node:zlib";

export interface ArchiveEntry {
  /** Path inside the archive, "/"-separated. */
  name: string;
  /** Real bytes, or a virtual body (size + seed) as the emulator's other files have. */
  data: Buffer | { size: number; seed: number };
  /** The CRC32 written for it (default: of its data); the zips route writes put.io's advertised one. */
  crc?: number;
}

/** A zip's file entries (by name, in order) and how to check a password, or why it cannot be read. */
export type ZipReading = { names: string[]; encrypted: boolean; checkPassword: (password: string) => boolean } | { error: string };

// ---------- ZipCrypto ----------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

class ZipCryptoKeys {
  private k0 = 0x12345678;
  private k1 = 0x23456789;
  private k2 = 0x34567890;
  constructor(password: Buffer) {
    for (const b of password) this.update(b);
  }
  private update(b: number): void {
    this.k0 = (CRC_TABLE[(this.k0 ^ b) & 0xff] ^ (this.k0 >>> 8)) >>> 0;
    this.k1 = (Math.imul((this.k1 + (this.k0 & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    this.k2 = (CRC_TABLE[(this.k2 ^ (this.k1 >>> 24)) & 0xff] ^ (this.k2 >>> 8)) >>> 0;
  }
  private stream(): number {
    const t = (this.k2 | 2) & 0xffff;
    return (Math.imul(t, t ^ 1) >>> 8) & 0xff;
  }
  decrypt(data: Buffer): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    for (let i = 0; i < data.length; i++) {
      out[i] = data[i] ^ this.stream();
      this.update(out[i]);
    }
    return out;
  }
  encrypt(data: Buffer): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    for (let i = 0; i < data.length; i++) {
      out[i] = data[i] ^ this.stream();
      this.update(data[i]);
    }
    return out;
  }
}

// ---------- ZIP ----------

export interface ZipOptions {
  password?: string;
  /** Deflate the entries (default: stored). */
  deflate?: boolean;
  /** Flip a byte inside this entry's data after its CRC was written: extraction fails there. */
  corruptEntry?: number;
}

function bytesOf(data: ArchiveEntry["data"]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  throw new Error("zip entries need real bytes");
}

/** A real zip of the entries (for tests: what a user would have uploaded). */
export function buildZip(entries: ArchiveEntry[], opts: ZipOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  entries.forEach((e, index) => {
    const name = Buffer.from(e.name, "utf8");
    const plain = bytesOf(e.data);
    const crc = (e.crc ?? zlib.crc32(plain)) >>> 0;
    let body: Buffer = opts.deflate ? zlib.deflateRawSync(plain) : Buffer.from(plain);
    let flags = 0x0800; // UTF-8 names
    if (opts.password !== undefined) {
      flags |= 1;
      const keys = new ZipCryptoKeys(Buffer.from(opts.password, "utf8"));
      const header = Buffer.alloc(12, 0x5a);
      header[11] = crc >>> 24; // the check byte: high byte of the CRC
      body = keys.encrypt(Buffer.concat([header, body]));
    }
    if (opts.corruptEntry === index && body.length > 0) body[body.length - 1] ^= 0xff;
    const method = opts.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(plain.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(plain.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  });
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

interface ZipEntryRecord {
  name: string;
  flags: number;
  method: number;
  crc: number;
  /** DOS modification time: the password check byte when a data descriptor follows (flag bit 3). */
  time: number;
  compressed: Buffer;
}

function readZipRecords(buf: Buffer): ZipEntryRecord[] | string {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return "Not a valid zip archive";
  const count = buf.readUInt16LE(eocd + 10);
  let pos = buf.readUInt32LE(eocd + 16);
  const records: ZipEntryRecord[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 46 > buf.length || buf.readUInt32LE(pos) !== 0x02014b50) return "Not a valid zip archive";
    const flags = buf.readUInt16LE(pos + 8);
    const method = buf.readUInt16LE(pos + 10);
    const time = buf.readUInt16LE(pos + 12);
    const crc = buf.readUInt32LE(pos + 16);
    const csize = buf.readUInt32LE(pos + 20);
    const nameLen = buf.readUInt16LE(pos + 28);
    const extraLen = buf.readUInt16LE(pos + 30);
    const commentLen = buf.readUInt16LE(pos + 32);
    const localAt = buf.readUInt32LE(pos + 42);
    const name = buf.subarray(pos + 46, pos + 46 + nameLen).toString(flags & 0x0800 ? "utf8" : "latin1");
    if (localAt + 30 > buf.length || buf.readUInt32LE(localAt) !== 0x04034b50) return "Not a valid zip archive";
    const dataAt = localAt + 30 + buf.readUInt16LE(localAt + 26) + buf.readUInt16LE(localAt + 28);
    if (dataAt + csize > buf.length) return "Not a valid zip archive";
    records.push({ name, flags, method, crc, time, compressed: buf.subarray(dataAt, dataAt + csize) });
    pos += 46 + nameLen + extraLen + commentLen;
  }
  return records;
}

/** Reads a zip; entries are decrypted and inflated lazily by `unpackZipEntry`. */
export function readZip(buf: Buffer): ZipReading {
  const records = readZipRecords(buf);
  if (typeof records === "string") return { error: records };
  const files = records.filter((r) => !r.name.endsWith("/"));
  if (files.some((r) => r.method !== 0 && r.method !== 8)) return { error: "Unsupported compression method" };
  const encrypted = files.some((r) => r.flags & 1);
  const checkPassword = (password: string): boolean =>
    files.every((r) => {
      if (!(r.flags & 1)) return true;
      const header = new ZipCryptoKeys(Buffer.from(password, "utf8")).decrypt(r.compressed.subarray(0, 12));
      return header.length === 12 && header[11] === (r.flags & 8 ? r.time >>> 8 : r.crc >>> 24);
    });
  return { names: files.map((r) => r.name), encrypted, checkPassword };
}

/** The plain bytes of zip entry `index`, or null when its CRC does not match (a corrupt archive). */
export function unpackZipEntry(buf: Buffer, index: number, password: string | undefined): Buffer | null {
  const records = readZipRecords(buf);
  if (typeof records === "string") return null;
  const r = records.filter((x) => !x.name.endsWith("/"))[index];
  if (!r) return null;
  let body = r.compressed;
  if (r.flags & 1) body = new ZipCryptoKeys(Buffer.from(password ?? "", "utf8")).decrypt(body).subarray(12);
  let plain: Buffer;
  try {
    plain = r.method === 8 ? zlib.inflateRawSync(body) : body;
  } catch {
    return null;
  }
  return zlib.crc32(plain) >>> 0 === r.crc ? plain : null;
}

// ---------- modelled RAR ----------

/** RAR5's signature, then this marker line, then the JSON manifest of the volume. */
const RAR_SIGNATURE = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00]);
const RAR_MARKER = "\nPUTIO-EMULATOR-RAR\n";

export interface RarManifest {
  /** Identifies the set: every volume of one set carries the same value. */
  set: string;
  /** 1-based volume number, and how many volumes the set has. */
  volume: number;
  volumes: number;
  /** Set on every volume when the set is encrypted. */
  password?: string;
  /** On volume 1 only: the content. Text entries are real bytes; others virtual ({size, seed}). */
  entries?: Array<{ name: string; text?: string; size?: number; seed?: number }>;
  /** The set is damaged after this many entries (extraction fails midway). */
  corruptAfter?: number;
}

export interface RarSetOptions {
  volumes?: number;
  /** "part": name.part1.rar…; "old": name.rar, name.r00, name.r01… */
  style?: "part" | "old";
  password?: string;
  corruptAfter?: number;
  /** Zero-pad part numbers to this width (part01: 2). */
  digits?: number;
}

/** The volumes of a modelled RAR set named `base` (files to add with state.addFile). */
export function buildRarSet(base: string, entries: RarManifest["entries"], opts: RarSetOptions = {}): Array<{ name: string; data: Buffer }> {
  const volumes = Math.max(1, opts.volumes ?? 1);
  const style = opts.style ?? "part";
  const digits = opts.digits ?? String(volumes).length;
  const out: Array<{ name: string; data: Buffer }> = [];
  for (let v = 1; v <= volumes; v++) {
    const name =
      volumes === 1
        ? `${base}.rar`
        : style === "part"
          ? `${base}.part${String(v).padStart(digits, "0")}.rar`
          : v === 1
            ? `${base}.rar`
            : `${base}.r${String(v - 2).padStart(2, "0")}`;
    const manifest: RarManifest = { set: base, volume: v, volumes, password: opts.password, corruptAfter: opts.corruptAfter };
    if (v === 1) manifest.entries = entries;
    out.push({ name, data: Buffer.concat([RAR_SIGNATURE, Buffer.from(RAR_MARKER + JSON.stringify(manifest), "utf8")]) });
  }
  return out;
}

export function isRar(buf: Buffer): boolean {
  return buf.length >= 7 && buf.subarray(0, 7).equals(RAR_SIGNATURE.subarray(0, 7));
}

/** The manifest of a modelled RAR volume, or null for anything else (a real RAR we cannot read). */
export function readRarManifest(buf: Buffer): RarManifest | null {
  if (!isRar(buf)) return null;
  const text = buf.subarray(RAR_SIGNATURE.length).toString("utf8");
  if (!text.startsWith(RAR_MARKER)) return null;
  try {
    const m = JSON.parse(text.slice(RAR_MARKER.length)) as RarManifest;
    return typeof m.set === "string" && Number.isInteger(m.volume) && Number.isInteger(m.volumes) ? m : null;
  } catch {
    return null;
  }
}

/** Which volume of a set a file name claims to be: {base, volume (1-based), style}, or null. */
export function rarVolumeOf(name: string): { base: string; volume: number; style: "part" | "old" } | null {
  const part = /^(.*)\.part(\d+)\.rar$/i.exec(name);
  if (part) return { base: part[1], volume: Number(part[2]), style: "part" };
  const old = /^(.*)\.r(\d\d+)$/i.exec(name);
  if (old) return { base: old[1], volume: Number(old[2]) + 2, style: "old" };
  const single = /^(.*)\.rar$/i.exec(name);
  if (single) return { base: single[1], volume: 1, style: "old" };
  return null;
}
