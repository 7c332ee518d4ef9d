// The storage host: signed /download/<fileId>?u=<sig> URLs with Range support and the download fault knobs.
import * as crypto from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerInfo } from "./router";
import type { Knobs } from "./knobs";
import type { FileNode, User } from "./state";

export function storageMac(server: ServerInfo, payload: string): string {
  return crypto.createHmac("sha256", server.state.signingKey).update(payload).digest("base64url").slice(0, 22);
}

/** Storage URLs embed their own credentials; no Authorization header is needed on them. */
export function storageUrl(server: ServerInfo, user: User, node: FileNode): string {
  const ttl = server.knobs.downloadUrlTtlMs;
  const expires = ttl === null ? 0 : server.state.now() + ttl;
  const payload = `${node.id}.${user.id}.${expires}`;
  return `${server.origin}/download/${node.id}?u=${Buffer.from(payload).toString("base64url")}.${storageMac(server, payload)}`;
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(Buffer.byteLength(text)) });
  res.end(text);
}

/** Responses stalled by the stall knob, ended on close(). */
export const stalledResponses = new Set<ServerResponse>();

/** What one storage (one emulator, keyed by its knobs) has open: bodies per user, and the link's timeline. */
export interface StorageStats {
  /** Bodies streaming now, per user id. */
  open: Map<number, number>;
  /** Most bodies streaming at once for one user since the last reset. */
  peak: number;
  /** Requests answered 503 by storageMaxConnections. */
  refused: number;
  /** When (performance.now()) the link is free again: the end of the last chunk it carries. */
  linkFreeAt: number;
}

const stats = new WeakMap<Knobs, StorageStats>();

/** The storage's connection counts (tests read and reset `peak` and `refused`). */
export function storageStats(knobs: Knobs): StorageStats {
  let s = stats.get(knobs);
  if (!s) stats.set(knobs, (s = { open: new Map(), peak: 0, refused: 0, linkFreeAt: 0 }));
  return s;
}

