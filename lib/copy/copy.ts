/**
 * Copy a file or folder of one put.io account into a folder of another, server-side: each file's
 * storage URL from the source is added as a URL transfer on the target, so no byte passes through
 * this machine. The folder tree is rebuilt on the target; each copy is checked by size and CRC32
 * against the source before it counts, renamed to the source's name (core/quirks.ts: how put.io
 * names a URL transfer is unpublished) and its transfer entry removed from the target's list.
 */
import type { PutioClient } from "../client";
import { PutioAbortError, PutioBaseError, PutioError, PutioInputError, PutioNetworkError, PutioTimeoutError } from "../core/errors";
import { collect } from "../core/paginate";
import { DISK_FULL_STATUSES, DISK_FULL_TYPE, NAME_TAKEN, isTransferDone, isTransferFinished } from "../core/quirks";
import { linkSignals } from "../core/signals";
import { abortableSleep, backoffDelay } from "../core/sleep";
import { t, type Text } from "../core/texts";
import { checkName, parsePutioDate } from "../core/wire";
import type { PutioFile } from "../domains/files";
import type { Transfer } from "../domains/transfers";
import { undoRecord, transferIsOf } from "./undo";
import type { CopyLedger, CopyRecord } from "./journal";
import { hideInError } from "./redact";
import { pollingWaiter, type TransferWaiter } from "./wait";

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

interface SourceFile {
  file: PutioFile;
  path: string;
  /** Path of its folder ("" = the target folder itself). */
  dir: string;
}

/** put.io lists a folder 1,000 children per page; one listing per folder (each page followed). */
function listAll(client: PutioClient, id: number, signal?: AbortSignal): Promise<PutioFile[]> {
  return collect(client.files.list(id, { signal }));
}

const isFolder = (f: PutioFile) => f.file_type === "FOLDER";

/** A name's problem as put.io's rules (and ours) see it, or null: checkName's verdict without the throw. */
function nameProblem(name: string, attempted: Text): PutioBaseError | null {
  try {
    checkName(name, attempted);
    return null;
  } catch (err) {
    return err as PutioBaseError;
  }
}

/** Errors that end the job, not an entry: the job was aborted, or a token was refused. */
function isFatal(err: unknown): boolean {
  return err instanceof PutioAbortError || (err instanceof PutioError && err.statusCode === 401);
}

/**
 * The source's storage URL, refused if it carries an access token: the target account's transfer
 * list (and anyone it is shared with) would see it. The URL itself is never put in a text.
 */
export function checkStorageUrl(url: string, attempted: Text): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PutioInputError(attempted, t("copy.bad-url"));
  }
  const names = [...u.searchParams.keys()].map((k) => k.toLowerCase());
  if (names.some((k) => k === "oauth_token" || k === "token" || k === "access_token") || u.username || u.password)
    throw new PutioInputError(attempted, t("copy.url-has-token"));
  return url;
}

