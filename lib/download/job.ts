/**
 * What a download job is (its source, target, policies and hooks) and what it reports, for the
 * scheduler, the planner and the nodes.
 */
import type { FileFilter } from "../domains/filters";
import type { ExtractStatus } from "../media-jobs/extraction";
import type { CollisionPolicy, DownloadProgress, FileResult, RemoteFile } from "./types";
import { DEFAULT_ENGINE_OPTIONS } from "./types";

export interface DownloadLimits {
  /** Files downloading at once for the whole account. */
  filesAtOnce: number;
  /** A number, or "auto": as many as raise the throughput (EngineOptions.connectionsPerFile). */
  connectionsPerFile: number | "auto";
  segmentThreshold: number;
  /** Bytes per second for the whole account; null/0 = unlimited. */
  bandwidth: number | null;
  /** Local time window without the cap ("01:00-07:00"). */
  unlimitedWindow: string | null;
  /** How long a download waits for put.io to come back before it fails (EngineOptions.outageWaitMs). */
  outageWaitMs?: number;
}

export const DEFAULT_LIMITS: DownloadLimits = {
  filesAtOnce: 2,
  connectionsPerFile: DEFAULT_ENGINE_OPTIONS.connectionsPerFile,
  segmentThreshold: DEFAULT_ENGINE_OPTIONS.segmentThreshold,
  bandwidth: null,
  unlimitedWindow: null,
};

/**
 * What a job downloads. A `file` object is read from put.io again first (one from a msg may be
 * stale), unless `current`: the caller listed it from put.io a moment ago (a sync run).
 */
export type DownloadSource = { fileId: number | string } | { folderId: number | string } | { file: RemoteFile; current?: boolean } | { path: string };

/** "Extract the archives on put.io first": what a job asks for. */
export interface ExtractFirst {
  /** The archives' password; never logged, kept or put in an error. */
  password?: string;
  /** Also download the archive volumes (default: skip them; skipped volumes stay on put.io, never deleted). */
  keepArchives?: boolean;
  /** The extraction this job already ran (a resumed job): put.io is not asked to extract again. */
  done?: ExtractionDone | null;
  /** Called once put.io finished extracting, before any download (keep it to resume without extracting twice). */
  onExtracted?: (done: ExtractionDone) => void;
  onStatus?: (s: ExtractStatus) => void;
  /** First delay between checks of put.io's extraction list (tests shorten it). */
  pollMs?: number;
}

/** What an extraction produced, as plain JSON (journals keep it). */
export interface ExtractionDone {
  /** The archives extracted (first volumes' names). */
  archives: string[];
  /** Every volume of those archives. */
  partIds: number[];
  /** What appeared directly beside the archives (files and folders). */
  topIds: number[];
}

/** A listed file offered to DownloadJob.choose. */
export interface PlanCandidate {
  file: RemoteFile;
  putioPath: string;
  /** The folders between the job's source and the file (the source's own name not among them). */
  within: string[];
}

export interface DownloadJob {
  source: DownloadSource;
  /** Absolute local folder; created when missing. */
  target: string;
  filter?: FileFilter | null;
  /**
   * Chooses among the listed files as a whole (after `filter`, before any write): `keep[i]` false
   * leaves file i out of the job (not downloaded, not in the result, never deleted). For rules
   * that compare files, as "skip the samples beside the main video".
   */
  choose?: (files: ReadonlyArray<PlanCandidate>) => ReadonlyArray<boolean>;
  ifExists?: CollisionPolicy;
  /** Delete the downloaded put.io files once every file of the job is verified. */
  deleteAfter?: { skipTrash?: boolean } | null;
  /** Plan only: nothing is written locally and nothing deleted; the result lists what would be. */
  dryRun?: boolean;
  /** Extract archives on put.io first and download what came out (not with dryRun: extracting changes put.io). */
  extract?: ExtractFirst | null;
  /** Take a video's MP4 version when put.io has one ready (size-verified: put.io gives no CRC32 for it). */
  preferMp4?: boolean;
  signal?: AbortSignal;
  onFile?: (result: FileResult) => void;
  /**
   * Work that needs the job's files still on put.io (their subtitles): runs once every file is
   * verified on disk, before any delete. A throw fails the job, and nothing is deleted.
   */
  afterFiles?: (files: FileResult[], signal: AbortSignal) => Promise<void>;
  onProgress?: (progress: DownloadProgress) => void;
  /** Called once the files to download are known. */
  onPlan?: (files: Array<{ file: RemoteFile; putioPath: string }>) => void;
}

export interface FileFailure {
  fileId: number;
  name: string;
  putioPath: string;
  error: Error;
}

export interface JobResult {
  downloaded: number;
  skipped: number;
  failed: number;
  files: FileResult[];
  errors: FileFailure[];
  /** put.io file ids deleted after verification (empty unless deleteAfter and nothing failed). */
  deletedFileIds: number[];
  bytes: number;
  seconds: number;
  /** What the job was: the folder or file on put.io. */
  source: { id: number; name: string; isFolder: boolean };
  /** With extract: the archives put.io extracted and how many of their volumes were not downloaded. */
  extraction?: { archives: string[]; partsSkipped: number };
  /** Dry runs only: every file the job would download, where it would land, and the deletes. */
  dryRun?: {
    files: Array<{ fileId: number; name: string; putioPath: string; path: string; size: number; localExists: boolean }>;
    wouldDeleteFileIds: number[];
  };
}

/** What an observer of the scheduler sees, per file of every job (progress, done, failed, stopped by an abort). */
export type DownloadSighting =
  | { kind: "progress"; progress: DownloadProgress }
  | { kind: "file"; result: FileResult }
  | { kind: "failed"; fileId: number; name: string; putioPath: string; error: Error }
  | { kind: "stopped"; fileId: number };
