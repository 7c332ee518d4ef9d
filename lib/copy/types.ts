/** What a copy job is asked (its options) and what it reports (progress and summary). */
import type { PutioClient } from "../client";
import type { Text } from "../core/texts";
import type { CopyLedger } from "./journal";
import type { TransferWaiter } from "./wait";

export interface CopyOptions {
  from: PutioClient;
  to: PutioClient;
  /** A file or folder of the source account (0: everything in its root). */
  sourceId: number;
  /** The folder of the target account the copy goes into. */
  targetFolderId: number;
  /** Files copied at once (transfers of this job active on the target); default 4. */
  concurrency?: number;
  /** How a transfer on the target is waited for (default: polling it with backoff). */
  waitFor?: TransferWaiter;
  /** Attempts to add a transfer while the target refuses more (default 8), with backoff between. */
  addAttempts?: number;
  /** Backoff bounds between those attempts, ms (default 2 s .. 60 s). */
  addBackoffMs?: { base: number; max: number };
  onProgress?: (p: CopyProgress) => void;
  signal?: AbortSignal;
  /**
   * Where the job keeps which target transfer and file carry which source file (journal.ts). With
   * it, an abort leaves the job's transfers to a resumed job or a re-run, which adopts them; without
   * it, an abort cancels them.
   */
  journal?: CopyLedger;
}

export interface CopyProgress {
  /** Files of the job. */
  total: number;
  /** Files finished (copied, skipped or failed). */
  done: number;
  /** Transfers of this job active on the target now. */
  active: number;
  copied: number;
  skipped: number;
  failed: number;
}

export interface CopiedEntry {
  /** Relative to the copied item's parent, "/"-separated: "Show/Season 1/E01.mkv". */
  path: string;
  size: number;
  /** The file's id on the target account. */
  fileId: number;
}

export interface FailedEntry {
  path: string;
  /** English; `text` carries it by code for another language. */
  error: string;
  code: string;
  text: Text;
}

export interface CopySummary {
  copied: CopiedEntry[];
  /** Already on the target with the same size and CRC32. */
  skipped: CopiedEntry[];
  failed: FailedEntry[];
  /** Folders created on the target (existing ones are reused, not counted). */
  folders: number;
}
