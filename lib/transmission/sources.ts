/**
 * What torrent-add receives, read before anything reaches put.io: a magnet's info hash and name, a
 * .torrent's info hash (SHA-1 of the bencoded `info` dictionary, exactly as the apps compute it),
 * name, size and file count. The decoder is strict and bounded: a hostile body gets a clear error,
 * never a crash or a deep recursion.
 */
import { createHash } from "node:crypto";

export class SourceError extends Error {
  override name = "TransmissionSourceError";
}

export interface TorrentSource {
  kind: "magnet" | "url" | "metainfo";
  /** Lower-case hex info hash; null for a URL (known once put.io read the torrent). */
  hash: string | null;
  /** The display name it carries (magnet dn, .torrent info.name), or null. */
  name: string | null;
  /** Total size from a .torrent, else null. */
  size: number | null;
  fileCount: number | null;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A 32-character base32 btih (older magnets) as hex. */
function base32ToHex(s: string): string | null {
  let bits = "";
  for (const c of s.toUpperCase()) {
    const v = BASE32.indexOf(c);
    if (v < 0) return null;
    bits += v.toString(2).padStart(5, "0");
  }
  let hex = "";
  for (let i = 0; i + 4 <= bits.length; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16);
  return hex.length === 40 ? hex : null;
}

/** Info hash (hex, lower case) and name of a magnet link; a magnet without a usable btih is refused. */
export function parseMagnet(uri: string): TorrentSource {
  const query = uri.slice(uri.indexOf("?") + 1);
  let hash: string | null = null;
  let name: string | null = null;
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).toLowerCase();
    let value = part.slice(eq + 1);
    try {
      value = decodeURIComponent(value.replace(/\+/g, " "));
    } catch {
      /* keep it raw: a stray % in a name is not worth refusing the magnet */
    }
    if ((key === "xt" || /^xt\.\d+$/.test(key)) && hash === null) {
      const m = /^urn:btih:([0-9a-z]+)$/i.exec(value.trim());
      if (m) hash = m[1]!.length === 40 && /^[0-9a-f]+$/i.test(m[1]!) ? m[1]!.toLowerCase() : m[1]!.length === 32 ? base32ToHex(m[1]!) : null;
    } else if (key === "dn" && name === null) name = value.trim() || null;
  }
  if (!hash) throw new SourceError("the magnet link has no BitTorrent info hash (xt=urn:btih:…)");
  return { kind: "magnet", hash, name, size: null, fileCount: null };
}

type BValue = number | Buffer | BValue[] | Map<string, BValue>;

/** Nesting depth no real .torrent comes near; deeper input is refused instead of recursing. */
const MAX_DEPTH = 64;

/** Decode one bencoded value at `pos`; returns it and the position after it. */
function decode(buf: Buffer, pos: number, depth: number, spans?: Map<string, [number, number]>): [BValue, number] {
  if (depth > MAX_DEPTH) throw new SourceError("the .torrent is nested too deeply");
  const c = buf[pos];
  if (c === undefined) throw new SourceError("the .torrent ends too early");
  if (c === 0x69 /* i */) {
    const end = buf.indexOf(0x65, pos + 1);
    if (end < 0) throw new SourceError("the .torrent ends too early");
    const text = buf.toString("latin1", pos + 1, end);
    if (!/^-?\d{1,17}$/.test(text)) throw new SourceError("the .torrent holds a bad integer");
    return [Number(text), end + 1];
  }
  if (c === 0x6c /* l */) {
    const list: BValue[] = [];
    pos++;
    while (buf[pos] !== 0x65) {
      if (pos >= buf.length) throw new SourceError("the .torrent ends too early");
      const [v, next] = decode(buf, pos, depth + 1);
      list.push(v);
      pos = next;
    }
    return [list, pos + 1];
  }
  if (c === 0x64 /* d */) {
    const dict = new Map<string, BValue>();
    pos++;
    while (buf[pos] !== 0x65) {
      if (pos >= buf.length) throw new SourceError("the .torrent ends too early");
      const [k, afterKey] = decode(buf, pos, depth + 1);
      if (!Buffer.isBuffer(k)) throw new SourceError("the .torrent has a dictionary key that is not a string");
      const key = k.toString("latin1");
      const [v, next] = decode(buf, afterKey, depth + 1);
      // The top level records where `info` starts and ends: its hash is over those exact bytes.
      if (spans) spans.set(key, [afterKey, next]);
      dict.set(key, v);
      pos = next;
    }
    return [dict, pos + 1];
  }
  if (c >= 0x30 && c <= 0x39) {
    const colon = buf.indexOf(0x3a, pos);
    if (colon < 0 || colon - pos > 12) throw new SourceError("the .torrent holds a bad string length");
    const len = Number(buf.toString("latin1", pos, colon));
    const start = colon + 1;
    if (!Number.isSafeInteger(len) || start + len > buf.length) throw new SourceError("the .torrent ends too early");
    return [buf.subarray(start, start + len), start + len];
  }
  throw new SourceError("the data is not a .torrent (bencode)");
}

const text = (v: BValue | undefined): string | null => (Buffer.isBuffer(v) ? v.toString("utf8") : null);

/** Hash, name, size and file count of a .torrent file's bytes. */
export function parseMetainfo(data: Buffer): TorrentSource {
  const spans = new Map<string, [number, number]>();
  const [root, end] = decode(data, 0, 0, spans);
  if (!(root instanceof Map)) throw new SourceError("the .torrent is not a dictionary");
  if (end !== data.length) throw new SourceError("the .torrent has data after its end");
  const info = root.get("info");
  const span = spans.get("info");
  if (!(info instanceof Map) || !span) throw new SourceError("the .torrent has no info dictionary");
  const hash = createHash("sha1").update(data.subarray(span[0], span[1])).digest("hex");
  const name = text(info.get("name.utf-8")) ?? text(info.get("name"));
  let size = 0;
  let fileCount = 1;
  const files = info.get("files");
  if (Array.isArray(files)) {
    fileCount = files.length;
    for (const f of files) {
      const len = f instanceof Map ? f.get("length") : undefined;
      if (typeof len === "number" && len > 0) size += len;
    }
  } else {
    const len = info.get("length");
    if (typeof len === "number" && len > 0) size = len;
  }
  return { kind: "metainfo", hash, name: name?.trim() || null, size, fileCount };
}

/** A 40-hex info hash in any case, lower-cased; null when `s` is not one. */
export function normalHash(s: string): string | null {
  return /^[0-9a-f]{40}$/i.test(s) ? s.toLowerCase() : null;
}

/** Build a minimal valid .torrent (tests, benchmarks and examples make their own with it). */
export function encodeBencode(v: unknown): Buffer {
  if (typeof v === "number") return Buffer.from(`i${Math.trunc(v)}e`, "latin1");
  if (typeof v === "string" || Buffer.isBuffer(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, "utf8");
    return Buffer.concat([Buffer.from(`${b.length}:`, "latin1"), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([Buffer.from("l"), ...v.map(encodeBencode), Buffer.from("e")]);
  if (v && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return Buffer.concat([Buffer.from("d"), ...keys.flatMap((k) => [encodeBencode(k), encodeBencode((v as Record<string, unknown>)[k])]), Buffer.from("e")]);
  }
  throw new SourceError(`cannot bencode ${typeof v}`);
}
