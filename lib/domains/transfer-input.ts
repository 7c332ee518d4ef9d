/**
 * What "add a transfer" accepts, checked before any call: magnets with a valid info-hash, http(s)
 * and ftp URLs, and .torrent files (bencoded dictionaries). Each bad item gets its own clear reason
 * so the good ones can still go through.
 */
import { describeValue } from "../core/describe";
import { idsOf } from "../core/ids";
import { t, type TextOrString } from "../core/texts";

export type TransferItem = { kind: "magnet" | "url"; url: string } | { kind: "torrent"; data: Buffer; name: string };

export interface RejectedItem {
  /** A short, printable form of what was given. */
  input: string;
  reason: string;
}

const BTIH_HEX = /^[0-9a-f]{40}$/i;
const BTIH_BASE32 = /^[a-z2-7]{32}$/i;
/** BitTorrent v2 multihash: sha2-256 (0x12), 32 bytes (0x20). */
const BTMH = /^1220[0-9a-f]{64}$/i;

export function describeInput(value: unknown): string {
  if (Buffer.isBuffer(value)) return `a ${value.length}-byte buffer`;
  if (typeof value !== "string") return describeValue(value, 80);
  return value.length > 80 ? value.slice(0, 77) + "..." : value;
}

/** Why a magnet is unusable, or null when it is fine. */
export function magnetProblem(magnet: string): string | null {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(magnet.slice(magnet.indexOf("?") + 1));
  } catch {
    return "it is not a magnet URI";
  }
  if (!/^magnet:\?/i.test(magnet)) return "a magnet URI starts with magnet:?";
  const topics = params.getAll("xt");
  if (!topics.length) return "the magnet has no xt (info-hash) parameter";
  for (const xt of topics) {
    const btih = /^urn:btih:(.+)$/i.exec(xt);
    if (btih?.[1] && (BTIH_HEX.test(btih[1]) || BTIH_BASE32.test(btih[1]))) return null;
    const btmh = /^urn:btmh:(.+)$/i.exec(xt);
    if (btmh?.[1] && BTMH.test(btmh[1])) return null;
  }
  return "the magnet's info-hash is not 40 hex or 32 base32 characters";
}

export function urlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "it is not a URL or a magnet";
  }
  if (!["http:", "https:", "ftp:"].includes(u.protocol)) return `put.io fetches http, https and ftp URLs, not ${u.protocol}`;
  if (!u.hostname) return "the URL has no host";
  return null;
}

/** A .torrent file is a bencoded dictionary: "d" … "e", with an info dictionary inside. */
export function torrentProblem(data: Buffer): string | null {
  if (data.length < 2 || data[0] !== 0x64 /* d */ || data[data.length - 1] !== 0x65 /* e */)
    return "the buffer is not a .torrent file (not a bencoded dictionary)";
  if (!data.includes("4:info")) return "the .torrent file has no info dictionary";
  return null;
}

/**
 * Split a payload into items: a string (one per line), a Buffer (.torrent), or an array of these.
 * Blank lines and # comments are ignored.
 */
export function parseTransferItems(payload: unknown, torrentName = "upload.torrent"): { items: TransferItem[]; rejected: RejectedItem[] } {
  const items: TransferItem[] = [];
  const rejected: RejectedItem[] = [];
  const visit = (value: unknown, depth: number) => {
    if (Array.isArray(value) && depth === 0) return value.forEach((v) => visit(v, depth + 1));
    if (Buffer.isBuffer(value)) {
      const problem = torrentProblem(value);
      if (problem) rejected.push({ input: describeInput(value), reason: problem });
      else items.push({ kind: "torrent", data: value, name: torrentName });
      return;
    }
    if (typeof value !== "string") {
      rejected.push({ input: describeInput(value), reason: "expected a magnet, a URL or a .torrent buffer" });
      return;
    }
    for (const raw of value.split(/\r?\n/)) {
      const line = raw.trim();
      if (!line || line.startsWith("#")) continue;
      const problem = /^magnet:/i.test(line) ? magnetProblem(line) : urlProblem(line);
      if (problem) rejected.push({ input: describeInput(line), reason: problem });
      else items.push({ kind: /^magnet:/i.test(line) ? "magnet" : "url", url: line });
    }
  };
  visit(payload, 0);
  return { items, rejected };
}

/** Transfer ids from a number, digits, a CSV string, transfer objects or an array of these. */
export function transferIdsOf(value: unknown, attempted: TextOrString): number[] {
  return idsOf(value, attempted, t("what.transfer-id-or-transfer"));
}