export async function serveDownload(req: IncomingMessage, res: ServerResponse, server: ServerInfo, url: URL): Promise<void> {
  const { state, knobs } = server;
  const fileId = Number(/^\/download\/(\d+)/.exec(url.pathname)?.[1]);
  const [encoded, signature] = (url.searchParams.get("u") ?? "").split(".");
  const payload = Buffer.from(encoded ?? "", "base64url").toString();
  const [sigFile, sigUser, sigExpires] = payload.split(".").map(Number);
  if (!signature || signature !== storageMac(server, payload) || sigFile !== fileId) return plain(res, 403, "Forbidden");
  if (sigExpires !== 0 && state.now() > sigExpires) return plain(res, 410, "Link expired");
  const user = state.users.get(sigUser);
  const node = user && (state.liveNode(user, fileId) ?? state.derivedNode(user, fileId));
  if (!node || !node.content) return plain(res, 404, "Not Found");
  const content = node.content;
  const size = content.size;
  const etag = `"${node.id}-${size}-${content.crc32()}"`;

  let start = 0;
  let end = size; // exclusive
  let status = 200;
  const range = req.headers.range;
  const ifRange = req.headers["if-range"];
  if (range && !knobs.ignoreRange && (!ifRange || ifRange === etag)) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    // Multi-range and malformed headers are ignored (RFC 9110 allows serving the full body).
    if (m && (m[1] !== "" || m[2] !== "")) {
      if (m[1] === "") {
        start = Math.max(0, size - Number(m[2]));
      } else {
        start = Number(m[1]);
        end = m[2] === "" ? size : Math.min(size, Number(m[2]) + 1);
      }
      if (start >= size || start >= end || (m[1] === "" && Number(m[2]) === 0)) {
        res.writeHead(416, { "Content-Range": `bytes */${size}`, "Content-Length": "0" });
        res.end();
        return;
      }
      status = 206;
    }
  }
  const headers: Record<string, string> = {
    "Content-Type": node.contentType,
    "Content-Length": String(end - start),
    "Accept-Ranges": "bytes",
    ETag: etag,
    // A lone surrogate cannot be UTF-8 encoded: it goes out as U+FFFD, as a UTF-8 server would send it.
    "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(node.name.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"))}`,
  };
  if (status === 206) headers["Content-Range"] = `bytes ${start}-${end - 1}/${size}`;
  const conns = storageStats(knobs);
  const openNow = conns.open.get(sigUser) ?? 0;
  if (req.method !== "HEAD" && knobs.storageMaxConnections !== null && openNow >= knobs.storageMaxConnections) {
    conns.refused++;
    return plain(res, 503, "Too many connections");
  }
  res.writeHead(status, headers);
  if (req.method === "HEAD") return void res.end();
  conns.open.set(sigUser, openNow + 1);
  conns.peak = Math.max(conns.peak, openNow + 1);
  res.once("close", () => conns.open.set(sigUser, (conns.open.get(sigUser) ?? 1) - 1));

  const bodyLength = end - start;
  let cutAt: number | null = null;
  if (knobs.cutDownloadAfterBytes !== null && knobs.cutDownloadAfterBytes < bodyLength && (knobs.cutsRemaining ?? 1) > 0) {
    cutAt = knobs.cutDownloadAfterBytes;
    if (knobs.cutsRemaining !== null) knobs.cutsRemaining--;
  }
  let stallAt: number | null = null;
  if (knobs.stallDownloadAfterBytes !== null && knobs.stallDownloadAfterBytes < bodyLength && (knobs.stallsRemaining ?? 1) > 0) {
    stallAt = knobs.stallDownloadAfterBytes;
    if (knobs.stallsRemaining !== null) knobs.stallsRemaining--;
  }
  const limit = Math.min(bodyLength, cutAt ?? Infinity, stallAt ?? Infinity);

  // Big writes when unthrottled (fewer allocations, callbacks and syscalls: the emulator must not be
  // what a benchmark measures); small ones under the bandwidth knob so its pacing stays smooth.
  const paced = !!(knobs.bandwidthPerConnection || knobs.storageLinkBytesPerSec);
  const CHUNK = paced ? 64 * 1024 : 1024 * 1024;
  // Pacing on timelines (when this connection and the link may carry their next byte), not by
  // sleeping after each chunk: late timers then never add up to a rate below the caps, and an
  // idle moment earns no burst above them.
  let connFreeAt = performance.now();
  let sent = 0;
  let aborted = false;
  const closed = new Promise<void>((resolve) =>
    res.once("close", () => {
      aborted = true;
      resolve();
    }),
  );
  // Two buffers used in turn: one is being written to the socket while the other fills; a buffer is
  // reused only after its write callback (the socket is done with it).
  const buffers = [Buffer.allocUnsafe(Math.min(CHUNK, limit)), Buffer.allocUnsafe(Math.min(CHUNK, limit))];
  const inFlight: Array<Promise<void> | null> = [null, null];
  for (let turn = 0; sent < limit && !aborted; turn ^= 1) {
    if (inFlight[turn]) await Promise.race([inFlight[turn], closed]);
    if (aborted) break;
    const n = Math.min(CHUNK, limit - sent);
    const chunk = content.readInto(buffers[turn], start + sent, start + sent + n);
    sent += n;
    const flushed = new Promise<void>((resolve) => res.write(chunk, () => resolve()));
    inFlight[turn] = flushed;
    // Before a cut, wait until the bytes reached the socket so exactly cutAt bytes arrive.
    if (sent === cutAt) await Promise.race([flushed, closed]);
    else if (res.writableNeedDrain) await Promise.race([new Promise((resolve) => res.once("drain", resolve)), closed]);
    if (paced) {
      const now = performance.now();
      let due = now;
      const bw = knobs.bandwidthPerConnection;
      if (bw) due = connFreeAt = Math.max(now, connFreeAt) + (n / bw) * 1000;
      const link = knobs.storageLinkBytesPerSec;
      // Each chunk books its time on the shared link in turn: connections share it fairly.
      if (link) due = Math.max(due, (conns.linkFreeAt = Math.max(now, conns.linkFreeAt) + (n / link) * 1000));
      if (due > now) await Promise.race([new Promise((resolve) => setTimeout(resolve, due - now)), closed]);
    }
  }
  if (aborted) return;
  if (sent === bodyLength) return void res.end();
  if (cutAt !== null && sent === cutAt) {
    // Abrupt cut mid-body: the client sees a premature close, not a clean end.
    res.destroy();
    return;
  }
  stalledResponses.add(res);
  res.on("close", () => stalledResponses.delete(res));
}
