/**
 * Runs a backup plan: every file is uploaded (tus, resumable) under a temporary name in its put.io
 * folder, its CRC32 checked against put.io's, and the local file stat-ed before and after: a change
 * in between deletes the copy and tries again (bounded). Only then the old version goes to the
 * trash and the new one is renamed to the real name, so there is always one good copy and never a
 * half file under the real name. A leftover temporary copy (an earlier run that stopped after the
 * upload) is used when it matches, else removed.
 */
import fs from "node:fs";
import path from "node:path";
import type { PutioClient } from "../client";
import { PutioAbortError, PutioInputError, PutioTransferIntegrityError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { collect } from "../core/paginate";
import { TusUploader } from "../upload/engine";
import { codeOf } from "./local";
import { backupTempName, type LocalFile, type PathProblem, type PlanStep, type RemoteItem } from "./planner";

/** What the executor takes of the backup's options. */
export interface ExecuteOptions {
  /** The tus resume state folder (see TusUploader). */
  stateDir?: string;
  chunkSize?: number;
  /** Files uploaded at the same time (default 3; the account's request queue caps requests in flight). */
  filesAtOnce?: number;
  /** Tries per file when it changes while it is uploaded (default 3). */
  attempts?: number;
  signal?: AbortSignal;
  /** After each file (done of total files to upload or replace). */
  onProgress?: (done: number, total: number, path: string) => void;
  /** Bytes of the file being sent (tests grow a file from here). */
  onFileProgress?: (path: string, sent: number, total: number) => void;
}

export interface BackupEntry {
  path: string;
  size: number;
  /** put.io's id of the stored file (the one there, for skipped; null in a dry run for new files). */
  fileId: number | null;
}

export interface BackupResult {
  uploaded: BackupEntry[];
  replaced: Array<BackupEntry & { oldFileId: number }>;
  skipped: BackupEntry[];
  createdFolders: string[];
  failed: Array<{ path: string; error: Text | Error }>;
  ignored: PathProblem[];
  dryRun: boolean;
}

/** A dry run's result: what the plan would do. */
export function reportOfPlan(steps: PlanStep[], result: BackupResult): BackupResult {
  for (const s of steps) {
    if (s.op === "mkdir") result.createdFolders.push(s.path);
    else if (s.op === "upload") result.uploaded.push({ path: s.path, size: s.size, fileId: null });
    else if (s.op === "replace") result.replaced.push({ path: s.path, size: s.size, fileId: null, oldFileId: s.oldId });
    else if (s.op === "skip") result.skipped.push({ path: s.path, size: s.size, fileId: s.fileId });
    else if (s.op === "fail") result.failed.push({ path: s.path, error: s.reason });
  }
  return result;
}

/** What the run hands the executor besides the plan. */
export interface PlanContext {
  /** The local folder's real path. */
  root: string;
  remoteFolderId: number;
  /** What the errors say was attempted (the backup of the local folder). */
  attempted: Text;
  /** A local file's CRC32 (from the run's cache when it is still good). */
  crcOf: (f: LocalFile) => Promise<string>;
  /** Each file stored, for the CRC cache. */
  onStored: (path: string, entry: [size: number, mtimeMs: number, crc32: string]) => void;
}

/** Folders first, in plan order (parents before children); the files then go a few at a time. */
export async function executeBackupPlan(
  client: PutioClient,
  steps: PlanStep[],
  result: BackupResult,
  opts: ExecuteOptions,
  { root, remoteFolderId, attempted, crcOf, onStored }: PlanContext,
): Promise<void> {
  const signal = opts.signal;
  const aborted = () => signal?.aborted === true;
  const folderIds = new Map<string, number>([["", remoteFolderId]]);
  const brokenDirs = new Set<string>();
  const uploader = new TusUploader(client);
  const queue: Array<{ s: StoreStep; parentId: number }> = [];
  for (const s of steps) {
    if (aborted()) throw new PutioAbortError(attempted, signal!.reason);
    if (s.op === "dir") folderIds.set(s.path, s.id);
    else if (s.op === "skip") result.skipped.push({ path: s.path, size: s.size, fileId: s.fileId });
    else if (s.op === "fail") result.failed.push({ path: s.path, error: s.reason });
    else if (s.op === "mkdir") {
      const parentId = folderIds.get(s.parent);
      if (parentId === undefined) {
        brokenDirs.add(s.path);
        continue;
      }
      try {
        folderIds.set(s.path, (await client.files.createFolder(parentId, s.name, signal)).id);
        result.createdFolders.push(s.path);
      } catch (err) {
        if (aborted()) throw err;
        brokenDirs.add(s.path);
        result.failed.push({ path: s.path, error: err as Error });
      }
    } else {
      const parentId = folderIds.get(s.parent);
      // Under a folder that could not be created: that folder is reported, once.
      if (parentId === undefined) {
        if (!brokenDirs.has(s.parent)) result.failed.push({ path: s.path, error: t("backup.no-folder") });
      } else queue.push({ s, parentId });
    }
  }
  let next = 0;
  let done = 0;
  if (queue.length) opts.onProgress?.(0, queue.length, "");
  let stop: unknown = null;
  const worker = async () => {
    while (stop === null && next < queue.length) {
      const { s, parentId } = queue[next++]!;
      try {
        const stored = await storeOne(client, uploader, root, s, parentId, opts, crcOf);
        if (s.op === "replace") result.replaced.push({ path: s.path, size: stored.size, fileId: stored.fileId, oldFileId: s.oldId });
        else result.uploaded.push({ path: s.path, size: stored.size, fileId: stored.fileId });
        onStored(s.path, [stored.size, stored.mtimeMs, stored.crc]);
      } catch (err) {
        if (aborted() || err instanceof PutioAbortError) {
          stop ??= err;
          return;
        }
        result.failed.push({ path: s.path, error: err as Error });
      }
      opts.onProgress?.(++done, queue.length, s.path);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, opts.filesAtOnce ?? 3), queue.length) }, worker));
  if (stop !== null) throw stop;
}

