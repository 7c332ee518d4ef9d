/**
 * A Transmission node's torrents as the editor's sidebar shows them: one plain, read-only status
 * per torrent (its phase, put.io's and the local copy's progress, put.io's seeding against the
 * app's goal, why it failed, what a removal still has to clean on put.io), built from the
 * manager's records, live progress and pending clean-ups without changing any of them.
 *
 * Plain data for a publisher that speaks once a second: nothing in it moves with the clock alone
 * (seeding time is put.io's figure as last seen), so an unchanged torrent gives an unchanged status.
 * No local absolute path: names are relative already, and error texts have the download folder cut
 * out (any other absolute path is shortened to its last segment).
 */
import * as path from "node:path";
import { mapStrings, type Text } from "../core/texts";
import { STATUS, statusOf, type LiveProgress, type TorrentRecord } from "./model";
import type { PendingCleanup } from "./types";

export type TorrentPhase = "waiting" | "downloading" | "copying" | "verifying" | "seeding" | "finished" | "failed" | "removing";

export interface TorrentSeedStatus {
  /** put.io stopped seeding (by itself, or asked to at the goal). */
  stopped: boolean;
  ratio: number;
  uploaded: number;
  /** Seconds seeding as put.io last said. */
  seconds: number;
  /** The app's goals (torrent-set, mode 1); null: none set. */
  goalRatio: number | null;
  goalMinutes: number | null;
}

export interface TorrentCleanupStatus {
  /** put.io files (or folders) still to go. */
  files: number;
  /** To put.io's trash (false: deleted for good). */
  trash: boolean;
  /** The put.io transfer still to remove (finished) or cancel (not finished); null: none left. */
  transfer: "remove" | "cancel" | null;
  attempts: number;
  /** Epoch ms of the removal. */
  since: number;
}

export interface TorrentStatus {
  /** Transmission's id (a removed torrent keeps it while its clean-up is pending). */
  id: number;
  name: string;
  category: string;
  phase: TorrentPhase;
  /** put.io's percent, 0–100 (100 once put.io is done). */
  putioPercent: number;
  /** The local copy: bytes on disk (verified or in progress) of `size`. */
  localBytes: number;
  size: number;
  /** Bytes per second of what runs now (put.io's download, or the local copy); 0 otherwise. */
  bytesPerSecond: number;
  /** Seconds left of what runs now; null when unknown. */
  eta: number | null;
  seeding: TorrentSeedStatus | null;
  /** Failed: why. Removing: why put.io has not taken the clean-up yet (null: not tried yet). */
  error: Text | string | null;
  cleanup: TorrentCleanupStatus | null;
  /** Epoch seconds of the last change seen (the order among equals). */
  at: number;
}

export interface StatusListOptions {
  /** The node's local download folder (cut out of texts). */
  localRoot: string;
  /** At most this many, running ones first, then the most recent (default 20). */
  max?: number;
}

/** The torrents of one node, running first, then the most recent; `total` counts all of them. */
export function statusList(
  records: Iterable<TorrentRecord>,
  liveOf: (id: number) => LiveProgress | undefined,
  cleanups: ReadonlyArray<Readonly<PendingCleanup>>,
  opts: StatusListOptions,
): { total: number; torrents: TorrentStatus[] } {
  const hide = (s: string) => hideLocalPaths(s, opts.localRoot);
  const all: TorrentStatus[] = [];
  for (const r of records) all.push(torrentStatus(r, liveOf(r.id), hide));
  for (const c of cleanups) all.push(cleanupStatus(c, hide));
  all.sort((a, b) => Number(running(b)) - Number(running(a)) || b.at - a.at || b.id - a.id);
  return { total: all.length, torrents: all.slice(0, Math.max(0, opts.max ?? 20)) };
}

