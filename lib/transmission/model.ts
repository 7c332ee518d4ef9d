/**
 * One torrent as this package keeps it (what survives a restart) and as a Transmission client sees
 * it (every torrent-get field the *arr apps, transmission-remote and the common clients read).
 *
 * Progress: 0–50 % while put.io downloads, 50–100 % while the download engine copies it to disk;
 * finished (isFinished, leftUntilDone 0, status stopped) only once every file was verified on disk.
 * Seeding is put.io's: once the files are verified on disk, a torrent put.io still seeds is
 * "seeding" (status 6, leftUntilDone 0: the apps import it) with put.io's ratio and seeding time,
 * and stopped (isFinished) only once put.io stopped seeding or the goal the app set was reached
 * (the node then stops put.io's seeding). The apps remove a torrent only when it is stopped and
 * past its goal, so no seeding on put.io is ended early.
 */

import type { Text } from "../core/texts";

export type Phase = "putio" | "local" | "done" | "failed";

export interface SeedSettings {
  seedRatioLimit?: number;
  seedRatioMode?: number;
  seedIdleLimit?: number;
  seedIdleMode?: number;
}

/** What is kept across restarts, per torrent. */
export interface TorrentRecord {
  /** Transmission's numeric id (never reused within one state). */
  id: number;
  /** Info hash, 40 hex, lower case. */
  hash: string;
  /** The name the app sees: the transfer's name until the files are on disk, then the name on disk. */
  name: string;
  /** "" or the category (relative folder under the session download dir, "/"-separated). */
  category: string;
  /** downloadDir as the app sees it (session download dir + category). */
  downloadDir: string;
  /** The absolute local folder the files land in. */
  localDir: string;
  transferId: number | null;
  /** The put.io file or folder the transfer produced. */
  fileId: number | null;
  phase: Phase;
  /** Why it failed, in English (the app's errorString). */
  error: string | null;
  /** The same as a text by code (the node's msgs show it in the runtime's language). */
  errorText?: Text;
  labels: string[];
  /** Epoch seconds. */
  addedAt: number;
  putioDoneAt: number | null;
  doneAt: number | null;
  size: number;
  fileCount: number;
  /** Absolute path of the top entry on disk (file or folder), once verified. */
  topPath: string | null;
  /** Verified files: path relative to downloadDir and size. */
  files: Array<{ name: string; length: number }>;
  seed: SeedSettings;
  /** Added through RPC, or a put.io transfer offered from a category folder. */
  origin: "rpc" | "adopted";
  /**
   * Files this node wrote (relative to localDir, "/"-separated), as they were when written: the only
   * files a removal with delete-local-data deletes, and only while unchanged (size, mtime, inode).
   * A file that was already there (a user's identical copy) is never in it.
   */
  written?: WrittenFile[];
  /** Folders (relative to localDir) this node created for the copy: removed on removal only if then empty. */
  createdDirs?: string[];
  /** The copy in progress: each put.io file and the folder (relative) its temp files are in. */
  copying?: Array<{ fileId: number; dir: string }>;
  /** put.io's seeding of it, as last seen (stored on each change of state, not of ratio). */
  seeding?: SeedingState;
  /** put.io paths of the samples and extras left on put.io on purpose (skip.ts): not copied, not counted. */
  skipped?: string[];
  /** What put.io extracted for it (extract first), so a restarted copy does not extract twice. */
  extracted?: { archives: string[]; partIds: number[]; topIds: number[] };
}

/** A torrent just added (through RPC, or offered from a category folder), on put.io. */
export function newRecord(o: {
  id: number;
  hash: string;
  name: string;
  place: { category: string; downloadDir: string; localDir: string };
  transferId: number;
  labels: string[];
  origin: TorrentRecord["origin"];
  size?: number;
  fileCount?: number;
  nowSec: number;
}): TorrentRecord {
  return {
    id: o.id,
    hash: o.hash,
    name: o.name,
    category: o.place.category,
    downloadDir: o.place.downloadDir,
    localDir: o.place.localDir,
    transferId: o.transferId,
    fileId: null,
    phase: "putio",
    error: null,
    labels: o.labels,
    addedAt: o.nowSec,
    putioDoneAt: null,
    doneAt: null,
    size: o.size ?? 0,
    fileCount: o.fileCount ?? 1,
    topPath: null,
    files: [],
    seed: {},
    origin: o.origin,
  };
}

/** torrent-set's arguments this server keeps (labels, the seeding goals) applied to a torrent; bad labels are refused first. */
export function checkTorrentSet(args: Record<string, unknown>): (r: TorrentRecord) => void {
  const labels = args.labels;
  if (labels !== undefined && (!Array.isArray(labels) || labels.length > 100 || !labels.every((l) => typeof l === "string" && l.length <= 256))) {
    throw new TypeError("labels must be a list of short strings");
  }
  return (r) => {
    if (labels) r.labels = [...(labels as string[])];
    for (const k of ["seedRatioLimit", "seedRatioMode", "seedIdleLimit", "seedIdleMode"] as const) {
      const v = args[k];
      if (typeof v === "number" && Number.isFinite(v)) r.seed[k] = v;
    }
  };
}

