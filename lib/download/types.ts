/** The download engine's shapes: what it downloads, its options, what it reports and what it needs. */
import type { PutioClient } from "../client";
import type { LocalFs } from "../local/fs";
import type { FileMark } from "../local/place";
import type { OwnershipLedger } from "../local/ownership";
import type { BandwidthLimiter } from "./limiter";
import type { Clock } from "../core/clock";
import type { Semaphore } from "../core/semaphore";

/** The fields of a put.io file the engine needs (a putio-files output object has them all). */
export interface RemoteFile {
  id: number;
  name: string;
  size: number;
  crc32?: string | null;
  file_type?: string;
  extension?: string | null;
  created_at?: string | null;
  parent_id?: number | null;
  /**
   * "mp4": the file's MP4 version (put.io's conversion), fetched from its own address; its size is
   * the MP4's and it has no CRC32 (put.io gives none), so it is verified by size.
   */
  variant?: "mp4";
}

/** What to do when the final name already exists locally. */
export type CollisionPolicy = "skip-identical" | "overwrite" | "keep-both";

export interface EngineOptions {
  /**
   * Parallel ranges per file above the segment threshold; "auto": as many as raise the throughput
   * (connections.ts), at most maxConnectionsPerFile, and within the account's connection budget.
   */
  connectionsPerFile: number | "auto";
  /** The most connections "auto" opens for one file. */
  maxConnectionsPerFile: number;
  /** The most connections "auto" opens for all files of an account together (each file gets one anyway). */
  maxConnectionsPerAccount: number;
  /** Files at least this big are fetched in several ranges. */
  segmentThreshold: number;
  /** No byte for this long = a stalled connection: reconnect and resume. */
  stallMs: number;
  /** Consecutive failed attempts (without progress) per range before the file fails. */
  retries: number;
  /**
   * After the retries, keep trying (every backoffMaxMs) while the failures last less than this:
   * an outage of put.io's storage or of the home line waits instead of failing the job. 0 = off.
   */
  outageWaitMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Full re-downloads after a checksum mismatch before failing. */
  integrityRetries: number;
  /** How often the resume state is saved while bytes arrive. */
  checkpointMs: number;
  /** Smallest interval between two progress reports of one file. */
  progressMs: number;
  /**
   * Memory for received bytes on their way to disk, per file, shared by its ranges (see writePlan).
   * Bigger batches cost fewer syscalls and thread hand-offs: 2 MiB batches instead of 256 KiB made
   * a single stream about 1.5× faster on 2 cores (bench P1).
   */
  writeBufferBytes: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  connectionsPerFile: "auto",
  maxConnectionsPerFile: 16,
  maxConnectionsPerAccount: 16,
  segmentThreshold: 64 * 1024 * 1024,
  stallMs: 30_000,
  retries: 10,
  outageWaitMs: 0,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  integrityRetries: 1,
  checkpointMs: 2_000,
  progressMs: 1_000,
  writeBufferBytes: 10 * 1024 * 1024,
};

export interface DownloadProgress {
  fileId: number;
  name: string;
  putioPath: string;
  path: string;
  bytes: number;
  size: number;
  percent: number;
  bytesPerSecond: number;
  /** Set while the file's last attempt failed and the next one is being waited for. */
  retrying?: RetryInfo;
}

/** A failed attempt of a file, as the engine waits for the next one. */
export interface RetryInfo {
  /** Consecutive failed attempts (without progress) of the worst range. */
  attempt: number;
  /** Attempts before the file fails, unless the outage wait keeps it going. */
  of: number;
  /** Since when the attempts fail (ms since the epoch of the engine's clock). */
  failingSinceMs: number;
  /** How long failures are waited out at most (0 = not at all). */
  outageWaitMs: number;
}

export interface FileResult {
  status: "downloaded" | "skipped-identical";
  fileId: number;
  name: string;
  /** Path on put.io relative to the job's source ("Show/S01/e1.mkv"). */
  putioPath: string;
  /** Absolute local path. */
  path: string;
  size: number;
  crc32: string | null;
  seconds: number;
  bytesPerSecond: number;
  /** True when earlier bytes on disk were reused (after a restart, a cut or a stall). */
  resumed: boolean;
  /** Bytes taken from an existing .part at start (a restart). */
  resumedBytes: number;
  /** Reconnects and integrity retries it took. */
  retries: number;
  /** "mp4" when the file is put.io's MP4 version of the video (verified by size only). */
  variant?: "mp4";
  /** The local file as the job left it, and why its bytes are put.io's (the proof a delete needs). */
  local?: LocalProof;
  /** A file that is not this package's was at the planned name and was kept; this file went beside it. */
  kept?: string;
}

/**
 * Proof that a local file holds a put.io file's bytes: the file (device, inode, size, mtime, ctime)
 * as the job left it, the CRC32 of its bytes, and why they are put.io's: "crc" the CRC32 equals
 * put.io's; "written" put.io gives none and this job wrote these bytes from put.io; "fetched" put.io
 * gives none and the bytes fetched from put.io in this job equal these; "owned" put.io gives none
 * and this package wrote them in an earlier job (not enough for a delete: the file on put.io may
 * have changed since).
 */
export interface LocalProof extends FileMark {
  crc32: string;
  basis: "crc" | "written" | "fetched" | "owned";
}

export interface EngineContext {
  client: PutioClient;
  fs: LocalFs;
  clock: Clock;
  limiter: BandwidthLimiter;
  /** Connections of "auto" files of the account (maxConnectionsPerAccount). */
  connectionBudget?: Semaphore;
  /** The count the account's last "auto" file settled at: where the next one starts (0: none yet). */
  learnedConnections?: { count: number };
  options: EngineOptions;
  /** CRCs of local files already hashed, by identity and marks (`dev:ino|size|mtimeMs|ctimeMs`) → hex. */
  localCrcCache: Map<string, string>;
  /** What this package wrote (lib/local/ownership.ts): the only files it may replace. */
  ledger: OwnershipLedger;
}

export interface FileJobOptions {
  ifExists: CollisionPolicy;
  putioPath: string;
  signal: AbortSignal;
  /** The local name the job planned (planLocalNames); default: the sanitised remote name. */
  localName?: string;
  /** The job deletes on put.io after: "identical" needs proof by bytes fetched now where put.io gives no CRC32. */
  needProof?: boolean;
  /** Local paths other files of the same job will use: never taken as a keep-both name. */
  reserved?: (localPath: string) => boolean;
  onProgress?: (p: DownloadProgress) => void;
}
