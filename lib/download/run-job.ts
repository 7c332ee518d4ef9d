/**
 * A download job end to end, as the download node runs it: the scheduler's job (plan, files,
 * delete only with proof), with the job-level extras as options: put.io's subtitles beside the
 * videos (while put.io's copies still exist, before any delete) and the finished transfer removed
 * once every file is verified. The one entry point a node needs; the node keeps only what is
 * Node-RED's (msgs, status, its journal of msgs).
 */
import type { PutioClient } from "../client";
import type { OwnershipLedger } from "../local/ownership";
import { writeJobSubtitles, type JobSubtitles } from "../media-jobs/subtitles";
import type { DownloadJob, JobResult } from "./job";
import type { DownloadScheduler } from "./scheduler";

export interface JobExtras {
  /** Write put.io's subtitles beside every video (languages "eng,tur"; none: the account's). */
  subtitles?: { languages?: string; ledger?: OwnershipLedger } | null;
  /** Remove this put.io transfer once every file of the job is verified (and deleted, when asked). */
  removeTransferId?: number | null;
}

export interface JobOutcome {
  result: JobResult;
  /** The subtitles written (null: not asked, or no file verified). */
  subtitles: JobSubtitles | null;
  transferRemoved: boolean;
}

/**
 * Run `job` on the account's scheduler with its extras. A failed file leaves the transfer in place
 * (its files are still wanted); a failure of the extras fails the job with nothing deleted.
 */
export async function runDownloadJob(
  scheduler: Pick<DownloadScheduler, "run">,
  client: PutioClient,
  job: DownloadJob & { signal: AbortSignal },
  extras: JobExtras = {},
): Promise<JobOutcome> {
  let subtitles: JobSubtitles | null = null;
  const wantSubtitles = extras.subtitles;
  const result = await scheduler.run({
    ...job,
    afterFiles: wantSubtitles
      ? async (files, signal) => {
          await job.afterFiles?.(files, signal);
          subtitles = await writeJobSubtitles(client, files, { languages: wantSubtitles.languages, ledger: wantSubtitles.ledger, signal });
        }
      : job.afterFiles,
  });
  let transferRemoved = false;
  if (!job.dryRun && extras.removeTransferId != null && result.failed === 0) {
    await client.transfers.remove([extras.removeTransferId], job.signal);
    transferRemoved = true;
  }
  return { result, subtitles, transferRemoved };
}