/** A verified copy's files made the torrent's: done, named by its one top entry on disk (the name the app joins to downloadDir). */
export function markDone(r: TorrentRecord, files: TorrentRecord["files"], top: string | null, topPath: string | null, nowSec: number): void {
  if (top !== null) {
    r.name = top;
    r.topPath = topPath;
  }
  r.files = files;
  r.fileCount = files.length;
  r.size = files.reduce((n, f) => n + f.length, 0);
  r.phase = "done";
  r.error = null;
  delete r.errorText;
  delete r.copying;
  r.doneAt = nowSec;
}

export interface SeedingState {
  /** put.io stopped seeding it (by itself, or asked to at the goal). */
  stopped: boolean;
  /** put.io's upload ratio, uploaded bytes and seconds seeding, as seen at `at` (epoch seconds). */
  ratio: number;
  uploaded: number;
  seconds: number;
  at: number;
}

/** Seconds seeding now: put.io's figure, carried forward while it still seeds. */
export function secondsSeeding(s: SeedingState | undefined, now: number): number {
  if (!s) return 0;
  return s.stopped ? s.seconds : s.seconds + Math.max(0, now - s.at);
}

/** The goal the app set (torrent-set, mode 1) is reached: put.io's seeding may stop. */
export function seedGoalReached(r: TorrentRecord, now: number): boolean {
  const s = r.seeding;
  if (!s || s.stopped) return false;
  const { seedRatioMode, seedRatioLimit, seedIdleMode, seedIdleLimit } = r.seed;
  if (seedRatioMode === 1 && typeof seedRatioLimit === "number" && s.ratio >= seedRatioLimit) return true;
  return seedIdleMode === 1 && typeof seedIdleLimit === "number" && secondsSeeding(s, now) > seedIdleLimit * 60;
}

export function isSeeding(r: TorrentRecord): boolean {
  return r.phase === "done" && !!r.seeding && !r.seeding.stopped;
}

export interface WrittenFile {
  name: string;
  length: number;
  mtimeMs: number;
  ino: number;
}

/** What changes too often to be stored: put.io's and the engine's live progress. */
export interface LiveProgress {
  /** put.io status as last seen (IN_QUEUE, DOWNLOADING, …). */
  putioStatus: string | null;
  /** 0–100 on put.io. */
  putioPercent: number;
  putioSpeed: number;
  putioEta: number | null;
  /** Bytes on disk of the local copy (verified or in progress). */
  localBytes: number;
  localSpeed: number;
  /** Epoch seconds of the last change. */
  activityAt: number;
}

export const emptyLive = (): LiveProgress => ({
  putioStatus: null,
  putioPercent: 0,
  putioSpeed: 0,
  putioEta: null,
  localBytes: 0,
  localSpeed: 0,
  activityAt: 0,
});

/** Transmission's status codes (rpc-spec). */
export const STATUS = { stopped: 0, checkWait: 1, check: 2, downloadWait: 3, download: 4, seedWait: 5, seed: 6 } as const;
/** Transmission's error codes: 3 = local error (the apps show errorString either way). */
export const ERROR_LOCAL = 3;

/** put.io statuses that mean "not started yet": shown as queued. */
const QUEUED = new Set(["IN_QUEUE", "WAITING", "PREPARING_DOWNLOAD"]);

/** 0..1 */
export function percentDone(r: TorrentRecord, live: LiveProgress): number {
  if (r.phase === "done") return 1;
  if (r.phase === "putio") return Math.min(0.5, Math.max(0, live.putioPercent) / 200);
  const local = r.size > 0 ? Math.min(1, live.localBytes / r.size) : 0;
  // Never 1 before the files are verified.
  return Math.min(0.999, 0.5 + local / 2);
}

export function statusOf(r: TorrentRecord, live: LiveProgress): number {
  if (isSeeding(r)) return STATUS.seed;
  if (r.phase === "done" || r.phase === "failed") return STATUS.stopped;
  if (r.phase === "putio" && (live.putioStatus === null || QUEUED.has(live.putioStatus))) return STATUS.downloadWait;
  return STATUS.download;
}

export function leftUntilDone(r: TorrentRecord, live: LiveProgress): number {
  if (r.phase === "done") return 0;
  // At least one byte left until verified: a client must never see "0 left" early.
  return Math.max(1, Math.round(r.size * (1 - percentDone(r, live))));
}