/** Changed between two stats (ctime catches a write that restored size and mtime). */
const changed = (a: fs.Stats, b: fs.Stats) => a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ctimeMs !== b.ctimeMs || a.ino !== b.ino || !b.isFile();

type StoreStep = Extract<PlanStep, { op: "upload" | "replace" }>;

/** Upload one file under its temporary name, check it, then put it in place of the old one. */
async function storeOne(
  client: PutioClient,
  uploader: TusUploader,
  root: string,
  s: StoreStep,
  parentId: number,
  opts: ExecuteOptions,
  crcOf: (f: LocalFile) => Promise<string>,
): Promise<{ fileId: number; size: number; mtimeMs: number; crc: string }> {
  const signal = opts.signal;
  const local = path.join(root, s.path);
  const attempted = t("op.upload", { name: s.path });
  const temp = backupTempName(s.name);
  let leftovers = s.temps;
  const attempts = Math.max(1, opts.attempts ?? 3);
  for (let attempt = 1; ; attempt++) {
    const before = await fs.promises.lstat(local).catch((err) => {
      throw inputError(attempted, t("backup.cannot-read", { detail: codeOf(err) }));
    });
    if (!before.isFile()) throw inputError(attempted, t("backup.not-a-file-now"));
    // A folder on the way swapped for a link since the walk would lead out of the root.
    const real = await fs.promises.realpath(local).catch(() => "");
    if (real !== local) throw inputError(attempted, t("backup.symlink"));

    let fileId: number | null = null;
    let crc = "";
    // An earlier run may have stored the copy and stopped before the rename.
    for (const l of leftovers) {
      if (fileId === null && l.size === before.size && l.crc32 !== null) {
        crc = await crcOf({ path: s.path, size: before.size, mtimeMs: before.mtimeMs });
        if (crc === l.crc32.toLowerCase()) {
          fileId = l.id;
          continue;
        }
      }
      // Our own copy that does not match: not a user's file, no use in the trash.
      await client.files.delete([l.id], { skipTrash: true, signal });
    }
    leftovers = [];
    if (fileId === null) {
      try {
        const res = await uploader.upload({
          path: local,
          name: temp,
          parentId,
          noTorrent: true,
          chunkSize: opts.chunkSize,
          stateDir: opts.stateDir,
          signal,
          onProgress: (sent, total) => opts.onFileProgress?.(s.path, sent, total),
        });
        if (res.kind !== "file") throw new PutioInputError(attempted, t("input.upload-answer-unknown", { attempted: "" }));
        fileId = res.fileId;
        crc = res.crc32;
      } catch (err) {
        if (signal?.aborted || err instanceof PutioAbortError) throw err;
        // A file that shrank or changed under the read: the copy (if one was stored) is found and removed next time.
        const after = await fs.promises.lstat(local).catch(() => null);
        if (attempt < attempts && (err instanceof PutioTransferIntegrityError || !after || changed(before, after))) {
          leftovers = (await collect(client.files.list(parentId, { signal }))).filter((f) => f.name === temp && f.file_type !== "FOLDER").map(asItem);
          continue;
        }
        throw err;
      }
    }
    const after = await fs.promises.lstat(local).catch(() => null);
    if (!after || changed(before, after)) {
      // Sent while it was written to: that copy may be half old, half new.
      await client.files.delete([fileId], { skipTrash: true, signal });
      if (attempt < attempts) continue;
      throw inputError(attempted, t("backup.kept-changing", { attempts }));
    }
    if (s.op === "replace") await client.files.delete([s.oldId], { signal });
    await client.files.rename(fileId, s.name, signal);
    return { fileId, size: before.size, mtimeMs: before.mtimeMs, crc };
  }
}

/** An input error whose problem is one of the backup's reasons. */
const inputError = (attempted: Text, reason: Text) => new PutioInputError(attempted, t("input.other", { problem: reason }));

const asItem = (f: { id: number; name: string; size?: number | null; crc32?: string | null; file_type?: string }): RemoteItem => ({
  path: f.name,
  id: f.id,
  isFolder: f.file_type === "FOLDER",
  size: f.size ?? 0,
  crc32: f.crc32 ?? null,
});
