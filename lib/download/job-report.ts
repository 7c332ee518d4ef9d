/**
 * What a download job reports to whoever runs it (the download node, as msgs and a status): its
 * progress summed over the files in flight, the summary of a finished job and the plan of a dry
 * run, as plain JSON. The words (status texts, the user's language) stay with the caller.
 */
import type { JobResult } from "./job";
import type { JobOutcome } from "./run-job";
import type { DownloadProgress, RetryInfo } from "./types";

/** The job's progress over all its files in flight. */
export interface JobProgressSummary {
  /** Of the bytes of the files in flight (0 when none). */
  percent: number;
  bytesPerSecond: number;
  files: number;
  /** The first file waiting for its next attempt (an outage), if any. */
  retrying: RetryInfo | undefined;
}

export class JobProgress {
  private readonly inFlight = new Map<number, DownloadProgress>();

  /** A file's progress; true when a retry starts or ends with it (worth saying at once). */
  update(p: DownloadProgress): boolean {
    const wasRetrying = this.inFlight.get(p.fileId)?.retrying !== undefined;
    this.inFlight.set(p.fileId, p);
    return p.retrying !== undefined || wasRetrying;
  }

  /** A file ended (downloaded, skipped or failed). */
  ended(fileId: number): void {
    this.inFlight.delete(fileId);
  }

  summary(): JobProgressSummary {
    let bytes = 0;
    let size = 0;
    let bytesPerSecond = 0;
    let retrying: RetryInfo | undefined;
    for (const p of this.inFlight.values()) {
      bytes += p.bytes;
      size += p.size;
      bytesPerSecond += p.bytesPerSecond;
      retrying ??= p.retrying;
    }
    return { percent: size ? Math.floor((bytes / size) * 100) : 0, bytesPerSecond, files: this.inFlight.size, retrying };
  }
}

/** A finished job as a msg payload; `message` gives an error's text in the user's language (subtitles). */
export function jobSummary(outcome: JobOutcome, ctx: { transferId: number | null; target: string; message: (err: Error) => string }): Record<string, unknown> {
  const { result, subtitles, transferRemoved } = outcome;
  return {
    downloaded: result.downloaded,
    skipped: result.skipped,
    failed: result.failed,
    files: result.files,
    errors: result.errors.map((e) => ({ fileId: e.fileId, name: e.name, putioPath: e.putioPath, message: e.error.message })),
    deletedFileIds: result.deletedFileIds,
    ...(subtitles
      ? { subtitles: { ...subtitles, failed: subtitles.failed.map((x) => ({ name: x.name, language: x.language, message: ctx.message(x.error) })) } }
      : {}),
    ...(result.extraction ? { extraction: result.extraction } : {}),
    transferId: ctx.transferId,
    transferRemoved,
    source: result.source,
    target: ctx.target,
    bytes: result.bytes,
    seconds: result.seconds,
  };
}

/** A dry run's plan as a msg payload: where every file would land, what would be deleted and removed. */
export function dryRunSummary(result: JobResult, ctx: { removeTransferId: number | null; target: string }): Record<string, unknown> {
  return {
    dryRun: true,
    files: result.dryRun!.files,
    wouldDeleteFileIds: result.dryRun!.wouldDeleteFileIds,
    wouldRemoveTransferId: ctx.removeTransferId,
    source: result.source,
    target: ctx.target,
  };
}