const running = (s: TorrentStatus) => s.phase !== "seeding" && s.phase !== "finished" && s.phase !== "failed";
const num = (n: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number =>
  typeof n === "number" && Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : min;

function torrentStatus(r: TorrentRecord, live: LiveProgress | undefined, hide: (s: string) => string): TorrentStatus {
  const size = num(r.size);
  const localBytes = r.phase === "done" ? size : Math.min(size, num(live?.localBytes));
  let phase: TorrentPhase;
  if (r.phase === "putio") phase = live && statusOf(r, live) !== STATUS.downloadWait ? "downloading" : "waiting";
  // Every byte written and the torrent not yet done: the last checks run (CRC32, on disk at its size).
  else if (r.phase === "local") phase = size > 0 && localBytes >= size ? "verifying" : "copying";
  else if (r.phase === "done") phase = r.seeding && !r.seeding.stopped ? "seeding" : "finished";
  else phase = "failed";
  const speed = phase === "downloading" ? num(live?.putioSpeed) : phase === "copying" ? num(live?.localSpeed) : 0;
  let eta: number | null = null;
  if (phase === "downloading" && typeof live?.putioEta === "number" && live.putioEta >= 0) eta = live.putioEta;
  else if (phase === "copying" && speed > 0) eta = Math.ceil((size - localBytes) / speed);
  const s = r.seeding;
  const goal = (mode: number | undefined, limit: number | undefined) => (mode === 1 && typeof limit === "number" && Number.isFinite(limit) ? limit : null);
  return {
    id: r.id,
    name: r.name,
    category: r.category,
    phase,
    putioPercent: r.phase === "putio" ? num(live?.putioPercent, 0, 100) : r.fileId !== null ? 100 : num(live?.putioPercent, 0, 100),
    localBytes,
    size,
    bytesPerSecond: speed,
    eta,
    seeding: s
      ? {
          stopped: s.stopped,
          ratio: num(s.ratio),
          uploaded: num(s.uploaded),
          seconds: num(s.seconds),
          goalRatio: goal(r.seed.seedRatioMode, r.seed.seedRatioLimit),
          goalMinutes: goal(r.seed.seedIdleMode, r.seed.seedIdleLimit),
        }
      : null,
    error: r.phase === "failed" ? hideIn(r.errorText ?? r.error ?? null, hide) : null,
    cleanup: null,
    at: Math.max(num(live?.activityAt), num(r.doneAt), num(r.putioDoneAt), num(r.addedAt)),
  };
}

function cleanupStatus(c: Readonly<PendingCleanup>, hide: (s: string) => string): TorrentStatus {
  const r = c.record;
  const at = Math.floor(num(c.since) / 1000);
  return {
    id: r.id,
    name: r.name,
    category: r.category,
    phase: "removing",
    putioPercent: r.fileId !== null ? 100 : 0,
    localBytes: 0,
    size: num(r.size),
    bytesPerSecond: 0,
    eta: null,
    seeding: null,
    error: hideIn(c.errorText ?? c.error, hide),
    cleanup: {
      files: c.fileIds.length,
      trash: !c.skipTrash,
      transfer: c.removeTransferId !== null ? "remove" : c.cancelTransferId !== null ? "cancel" : null,
      attempts: num(c.attempts),
      since: num(c.since),
    },
    at,
  };
}

function hideIn(text: Text | string | null, hide: (s: string) => string): Text | string | null {
  if (text === null) return null;
  return typeof text === "string" ? hide(text) : mapStrings(text, hide);
}

/**
 * An absolute path in a text, POSIX or Windows (two segments at least), up to a space, a quote or
 * the end: a separator that does not follow a name character (`tv/x.mkv` is relative, kept).
 */
const ABSOLUTE = /(?<![\w.~-])(?:[A-Za-z]:)?[\\/][^\s"'`()<>|]*[\\/][^\s"'`()<>|]*/g;

/**
 * The text with the download folder cut out (`<root>/tv/x.mkv` → `tv/x.mkv`) and any other absolute
 * path shortened to `…/<last segment>`: the sidebar is for the editor's users, who need not learn
 * the host's folders.
 */
export function hideLocalPaths(text: string, localRoot: string): string {
  let out = text;
  const root = path.resolve(localRoot);
  if (root !== path.parse(root).root) {
    // Until none is left: taking one out may join two halves of another.
    while (out.includes(root)) {
      for (const r of new Set([root + path.sep, root + "/"])) out = out.split(r).join("");
      out = out.split(root).join(".");
    }
  }
  return out.replace(ABSOLUTE, (p) => `…/${p.split(/[\\/]/).filter(Boolean).pop() ?? ""}`);
}