/** A refusal to add another transfer that waiting may cure (put.io's limit of active transfers; core/quirks.ts). */
function mayBeQueueFull(err: unknown): boolean {
  return err instanceof PutioError && (err.statusCode === 403 || err.statusCode === 429 || /TOO_MANY|LIMIT|QUEUE/i.test(err.errorType));
}

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
  const { from, to } = opts;
  const concurrency = Math.max(1, Math.min(50, opts.concurrency ?? 4));
  const waitFor = opts.waitFor ?? pollingWaiter(to);
  const addAttempts = Math.max(1, opts.addAttempts ?? 8);
  const backoff = opts.addBackoffMs ?? { base: 2000, max: 60_000 };
  const summary: CopySummary = { copied: [], skipped: [], failed: [], folders: 0 };
  const jobAttempt = t("op.copy-between-accounts", { id: opts.sourceId, folder: opts.targetFolderId });
  const aborted = () => {
    if (signal.aborted) throw signal.reason instanceof PutioAbortError ? signal.reason : new PutioAbortError(jobAttempt, signal.reason);
  };
  const fail = (path: string, err: unknown) => {
    if (signal.aborted) throw signal.reason instanceof PutioAbortError ? signal.reason : new PutioAbortError(jobAttempt, signal.reason);
    if (isFatal(err)) throw err;
    const e = hideInError(
      err instanceof PutioBaseError ? err : new PutioBaseError(t("op.copy-file", { path }), t("plain", { text: String((err as Error)?.message ?? err) })),
      handedOver,
    );
    summary.failed.push({ path, error: e.message, code: e.code, text: e.text });
  };

  // What to copy: the item itself (a file, or a folder with its tree), or the root's content.
  const source = await from.files.get(opts.sourceId, signal);
  const target = await to.files.get(opts.targetFolderId, signal);
  if (!isFolder(target)) throw new PutioInputError(jobAttempt, t("copy.target-not-folder", { name: target.name }));
  const folders: string[] = [];
  const sourceFiles: SourceFile[] = [];
  const failedDirs = new Set<string>();
  if (!isFolder(source)) sourceFiles.push({ file: source, path: source.name, dir: "" });
  else {
    // Breadth-first, one listing per folder. Not domains/walk.ts: it refuses names unsafe as local
    // path segments, and here a name B refuses must fail its own entry, not the whole job.
    const queue: Array<{ id: number; path: string }> = [{ id: source.id, path: source.id === 0 ? "" : source.name }];
    if (source.id !== 0) folders.push(source.name);
    while (queue.length) {
      aborted();
      const { id, path } = queue.shift()!;
      for (const child of await listAll(from, id, signal)) {
        const childPath = path ? `${path}/${child.name}` : child.name;
        if (isFolder(child)) {
          folders.push(childPath);
          queue.push({ id: child.id, path: childPath });
        } else sourceFiles.push({ file: child, path: childPath, dir: path });
      }
    }
  }

  const copying = copiesOn(to);
  // What an earlier run of this node left under way on the target, by source file and folder.
  const ledger = opts.journal ?? null;
  const records = new Map<string, CopyRecord>();
  for (const r of ledger ? await ledger.records() : []) records.set(`${r.source}>${r.parent}`, r);
  const recordOf = (source: number, parent: number) => records.get(`${source}>${parent}`);
  const remember = async (r: CopyRecord) => {
    records.set(`${r.source}>${r.parent}`, r);
    await ledger?.put(r);
  };
  const forget = async (source: number, parent: number) => {
    if (!records.delete(`${source}>${parent}`)) return;
    await ledger?.remove(source, parent);
  };

  const progress: CopyProgress = { total: sourceFiles.length, done: 0, active: 0, copied: 0, skipped: 0, failed: 0 };
  const report = () => {
    progress.copied = summary.copied.length;
    progress.skipped = summary.skipped.length;
    progress.failed = summary.failed.length;
    progress.done = progress.copied + progress.skipped + progress.failed;
    opts.onProgress?.({ ...progress });
  };
  report();

  // The tree on the target: each folder path → its id there, and its children as listed once.
  const targetIds = new Map<string, number>([["", target.id]]);
  const listings = new Map<number, Promise<PutioFile[]>>();
  const childrenOnTarget = (id: number): Promise<PutioFile[]> => {
    let p = listings.get(id);
    if (!p) {
      p = listAll(to, id, signal);
      listings.set(id, p);
      p.catch(() => listings.delete(id));
    }
    return p;
  };
  const parentOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");
  const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

  /** mkdir: a folder of that name made meanwhile (another copy into the same target) is the one to use. */
  async function makeFolder(parentId: number, name: string, attempted: Text): Promise<{ folder: PutioFile; created: boolean }> {
    try {
      return { folder: await to.files.createFolder(parentId, name, signal), created: true };
    } catch (err) {
      if (!(err instanceof PutioError) || err.errorType !== NAME_TAKEN) throw err;
      const there = await to.files.child(parentId, name, signal);
      if (!there) throw err;
      if (!isFolder(there)) throw new PutioInputError(attempted, t("copy.file-in-the-way", { name }));
      return { folder: there, created: false };
    }
  }

  // Folders in breadth-first order: a parent is always ensured before its children.
  for (const path of folders) {
    aborted();
    const parent = parentOf(path);
    if (failedDirs.has(parent)) {
      failedDirs.add(path);
      continue;
    }
    const name = nameOf(path);
    const attempted = t("op.copy-folder", { path });
    try {
      const refused = nameProblem(name, attempted);
      if (refused) throw refused;
      const parentId = targetIds.get(parent)!;
      const existing = (await childrenOnTarget(parentId)).find((c) => c.name === name);
      if (existing && !isFolder(existing)) throw new PutioInputError(attempted, t("copy.file-in-the-way", { name }));
      if (existing) targetIds.set(path, existing.id);
      else {
        const made = await makeFolder(parentId, name, attempted);
        targetIds.set(path, made.folder.id);
        if (made.created) {
          (await childrenOnTarget(parentId)).push(made.folder);
          // A new folder is empty: no listing needed.
          listings.set(made.folder.id, Promise.resolve([]));
          summary.folders++;
        }
      }
    } catch (err) {
      failedDirs.add(path);
      fail(path, err);
    }
  }

  // Files: skip what is already there, refuse what would overwrite, queue the rest.
  const todo: Todo[] = [];
  const leftovers: Array<{ record: CopyRecord; keep: number }> = [];
  // put.io can hold two files of one name in a folder: only the first one gets that name on the target.
  const planned = new Set<string>();
  for (const f of sourceFiles) {
    aborted();
    const attempted = t("op.copy-file", { path: f.path });
    if (failedDirs.has(f.dir)) {
      fail(f.path, new PutioBaseError(attempted, t("copy.folder-failed", { attempted, folder: f.dir })));
      continue;
    }
    try {
      const refused = nameProblem(f.file.name, attempted);
      if (refused) throw refused;
      const parentId = targetIds.get(f.dir)!;
      if (planned.has(`${parentId}/${f.file.name}`)) throw new PutioInputError(attempted, t("copy.same-name-twice", { name: f.file.name }));
      planned.add(`${parentId}/${f.file.name}`);
      const existing = (await childrenOnTarget(parentId)).find((c) => c.name === f.file.name);
      const record = recordOf(f.file.id, parentId);
      if (existing) {
        summary.skipped.push(alreadyThere(f, existing, attempted));
        // There already: what an earlier run left of this copy (a transfer, a second copy) goes.
        if (record) leftovers.push({ record, keep: existing.id });
      } else todo.push({ ...f, parentId });
    } catch (err) {
      fail(f.path, err);
    }
  }
  report();
  for (const { record, keep } of leftovers) {
    aborted();
    // Another live job works on that copy: its leftovers are its own.
    if (copying.has(`${record.source}>${record.parent}`)) continue;
    try {
      await undoRecord(to, record, { keep, signal });
      await forget(record.source, record.parent);
    } catch (err) {
      if (isFatal(err) || signal.aborted) throw err;
      /* left in the journal: the next run tries again */
    }
  }

  // The copies, a few at a time.
  const claims = claimsOn(to);
  const job = Symbol("copy job");
  /** Transfers this job added and is working on (cancelled if the job fails). */
  const active = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      aborted();
      const f = todo[next++]!;
      try {
        const done = await copyOne(f);
        (done.skipped ? summary.skipped : summary.copied).push(done.entry);
      } catch (err) {
        fail(f.path, err);
      }
      report();
    }
  };

  /**
   * Add the file's transfer on the target. An add whose answer was lost (a 5xx or a cut
   * connection after put.io took it) is found in the target's list by its URL, not added twice.
   */
  async function addTransfer(f: Todo, attempted: Text): Promise<Transfer> {
    for (let attempt = 0; ; attempt++) {
      // A fresh address each attempt: a signed one expires while we wait.
      const url = checkStorageUrl(await from.files.downloadUrl(f.file.id, signal), attempted);
      // Known before the answer: an add cut short may still have reached put.io.
      handedOver.add(url);
      await remember({ source: f.file.id, parent: f.parentId, name: f.file.name, size: f.file.size, crc32: f.file.crc32 ?? null, since: Date.now() });
      try {
        return await to.transfers.add(url, { saveParentId: f.parentId, signal });
      } catch (err) {
        if (isFatal(err) || signal.aborted) throw err;
        const unsure = mayHaveTakenEffect(err);
        if (unsure) {
          const found = await transferOf(url, f.parentId);
          if (found) return found;
        }
        const avail = await diskFull(err, f.file.size);
        if (avail !== null) throw new PutioBaseError(attempted, t("copy.disk-full", { attempted, avail, size: f.file.size }));
        const queueFull = mayBeQueueFull(err);
        if ((!queueFull && !unsure) || attempt + 1 >= addAttempts) {
          if (queueFull) throw new PutioBaseError(attempted, t("copy.queue-full", { attempted, count: attempt + 1, detail: (err as Error).message }));
          throw err;
        }
        await abortableSleep(backoffDelay(attempt, backoff.base, backoff.max), signal).catch(() => aborted());
      }
    }
  }

  /** The target's transfer of this URL into this folder, if there is one (read from its list). */
  async function transferOf(url: string, parentId: number): Promise<Transfer | null> {
    for await (const tr of to.transfers.list({ signal })) if (tr.source === url && (tr.save_parent_id ?? parentId) === parentId) return tr;
    return null;
  }

  /**
   * The free space when a refusal of an add means the target's disk is full, else null. put.io's
   * answer for a full disk is unpublished (core/quirks.ts): a refusal of that kind is checked
   * against the account's free space, so a full disk is said at once and not waited out.
   */
  async function diskFull(err: unknown, size: number): Promise<number | null> {
    if (!(err instanceof PutioError)) return null;
    const named = DISK_FULL_TYPE.test(err.errorType);
    if (!named && !DISK_FULL_STATUSES.includes(err.statusCode)) return null;
    try {
      const { disk } = await to.account.info(signal);
      return named || disk.avail < size ? disk.avail : null;
    } catch (e) {
      if (isFatal(e)) throw e;
      return named ? 0 : null;
    }
  }

  /**
   * One source file into one target folder is copied by one job at a time (two jobs of one source
   * and target, or a resumed job beside a re-run): the other waits, then finds the copy there.
   */
  async function copyOne(f: Todo): Promise<Outcome> {
    const attempted = t("op.copy-file", { path: f.path });
    const key = `${f.file.id}>${f.parentId}`;
    for (let other = copying.get(key); other; other = copying.get(key)) {
      await untilSettled(other.done, signal);
      aborted();
      const there = await to.files.child(f.parentId, f.file.name, signal);
      if (there) {
        const entry = alreadyThere(f, there, attempted);
        // What an earlier run of ours left of this copy (its transfer, its unnamed copy) goes now.
        const record = ledger && !copying.has(key) ? (await ledger.records()).find((r) => r.source === f.file.id && r.parent === f.parentId) : undefined;
        if (record) {
          try {
            await undoRecord(to, record, { keep: there.id, signal });
            await ledger!.remove(record.source, record.parent);
          } catch (err) {
            if (isFatal(err) || signal.aborted) throw err;
            /* kept: the next run tidies it */
          }
        }
        return { skipped: true, entry };
      }
    }
    let release = () => {};
    copying.set(key, { job, done: new Promise<void>((r) => (release = r)), release });
    try {
      // What the journal says now (another job of this node may have changed it meanwhile).
      const record = ledger ? (await ledger.records()).find((r) => r.source === f.file.id && r.parent === f.parentId) : undefined;
      if (record) records.set(key, record);
      else records.delete(key);
      return await copyAlone(f, record, attempted);
    } finally {
      copying.delete(key);
      release();
    }
  }

  async function copyAlone(f: Todo, record: CopyRecord | undefined, attempted: Text): Promise<Outcome> {
    if (record) {
      const adopted = await adopt(f, record, attempted);
      if (adopted) return adopted;
    }
    for (let round = 0; ; round++) {
      const transfer = await addTransfer(f, attempted);
      const owner = claims.get(transfer.id);
      const elsewhere = typeof transfer.save_parent_id === "number" && transfer.save_parent_id !== f.parentId;
      if ((owner && owner.job !== job) || elsewhere) {
        // Not ours: nothing of this job to keep track of.
        await forget(f.file.id, f.parentId);
        // put.io answered an active transfer of the same URL (core/quirks.ts) that another copy
        // added: it is theirs. Once they are done with it, look again, and add ours if still needed.
        if (round >= 3) throw new PutioBaseError(attempted, t("copy.duplicate-transfer", { attempted }));
        if (owner) await untilSettled(owner.done, signal);
        else await waitFor(transfer.id, signal).catch((err: unknown) => (isFatal(err) || signal.aborted ? Promise.reject(err) : undefined));
        aborted();
        const there = await to.files.child(f.parentId, f.file.name, signal);
        if (there) return { skipped: true, entry: alreadyThere(f, there, attempted) };
        continue;
      }
      await remember({ ...recordOf(f.file.id, f.parentId)!, transfer: transfer.id });
      return await run(f, transfer.id, attempted, null);
    }
  }

  /**
   * A copy an earlier run of this node left under way (its record): the file its transfer made,
   * the transfer itself, a transfer whose add answer was lost (by its source, in the target's
   * list), or a copy whose transfer entry is gone (by size and CRC32, made since the add). Null
   * when none is left: the file is added again.
   */
  async function adopt(f: Todo, record: CopyRecord, attempted: Text): Promise<Outcome | null> {
    const gone = (err: unknown) => (err instanceof PutioError && err.statusCode === 404 ? null : Promise.reject(err));
    if (record.file !== undefined) {
      const file = await to.files.get(record.file, signal).catch(gone);
      if (file && !isFolder(file) && sameContent(file, f.file)) return run(f, record.transfer ?? null, attempted, file);
    }
    let tr = record.transfer !== undefined ? await to.transfers.get(record.transfer, signal).catch(gone) : null;
    if (!tr) for await (const x of to.transfers.list({ signal })) if (transferIsOf(x, record)) tr = x;
    if (tr && isTransferFinished(tr.status) && !isTransferDone(tr.status)) {
      // It failed back then: its entry goes, and the file is added again.
      await to.transfers.clean([tr.id], signal).catch((e: unknown) => (isFatal(e) ? Promise.reject(e) : undefined));
      tr = null;
    }
    const owner = tr && claims.get(tr.id);
    if (tr && (!owner || owner.job === job)) {
      await remember({ ...record, transfer: tr.id });
      return run(f, tr.id, attempted, null);
    }
    const since = record.since - STRAY_CLOCK_SLACK_MS;
    const taken = new Set([...records.values()].map((r) => r.file));
    const stray = (await listAll(to, f.parentId, signal)).find(
      (c) => !isFolder(c) && c.name !== f.file.name && sameContent(c, f.file) && !taken.has(c.id) && (parsePutioDate(c.created_at)?.getTime() ?? 0) >= since,
    );
    if (stray) return run(f, null, attempted, stray);
    await forget(f.file.id, f.parentId);
    return null;
  }

  /** The job's own transfer (or a copy of it already made) to the end, claimed while it runs. */
  async function run(f: Todo, transferId: number | null, attempted: Text, made: PutioFile | null): Promise<Outcome> {
    // A copy adopted without its transfer is held under its source's id, negated (no transfer id is negative).
    const key = transferId ?? -f.file.id;
    aborted();
    let release = () => {};
    const done = new Promise<void>((r) => (release = r));
    claims.set(key, { job, done, release });
    active.add(key);
    progress.active = active.size;
    report();
    try {
      const result = made ? await place(f, made, transferId, attempted) : await finish(f, key, attempted);
      active.delete(key);
      return result;
    } catch (err) {
      // Aborted: the transfer stays in `active` for the cancel below (without a journal).
      if (!signal.aborted) active.delete(key);
      throw err;
    } finally {
      progress.active = active.size;
      claims.delete(key);
      release();
    }
  }

  /** Wait for the job's transfer, verify the copy, give it the source's name and clean its entry. */
  async function finish(f: Todo, id: number, attempted: Text): Promise<Outcome> {
    let finished: Transfer;
    try {
      finished = await waitFor(id, signal);
    } catch (err) {
      if (err instanceof PutioError && err.statusCode === 404) throw new PutioBaseError(attempted, t("copy.transfer-gone", { attempted }));
      throw err;
    }
    if (!isTransferDone(finished.status) || typeof finished.file_id !== "number") {
      await cleanAndForget(f, id);
      throw new PutioBaseError(attempted, t("copy.transfer-failed", { attempted, detail: finished.error_message || finished.status }));
    }
    const fileId = finished.file_id as number;
    await remember({ ...recordOf(f.file.id, f.parentId)!, transfer: id, file: fileId });
    return place(f, await to.files.get(fileId, signal), id, attempted);
  }

  /** The copy checked against the source, given the source's name, and its transfer entry cleaned. */
  async function place(f: Todo, copy: PutioFile, id: number | null, attempted: Text): Promise<Outcome> {
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
      await cleanAndForget(f, id);
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
          await cleanAndForget(f, id);
          if (there && there.id !== fileId && !isFolder(there) && sameContent(there, f.file))
            return { skipped: true, entry: { path: f.path, size: there.size, fileId: there.id } };
          throw err;
        }
      }
    }
    await cleanAndForget(f, id);
    return { skipped: false, entry: { path: f.path, size: copy.size, fileId } };
  }

  /**
   * The transfer's entry leaves the target's list, then the record goes. A clean that failed keeps
   * the record: the next run removes the entry (the copy itself is what counts now).
   */
  async function cleanAndForget(f: Todo, id: number | null): Promise<void> {
    if (id !== null) {
      try {
        await to.transfers.clean([id], signal);
      } catch (e) {
        if (isFatal(e)) throw e;
        return;
      }
    }
    await forget(f.file.id, f.parentId);
  }

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, () => worker()));
  } catch (err) {
    stop.abort(err);
    // Stop what this job started (also an add whose answer the abort cut off, never another
    // copy's transfer); the signal has fired, so these calls get a time limit of their own. Best
    // effort: the job failed anyway.
    // With a journal, they stay: its records let a resumed job or a re-run adopt them.
    const ids = new Set(ledger ? [] : [...active].filter((id) => id > 0));
    if (handedOver.size && !ledger) {
      try {
        for await (const tr of to.transfers.list({ signal: AbortSignal.timeout(10_000) })) {
          const owner = claims.get(tr.id);
          if (tr.source && handedOver.has(tr.source) && !isTransferFinished(tr.status) && (!owner || owner.job === job)) ids.add(tr.id);
        }
      } catch {
        /* the ids we know are cancelled below all the same */
      }
    }
    if (ids.size) await to.transfers.cancel([...ids], AbortSignal.timeout(10_000)).catch(() => undefined);
    throw err;
  } finally {
    // Whoever waits on one of this job's transfers goes on.
    for (const [id, c] of claims) {
      if (c.job !== job) continue;
      claims.delete(id);
      c.release();
    }
  }
  report();
  return summary;
}