/** Every field this server knows, computed lazily: only what was asked for is built. */
export function fieldGetters(r: TorrentRecord, live: LiveProgress, now: number): Record<string, () => unknown> {
  const pct = () => percentDone(r, live);
  const left = () => leftUntilDone(r, live);
  const done = r.phase === "done";
  const eta = (): number => {
    if (done || r.phase === "failed") return -1;
    if (r.phase === "putio") return live.putioEta ?? -1;
    const rest = r.size - live.localBytes;
    return live.localSpeed > 0 && rest > 0 ? Math.ceil(rest / live.localSpeed) : -1;
  };
  const have = () => r.size - left();
  const files = () => (done && r.files.length ? r.files : [{ name: r.name, length: r.size }]);
  const rate = () => (r.phase === "putio" ? live.putioSpeed : r.phase === "local" ? live.localSpeed : 0);
  const seeding = isSeeding(r);
  // The goals the app set are read back as it set them while the torrent downloads or put.io
  // seeds it. Once put.io stopped seeding nothing more can be uploaded: the torrent follows the
  // session's limits (mode 0), which a stopped torrent has reached, so the app may remove it.
  const seed = (k: keyof SeedSettings, dflt: number) => () => (done && !seeding && (k === "seedRatioMode" || k === "seedIdleMode") ? 0 : (r.seed[k] ?? dflt));
  return {
    id: () => r.id,
    hashString: () => r.hash,
    name: () => r.name,
    downloadDir: () => r.downloadDir,
    labels: () => r.labels,
    status: () => statusOf(r, live),
    error: () => (r.phase === "failed" ? ERROR_LOCAL : 0),
    errorString: () => (r.phase === "failed" ? (r.error ?? "failed") : ""),
    // Transmission's isFinished: the download is complete and seeding has stopped.
    isFinished: () => done && !seeding,
    isStalled: () => false,
    isPrivate: () => false,
    totalSize: () => r.size,
    sizeWhenDone: () => r.size,
    leftUntilDone: left,
    desiredAvailable: () => (done ? 0 : left()),
    haveValid: have,
    haveUnchecked: () => 0,
    percentDone: pct,
    percentComplete: pct,
    metadataPercentComplete: () => (r.size > 0 ? 1 : 0),
    recheckProgress: () => 0,
    eta,
    etaIdle: () => -1,
    rateDownload: rate,
    rateUpload: () => 0,
    downloadedEver: () => (done ? r.size : have()),
    uploadedEver: () => r.seeding?.uploaded ?? 0,
    corruptEver: () => 0,
    uploadRatio: () => r.seeding?.ratio ?? 0,
    seedRatioLimit: seed("seedRatioLimit", 0),
    seedRatioMode: seed("seedRatioMode", 0),
    seedIdleLimit: seed("seedIdleLimit", 0),
    seedIdleMode: seed("seedIdleMode", 0),
    addedDate: () => r.addedAt,
    startDate: () => r.addedAt,
    doneDate: () => r.doneAt ?? 0,
    activityDate: () => Math.max(live.activityAt, r.doneAt ?? 0, r.addedAt),
    editDate: () => r.addedAt,
    dateCreated: () => r.addedAt,
    secondsDownloading: () => Math.max(0, (r.doneAt ?? now) - r.addedAt),
    secondsSeeding: () => secondsSeeding(r.seeding, now),
    fileCount: () => files().length,
    "file-count": () => files().length,
    files: () => files().map((f) => ({ name: f.name, length: f.length, bytesCompleted: done ? f.length : 0 })),
    fileStats: () => files().map((f) => ({ bytesCompleted: done ? f.length : 0, wanted: true, priority: 0 })),
    priorities: () => files().map(() => 0),
    wanted: () => files().map(() => 1),
    peers: () => [],
    peersFrom: () => ({ fromCache: 0, fromDht: 0, fromIncoming: 0, fromLpd: 0, fromLtep: 0, fromPex: 0, fromTracker: 0 }),
    peersConnected: () => 0,
    peersGettingFromUs: () => 0,
    peersSendingToUs: () => 0,
    "peer-limit": () => 50,
    maxConnectedPeers: () => 50,
    webseeds: () => [],
    webseedsSendingToUs: () => 0,
    trackers: () => [],
    trackerStats: () => [],
    trackerList: () => "",
    queuePosition: () => r.id,
    bandwidthPriority: () => 0,
    honorsSessionLimits: () => true,
    downloadLimit: () => 0,
    downloadLimited: () => false,
    uploadLimit: () => 0,
    uploadLimited: () => false,
    manualAnnounceTime: () => -1,
    magnetLink: () => `magnet:?xt=urn:btih:${r.hash}&dn=${encodeURIComponent(r.name)}`,
    comment: () => "",
    creator: () => "",
    source: () => "",
    group: () => "",
    pieceCount: () => 0,
    pieceSize: () => 0,
    pieces: () => "",
    sequentialDownload: () => false,
    torrentFile: () => "",
    "primary-mime-type": () => "application/octet-stream",
  };
}
