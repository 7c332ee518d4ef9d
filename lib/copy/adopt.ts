/**
 * A copy an earlier run of this node left under way (its journal record), taken over instead of
 * added again: the file its transfer made, the transfer itself, a transfer whose add answer was
 * lost (found by its source in the target's list), or a copy whose transfer entry is gone (found
 * by size and CRC32 among the files made since the add).
 */
import { PutioError } from "../core/errors";
import { isTransferDone, isTransferFinished } from "../core/quirks";
import type { Text } from "../core/texts";
import { parsePutioDate } from "../core/wire";
import { isFatal, isFolder, sameContent } from "./checks";
import { runTransfer } from "./finish";
import { listAll, type CopyJob, type Outcome, type Todo } from "./job";
import type { CopyRecord } from "./journal";
import { transferIsOf } from "./undo";

/** A copy made since its add, less this (the two machines' clocks differ), counts as the job's stray. */
const STRAY_CLOCK_SLACK_MS = 10 * 60_000;

/** The adopted copy run to its end; null when none is left: the file is added again. */
export async function adopt(job: CopyJob, f: Todo, record: CopyRecord, attempted: Text): Promise<Outcome | null> {
  const { to, signal } = job;
  const gone = (err: unknown) => (err instanceof PutioError && err.statusCode === 404 ? null : Promise.reject(err));
  if (record.file !== undefined) {
    const file = await to.files.get(record.file, signal).catch(gone);
    if (file && !isFolder(file) && sameContent(file, f.file)) return runTransfer(job, f, record.transfer ?? null, attempted, file);
  }
  let tr = record.transfer !== undefined ? await to.transfers.get(record.transfer, signal).catch(gone) : null;
  if (!tr) for await (const x of to.transfers.list({ signal })) if (transferIsOf(x, record)) tr = x;
  if (tr && isTransferFinished(tr.status) && !isTransferDone(tr.status)) {
    // It failed back then: its entry goes, and the file is added again.
    await to.transfers.clean([tr.id], signal).catch((e: unknown) => (isFatal(e) ? Promise.reject(e) : undefined));
    tr = null;
  }
  const owner = tr && job.claims.get(tr.id);
  if (tr && (!owner || owner.job === job.id)) {
    await job.remember({ ...record, transfer: tr.id });
    return runTransfer(job, f, tr.id, attempted, null);
  }
  const since = record.since - STRAY_CLOCK_SLACK_MS;
  const taken = new Set([...job.records.values()].map((r) => r.file));
  const stray = (await listAll(to, f.parentId, signal)).find(
    (c) => !isFolder(c) && c.name !== f.file.name && sameContent(c, f.file) && !taken.has(c.id) && (parsePutioDate(c.created_at)?.getTime() ?? 0) >= since,
  );
  if (stray) return runTransfer(job, f, null, attempted, stray);
  await job.forget(f.file.id, f.parentId);
  return null;
}
