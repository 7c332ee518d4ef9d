/**
 * One copy's end on the target: its transfer claimed while this job works on it and waited for,
 * the file it made checked against the source (size and CRC32), given the source's name (put.io
 * names a URL transfer its own way: core/quirks.ts) and the transfer's entry cleaned; a copy that
 * is not what the source holds goes to the trash.
 */
import { PutioBaseError, PutioError } from "../core/errors";
import { NAME_TAKEN, isTransferDone } from "../core/quirks";
import { t, type Text } from "../core/texts";
import type { PutioFile } from "../domains/files";
import type { Transfer } from "../domains/transfers";
import { isFatal, isFolder, mayHaveTakenEffect, sameContent } from "./checks";
import type { CopyJob, Outcome, Todo } from "./job";

/** The job's own transfer (or a copy of it already made) to the end, claimed while it runs. */
export async function runTransfer(job: CopyJob, f: Todo, transferId: number | null, attempted: Text, made: PutioFile | null): Promise<Outcome> {
  // A copy adopted without its transfer is held under its source's id, negated (no transfer id is negative).
  const key = transferId ?? -f.file.id;
  job.aborted();
  let release = () => {};
  const done = new Promise<void>((r) => (release = r));
  job.claims.set(key, { job: job.id, done, release });
  job.active.add(key);
  job.progress.active = job.active.size;
  job.report();
  try {
    const result = made ? await place(job, f, made, transferId, attempted) : await finish(job, f, key, attempted);
    job.active.delete(key);
    return result;
  } catch (err) {
    // Aborted: the transfer stays in `active` for the cancel of the failed job (without a journal).
    if (!job.signal.aborted) job.active.delete(key);
    throw err;
  } finally {
    job.progress.active = job.active.size;
    job.claims.delete(key);
    release();
  }
}

/** Wait for the job's transfer, verify the copy, give it the source's name and clean its entry. */
async function finish(job: CopyJob, f: Todo, id: number, attempted: Text): Promise<Outcome> {
  let finished: Transfer;
  try {
    finished = await job.waitFor(id, job.signal);
  } catch (err) {
    if (err instanceof PutioError && err.statusCode === 404) throw new PutioBaseError(attempted, t("copy.transfer-gone", { attempted }));
    throw err;
  }
  if (!isTransferDone(finished.status) || typeof finished.file_id !== "number") {
    await cleanAndForget(job, f, id);
    throw new PutioBaseError(attempted, t("copy.transfer-failed", { attempted, detail: finished.error_message || finished.status }));
  }
  const fileId = finished.file_id as number;
  await job.remember({ ...job.recordOf(f.file.id, f.parentId)!, transfer: id, file: fileId });
  return place(job, f, await job.to.files.get(fileId, job.signal), id, attempted);
}

/** The copy checked against the source, given the source's name, and its transfer entry cleaned. */
async function place(job: CopyJob, f: Todo, copy: PutioFile, id: number | null, attempted: Text): Promise<Outcome> {
  const { to, signal } = job;
  const fileId = copy.id;
  const problem =
    isFolder(copy) || copy.size !== f.file.size
      ? t("copy.size-mismatch", { attempted, size: copy.size, expected: f.file.size })
      : f.file.crc32 && copy.crc32?.toLowerCase() !== f.file.crc32.toLowerCase()
        ? t("copy.crc-mismatch", { attempted, crc: copy.crc32 ?? "-", expected: f.file.crc32 })
        : null;
  if (problem) {
    // Not what the source holds: it must not stay looking like a copy.
    await to.files.delete([fileId], { signal });
    await cleanAndForget(job, f, id);
    throw new PutioBaseError(attempted, problem);
  }
  if (copy.name !== f.file.name || copy.parent_id !== f.parentId) {
    try {
      if (copy.parent_id !== f.parentId) await to.files.moveAndRename(fileId, f.parentId, f.file.name, signal);
      else await to.files.rename(fileId, f.file.name, signal);
    } catch (err) {
      if (isFatal(err)) throw err;
      // A rename whose answer was lost may have taken effect.
      const now = mayHaveTakenEffect(err) ? await to.files.get(fileId, signal).catch(() => null) : null;
      if (!now || now.name !== f.file.name || now.parent_id !== f.parentId) {
        // The name was taken meanwhile: by the same bytes (another copy won), ours is one too many.
        const there =
          err instanceof PutioError && err.errorType === NAME_TAKEN ? await to.files.child(f.parentId, f.file.name, signal).catch(() => null) : null;
        // Under put.io's name for it, the copy would be a stray: it goes to the trash.
        await to.files.delete([fileId], { signal });
        await cleanAndForget(job, f, id);
        if (there && there.id !== fileId && !isFolder(there) && sameContent(there, f.file))
          return { skipped: true, entry: { path: f.path, size: there.size, fileId: there.id } };
        throw err;
      }
    }
  }
  await cleanAndForget(job, f, id);
  return { skipped: false, entry: { path: f.path, size: copy.size, fileId } };
}

/**
 * The transfer's entry leaves the target's list, then the record goes. A clean that failed keeps
 * the record: the next run removes the entry (the copy itself is what counts now).
 */
async function cleanAndForget(job: CopyJob, f: Todo, id: number | null): Promise<void> {
  if (id !== null) {
    try {
      await job.to.transfers.clean([id], job.signal);
    } catch (e) {
      if (isFatal(e)) throw e;
      return;
    }
  }
  await job.forget(f.file.id, f.parentId);
}
