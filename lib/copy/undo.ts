/**
 * Undoing what a copy left under way on the target (its journal records): the transfers it added
 * are cancelled (their entries go) and the copies they made that never got the source's name go to
 * the trash. A copy that has the source's name in its folder is a finished copy and stays; so does
 * every file a record does not name.
 */
import type { PutioClient } from "../client";
import { PutioError } from "../core/errors";
import type { PutioFile } from "../domains/files";
import type { Transfer } from "../domains/transfers";
import type { CopyLedger, CopyRecord } from "./journal";

/**
 * Whether a target transfer is the one a record's add made: into the record's folder, from a
 * storage address of the record's source file (`/download/<file id>`, the storage URL's form:
 * ../shared notes; core/quirks.ts), when the record lost the add's answer.
 */
export function transferIsOf(tr: Transfer, record: CopyRecord): boolean {
  if (record.transfer !== undefined) return tr.id === record.transfer;
  if (tr.save_parent_id !== record.parent || !tr.source) return false;
  try {
    return new RegExp(`/download/${record.source}(?:[./]|$)`).test(new URL(tr.source).pathname);
  } catch {
    return false;
  }
}

const gone = (err: unknown) => (err instanceof PutioError && err.statusCode === 404 ? null : Promise.reject(err));

/** Undo one record's leftovers; `keep` is a file that stays whatever the record says (the finished copy). */
export async function undoRecord(to: PutioClient, record: CopyRecord, opts: { keep?: number; signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = opts;
  const transfers: number[] = [];
  const files = new Set<number>();
  if (record.file !== undefined) files.add(record.file);
  for await (const tr of to.transfers.list({ signal })) {
    if (!transferIsOf(tr, record)) continue;
    transfers.push(tr.id);
    if (typeof tr.file_id === "number") files.add(tr.file_id);
  }
  // Cancel removes an entry whatever its state (a finished one's file is kept: handled below).
  if (transfers.length) await to.transfers.cancel(transfers, signal);
  const strays: number[] = [];
  for (const id of files) {
    if (id === opts.keep) continue;
    const f: PutioFile | null = await to.files.get(id, signal).catch(gone);
    // Only the copy this record's transfer made, still not in its place under the source's name.
    if (!f || f.file_type === "FOLDER" || f.size !== record.size) continue;
    if (record.crc32 && f.crc32 && f.crc32.toLowerCase() !== record.crc32.toLowerCase()) continue;
    if (f.name === record.name && f.parent_id === record.parent) continue;
    strays.push(id);
  }
  if (strays.length) await to.files.delete(strays, { signal });
}

/** Undo every record of a journal (a copy node was removed); a record that could not be undone stays. */
export async function undoCopies(to: PutioClient, ledger: CopyLedger, signal?: AbortSignal): Promise<void> {
  for (const record of await ledger.records()) {
    try {
      await undoRecord(to, record, { signal });
      await ledger.remove(record.source, record.parent);
    } catch {
      /* best effort: the node is going away */
    }
  }
}
