/**
 * The session Transmission clients read and set (session-get, session-set, free-space): the
 * daemon's fields with this endpoint's fixed values (version, download dir), and the values an
 * app sets kept as they are (they change nothing on put.io).
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { LiveProgress, TorrentRecord } from "./model";
import { posixDir } from "./placement";
import { RpcError } from "./rpc";

/** The version the apps read: Sonarr and Radarr want ≥ 2.40 and use labels from 4.0 on. */
export const SERVER_VERSION = "4.0.6 (put.io)";
export const RPC_VERSION = 17;

/** session-get's arguments. */
export function sessionArguments(values: Record<string, unknown>, o: { sessionDir: string; localRoot: string; sessionId: string }): Record<string, unknown> {
  const free = -1;
  return {
    "alt-speed-down": 50,
    "alt-speed-enabled": false,
    "alt-speed-time-begin": 540,
    "alt-speed-time-day": 127,
    "alt-speed-time-enabled": false,
    "alt-speed-time-end": 1020,
    "alt-speed-up": 50,
    "blocklist-enabled": false,
    "blocklist-size": 0,
    "blocklist-url": "",
    "cache-size-mb": 4,
    "dht-enabled": false,
    encryption: "preferred",
    "idle-seeding-limit": 0,
    "idle-seeding-limit-enabled": false,
    "incomplete-dir": o.sessionDir,
    "incomplete-dir-enabled": false,
    "lpd-enabled": false,
    "peer-limit-global": 200,
    "peer-limit-per-torrent": 50,
    "peer-port": 51413,
    "peer-port-random-on-start": false,
    "pex-enabled": false,
    "port-forwarding-enabled": false,
    "queue-stalled-enabled": false,
    "queue-stalled-minutes": 30,
    "rename-partial-files": true,
    "script-torrent-added-enabled": false,
    "script-torrent-added-filename": "",
    "script-torrent-done-enabled": false,
    "script-torrent-done-filename": "",
    "script-torrent-done-seeding-enabled": false,
    "script-torrent-done-seeding-filename": "",
    "seed-queue-enabled": false,
    "seed-queue-size": 10,
    "speed-limit-down": 100,
    "speed-limit-down-enabled": false,
    "speed-limit-up": 100,
    "speed-limit-up-enabled": false,
    "start-added-torrents": true,
    "trash-original-torrent-files": false,
    "utp-enabled": false,
    "download-queue-enabled": false,
    "download-queue-size": 5,
    "default-trackers": "",
    units: {
      "memory-bytes": 1024,
      "memory-units": ["KiB", "MiB", "GiB", "TiB"],
      "size-bytes": 1000,
      "size-units": ["kB", "MB", "GB", "TB"],
      "speed-bytes": 1000,
      "speed-units": ["kB/s", "MB/s", "GB/s", "TB/s"],
    },
    ...values,
    // Seeding is put.io's: a finished torrent has reached every limit (the apps may remove it).
    seedRatioLimit: 0,
    seedRatioLimited: true,
    "download-dir": o.sessionDir,
    "download-dir-free-space": free,
    "config-dir": o.localRoot,
    "rpc-version": RPC_VERSION,
    "rpc-version-minimum": 14,
    "rpc-version-semver": "5.3.0",
    version: SERVER_VERSION,
    "session-id": o.sessionId,
  };
}

/** session-set: keeps what may be kept in `values`; true when something changed. The download dir is the node's. */
export function keepSessionValues(values: Record<string, unknown>, args: Record<string, unknown>, sessionDir: string): boolean {
  const dir = args["download-dir"];
  if (dir !== undefined && (typeof dir !== "string" || posixDir(dir) !== sessionDir)) {
    throw new RpcError(`download-dir is set in the Node-RED node ("${sessionDir}"); use a category below it`);
  }
  const fixed = new Set(["download-dir", "rpc-version", "rpc-version-minimum", "rpc-version-semver", "version", "session-id", "config-dir", "units"]);
  let changed = false;
  for (const [k, v] of Object.entries(args)) {
    if (fixed.has(k) || k === "__proto__" || k.length > 64) continue;
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) {
      values[k] = v;
      changed = true;
    }
  }
  return changed;
}

/** free-space of a folder below the session dir: the nearest existing folder of its local equivalent. */
export async function freeSpace(sessionDir: string, localRoot: string, p: string): Promise<{ path: string; "size-bytes": number; total_size: number }> {
  const rel = path.posix.relative(sessionDir, posixDir(p));
  if (rel === ".." || rel.startsWith("../") || path.posix.isAbsolute(rel)) throw new RpcError(`"${p}" is outside the download folder "${sessionDir}"`);
  // The nearest existing folder of the local equivalent.
  let local = path.join(localRoot, ...(rel ? rel.split("/") : []));
  for (;;) {
    try {
      const s = await fsp.statfs(local);
      return { path: p, "size-bytes": s.bavail * s.bsize, total_size: s.blocks * s.bsize };
    } catch (err) {
      const parent = path.dirname(local);
      if (parent === local || (err as NodeJS.ErrnoException).code !== "ENOENT") throw new RpcError(`free-space: ${(err as Error).message}`);
      local = parent;
    }
  }
}

/** session-stats: counts and the download speed (put.io's while on put.io, the copy's after); nothing is uploaded here. */
export function sessionStats(records: Iterable<TorrentRecord>, liveOf: (id: number) => LiveProgress): Record<string, unknown> {
  let total = 0;
  let active = 0;
  let down = 0;
  for (const r of records) {
    total++;
    if (r.phase === "putio" || r.phase === "local") active++;
    const l = liveOf(r.id);
    down += r.phase === "putio" ? l.putioSpeed : r.phase === "local" ? l.localSpeed : 0;
  }
  const zero = { uploadedBytes: 0, downloadedBytes: 0, filesAdded: 0, sessionCount: 1, secondsActive: 0 };
  return {
    activeTorrentCount: active,
    pausedTorrentCount: total - active,
    torrentCount: total,
    downloadSpeed: down,
    uploadSpeed: 0,
    "cumulative-stats": zero,
    "current-stats": zero,
  };
}