type Todo = SourceFile & { parentId: number };
type Outcome = { skipped: boolean; entry: CopiedEntry };

/** A copy made since its add, less this (the two machines' clocks differ), counts as the job's stray. */
const STRAY_CLOCK_SLACK_MS = 10 * 60_000;

/** A transfer a live copy job works on, per target account: put.io answers the same transfer to an add of the same URL. */
interface Claim {
  job: symbol;
  /** Settles when that job is done with the transfer. */
  done: Promise<void>;
  release: () => void;
}
const claimsByTarget = new WeakMap<PutioClient, Map<number, Claim>>();
function claimsOn(to: PutioClient): Map<number, Claim> {
  let m = claimsByTarget.get(to);
  if (!m) claimsByTarget.set(to, (m = new Map()));
  return m;
}
/** The copies live jobs work on, per target account, by "source file id>target folder id". */
const copiesByTarget = new WeakMap<PutioClient, Map<string, Claim>>();
function copiesOn(to: PutioClient): Map<string, Claim> {
  let m = copiesByTarget.get(to);
  if (!m) copiesByTarget.set(to, (m = new Map()));
  return m;
}

/** Resolves when `p` settles; rejects with the abort when the signal fires first. */
function untilSettled(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    void p.then(
      () => (signal.removeEventListener("abort", onAbort), resolve()),
      () => (signal.removeEventListener("abort", onAbort), resolve()),
    );
  });
}

/** An error after which the request may have taken effect on put.io (its answer was lost). */
function mayHaveTakenEffect(err: unknown): boolean {
  if (err instanceof PutioNetworkError) return err.mayHaveTakenEffect;
  return err instanceof PutioTimeoutError || (err instanceof PutioError && err.statusCode >= 500);
}

/** The source's copy when `there` (same name on the target) holds its bytes; else why it cannot be copied there. */
function alreadyThere(f: SourceFile, there: PutioFile, attempted: Text): CopiedEntry {
  if (isFolder(there)) throw new PutioInputError(attempted, t("copy.folder-in-the-way", { name: f.file.name }));
  if (!sameContent(there, f.file)) throw new PutioInputError(attempted, t("copy.name-taken", { name: f.file.name }));
  return { path: f.path, size: there.size, fileId: there.id };
}

/** Same bytes as far as put.io can tell: the size, and the CRC32 when both have one. */
function sameContent(a: PutioFile, b: PutioFile): boolean {
  if (a.size !== b.size) return false;
  if (!a.crc32 || !b.crc32) return false;
  return a.crc32.toLowerCase() === b.crc32.toLowerCase();
}
