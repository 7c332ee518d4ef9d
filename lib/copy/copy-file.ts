/**
 * One source file's copy on the target, by one job at a time: an earlier run's copy adopted
 * (adopt.ts), else the file's storage URL added as a transfer on the target, with the answers put.io
 * may give to that add (lost, full disk, too many active transfers, another job's transfer of the
 * same URL), then run to its end (finish.ts).
 */
import { PutioBaseError, PutioError } from "../core/errors";
import { DISK_FULL_STATUSES, DISK_FULL_TYPE } from "../core/quirks";
import { abortableSleep, backoffDelay } from "../core/sleep";
import { t, type Text } from "../core/texts";
import type { Transfer } from "../domains/transfers";
import { adopt } from "./adopt";
import { alreadyThere, checkStorageUrl, isFatal, mayBeQueueFull, mayHaveTakenEffect } from "./checks";
import { untilSettled } from "./claims";
import { runTransfer } from "./finish";
import { copyKey, type CopyJob, type Outcome, type Todo } from "./job";
import type { CopyRecord } from "./journal";
import { undoRecord } from "./undo";

/**
 * One source file into one target folder is copied by one job at a time (two jobs of one source
 * and target, or a resumed job beside a re-run): the other waits, then finds the copy there.
 */
export async function copyOne(job: CopyJob, f: Todo): Promise<Outcome> {
  const { to, signal, copying } = job;
  const attempted = t("op.copy-file", { path: f.path });
  const key = copyKey(f.file.id, f.parentId);
  for (let other = copying.get(key); other; other = copying.get(key)) {
    await untilSettled(other.done, signal);
    job.aborted();
    const there = await to.files.child(f.parentId, f.file.name, signal);
    if (there) {
      const entry = alreadyThere(f, there, attempted);
      // What an earlier run of ours left of this copy (its transfer, its unnamed copy) goes now.
      const record = job.ledger && !copying.has(key) ? await job.freshRecord(f.file.id, f.parentId) : undefined;
      if (record) {
        try {
          await undoRecord(to, record, { keep: there.id, signal });
          await job.ledger!.remove(record.source, record.parent);
        } catch (err) {
          if (isFatal(err) || signal.aborted) throw err;
          /* kept: the next run tidies it */
        }
      }
      return { skipped: true, entry };
    }
  }
  let release = () => {};
  copying.set(key, { job: job.id, done: new Promise<void>((r) => (release = r)), release });
  try {
    // What the journal says now (another job of this node may have changed it meanwhile).
    const record = job.ledger ? await job.freshRecord(f.file.id, f.parentId) : undefined;
    if (record) job.records.set(key, record);
    else job.records.delete(key);
    return await copyAlone(job, f, record, attempted);
  } finally {
    copying.delete(key);
    release();
  }
}

async function copyAlone(job: CopyJob, f: Todo, record: CopyRecord | undefined, attempted: Text): Promise<Outcome> {
  const { to, signal } = job;
  if (record) {
    const adopted = await adopt(job, f, record, attempted);
    if (adopted) return adopted;
  }
  for (let round = 0; ; round++) {
    const transfer = await addTransfer(job, f, attempted);
    const owner = job.claims.get(transfer.id);
    const elsewhere = typeof transfer.save_parent_id === "number" && transfer.save_parent_id !== f.parentId;
    if ((owner && owner.job !== job.id) || elsewhere) {
      // Not ours: nothing of this job to keep track of.
      await job.forget(f.file.id, f.parentId);
      // put.io answered an active transfer of the same URL (core/quirks.ts) that another copy
      // added: it is theirs. Once they are done with it, look again, and add ours if still needed.
      if (round >= 3) throw new PutioBaseError(attempted, t("copy.duplicate-transfer", { attempted }));
      if (owner) await untilSettled(owner.done, signal);
      else await job.waitFor(transfer.id, signal).catch((err: unknown) => (isFatal(err) || signal.aborted ? Promise.reject(err) : undefined));
      job.aborted();
      const there = await to.files.child(f.parentId, f.file.name, signal);
      if (there) return { skipped: true, entry: alreadyThere(f, there, attempted) };
      continue;
    }
    await job.remember({ ...job.recordOf(f.file.id, f.parentId)!, transfer: transfer.id });
    return await runTransfer(job, f, transfer.id, attempted, null);
  }
}

/**
 * Add the file's transfer on the target. An add whose answer was lost (a 5xx or a cut
 * connection after put.io took it) is found in the target's list by its URL, not added twice.
 */
async function addTransfer(job: CopyJob, f: Todo, attempted: Text): Promise<Transfer> {
  const { from, to, signal } = job;
  for (let attempt = 0; ; attempt++) {
    // A fresh address each attempt: a signed one expires while we wait.
    const url = checkStorageUrl(await from.files.downloadUrl(f.file.id, signal), attempted);
    // Known before the answer: an add cut short may still have reached put.io.
    job.handedOver.add(url);
    await job.remember({ source: f.file.id, parent: f.parentId, name: f.file.name, size: f.file.size, crc32: f.file.crc32 ?? null, since: Date.now() });
    try {
      return await to.transfers.add(url, { saveParentId: f.parentId, signal });
    } catch (err) {
      if (isFatal(err) || signal.aborted) throw err;
      const unsure = mayHaveTakenEffect(err);
      if (unsure) {
        const found = await transferOf(job, url, f.parentId);
        if (found) return found;
      }
      const avail = await diskFull(job, err, f.file.size);
      if (avail !== null) throw new PutioBaseError(attempted, t("copy.disk-full", { attempted, avail, size: f.file.size }));
      const queueFull = mayBeQueueFull(err);
      if ((!queueFull && !unsure) || attempt + 1 >= job.addAttempts) {
        if (queueFull) throw new PutioBaseError(attempted, t("copy.queue-full", { attempted, count: attempt + 1, detail: (err as Error).message }));
        throw err;
      }
      await abortableSleep(backoffDelay(attempt, job.backoff.base, job.backoff.max), signal).catch(() => job.aborted());
    }
  }
}

/** The target's transfer of this URL into this folder, if there is one (read from its list). */
async function transferOf(job: CopyJob, url: string, parentId: number): Promise<Transfer | null> {
  for await (const tr of job.to.transfers.list({ signal: job.signal })) if (tr.source === url && (tr.save_parent_id ?? parentId) === parentId) return tr;
  return null;
}

/**
 * The free space when a refusal of an add means the target's disk is full, else null. put.io's
 * answer for a full disk is unpublished (core/quirks.ts): a refusal of that kind is checked
 * against the account's free space, so a full disk is said at once and not waited out.
 */
async function diskFull(job: CopyJob, err: unknown, size: number): Promise<number | null> {
  if (!(err instanceof PutioError)) return null;
  const named = DISK_FULL_TYPE.test(err.errorType);
  if (!named && !DISK_FULL_STATUSES.includes(err.statusCode)) return null;
  try {
    const { disk } = await job.to.account.info(job.signal);
    return named || disk.avail < size ? disk.avail : null;
  } catch (e) {
    if (isFatal(e)) throw e;
    return named ? 0 : null;
  }
}
