/**
 * Copy a file or folder of one put.io account into a folder of another, server-side: each file's
 * storage URL from the source is added as a URL transfer on the target, so no byte passes through
 * this machine. The folder tree is rebuilt on the target; each copy is checked by size and CRC32
 * against the source before it counts, renamed to the source's name (core/quirks.ts: how put.io
 * names a URL transfer is unpublished) and its transfer entry removed from the target's list.
 *
 * This file is the job from start to end: planned (plan.ts), its files copied a few at a time
 * (copy-file.ts, adopt.ts, finish.ts), and on failure what it started on the target stopped.
 */
import { PutioInputError } from "../core/errors";
import { isTransferFinished } from "../core/quirks";
import { linkSignals } from "../core/signals";
import { t } from "../core/texts";
import { isFolder } from "./checks";
import { copyOne } from "./copy-file";
import { CopyJob } from "./job";
import { planCopy } from "./plan";
import { hideInError } from "./redact";
import type { CopyOptions, CopySummary } from "./types";

export async function copyBetweenAccounts(opts: CopyOptions): Promise<CopySummary> {
  // Every storage URL handed to the target, so that no text of the job can show one (redact.ts).
  const handedOver = new Set<string>();
  try {
    return await runCopy(opts, handedOver);
  } catch (err) {
    throw hideInError(err, handedOver);
  }
}

async function runCopy(opts: CopyOptions, handedOver: Set<string>): Promise<CopySummary> {
  // One signal for the job: the caller's, or a failure that ends the job (the other workers stop too).
  const stop = new AbortController();
  const link = linkSignals(opts.signal, stop.signal);
  try {
    return await copyLinked(opts, handedOver, stop, link.signal);
  } finally {
    link.dispose();
  }
}

async function copyLinked(opts: CopyOptions, handedOver: Set<string>, stop: AbortController, signal: AbortSignal): Promise<CopySummary> {
  const job = new CopyJob(opts, signal, handedOver);
  const concurrency = Math.max(1, Math.min(50, opts.concurrency ?? 4));

  // What to copy: the item itself (a file, or a folder with its tree), or the root's content.
  const source = await job.from.files.get(opts.sourceId, signal);
  const target = await job.to.files.get(opts.targetFolderId, signal);
  if (!isFolder(target)) throw new PutioInputError(job.attempted, t("copy.target-not-folder", { name: target.name }));
  const todo = await planCopy(job, source, target);

  // The copies, a few at a time.
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      job.aborted();
      const f = todo[next++]!;
      try {
        const done = await copyOne(job, f);
        (done.skipped ? job.summary.skipped : job.summary.copied).push(done.entry);
      } catch (err) {
        job.fail(f.path, err);
      }
      job.report();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, () => worker()));
  } catch (err) {
    stop.abort(err);
    await cancelOwn(job);
    throw err;
  } finally {
    // Whoever waits on one of this job's transfers goes on.
    for (const [id, c] of job.claims) {
      if (c.job !== job.id) continue;
      job.claims.delete(id);
      c.release();
    }
  }
  job.report();
  return job.summary;
}

/**
 * Stop what a failed job started (also an add whose answer the abort cut off, never another copy's
 * transfer); the signal has fired, so these calls get a time limit of their own. Best effort: the
 * job failed anyway. With a journal, they stay: its records let a resumed job or a re-run adopt them.
 */
async function cancelOwn(job: CopyJob): Promise<void> {
  const { to, ledger, handedOver } = job;
  const ids = new Set(ledger ? [] : [...job.active].filter((id) => id > 0));
  if (handedOver.size && !ledger) {
    try {
      for await (const tr of to.transfers.list({ signal: AbortSignal.timeout(10_000) })) {
        const owner = job.claims.get(tr.id);
        if (tr.source && handedOver.has(tr.source) && !isTransferFinished(tr.status) && (!owner || owner.job === job.id)) ids.add(tr.id);
      }
    } catch {
      /* the ids we know are cancelled below all the same */
    }
  }
  if (ids.size) await to.transfers.cancel([...ids], AbortSignal.timeout(10_000)).catch(() => undefined);
}
