/**
 * Incremental backup of a local folder tree to a put.io folder (one way: nothing on put.io is
 * removed because it is missing locally), one run end to end: the local walk (`local.ts`), put.io's
 * tree, local CRC32s where a put.io file of the same size may make a file skippable, the plan
 * (`planner.ts`, pure), then the dry run's report or the plan run (`executor.ts`).
 */
import fs from "node:fs";
import path from "node:path";
import type { PutioClient } from "../client";
import { PutioAbortError, PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { walk } from "../domains/walk";
import { executeBackupPlan, reportOfPlan, type BackupResult, type ExecuteOptions } from "./executor";
import { codeOf, localCrc, readCache, scanLocal, writeCache, type CrcCache, type LocalFilter } from "./local";
import { backupTempName, baseOf, dirOf, join, nfc, planBackup, type LocalFile, type RemoteItem } from "./planner";

export interface BackupOptions extends LocalFilter, ExecuteOptions {
  /** The local folder (its real path is walked). */
  localFolder: string;
  /** The put.io folder id; null: it does not exist yet (dry run only). */
  remoteFolderId: number | null;
  dryRun?: boolean;
  /** Local CRC32 cache file (omitted: none). */
  cacheFile?: string;
}

export async function backupFolder(client: PutioClient, opts: BackupOptions): Promise<BackupResult> {
  const signal = opts.signal;
  const attempted = t("op.backup", { path: opts.localFolder });
  const aborted = () => signal?.aborted === true;
  let root: string;
  try {
    root = await fs.promises.realpath(opts.localFolder);
    if (!(await fs.promises.stat(root)).isDirectory()) throw Object.assign(new Error("ENOTDIR"), { code: "ENOTDIR" });
  } catch (err) {
    throw new PutioInputError(attempted, t("backup.cannot-read-folder", { path: opts.localFolder, detail: codeOf(err) }));
  }
  const scan = await scanLocal(root, { ...opts, signal });
  const remote: RemoteItem[] = [];
  if (opts.remoteFolderId !== null)
    for await (const w of walk(client.files, opts.remoteFolderId, { includeFolders: true, signal }))
      remote.push({ path: w.path, id: w.file.id, isFolder: w.file.file_type === "FOLDER", size: w.file.size ?? 0, crc32: w.file.crc32 ?? null });

  // Local CRC32s where a put.io file (or a leftover copy) of the same size may make a file skippable.
  const cache = await readCache(opts.cacheFile);
  const freshCache: CrcCache = { version: 1, files: {} };
  const sizesAt = new Map<string, Set<number>>();
  for (const r of remote)
    if (!r.isFolder) {
      const key = nfc(r.path);
      const set = sizesAt.get(key) ?? new Set<number>();
      set.add(r.size);
      sizesAt.set(key, set);
    }
  const crcOf = async (f: LocalFile): Promise<string> => {
    const hit = cache.files[f.path];
    if (hit && hit[0] === f.size && hit[1] === f.mtimeMs) return hit[2];
    const got = await localCrc(path.join(root, f.path), signal);
    if (got.size === f.size && got.mtimeMs === f.mtimeMs) freshCache.files[f.path] = [f.size, f.mtimeMs, got.crc];
    return got.crc;
  };
  for (const f of scan.files) {
    const dir = dirOf(f.path);
    const candidates = [nfc(f.path), nfc(join(dir, backupTempName(baseOf(f.path))))];
    if (!candidates.some((k) => sizesAt.get(k)?.has(f.size))) continue;
    try {
      f.crc32 = await crcOf(f);
    } catch (err) {
      if (aborted()) throw new PutioAbortError(attempted, signal!.reason);
      // Left without a CRC it is uploaded, where the read error is reported.
      void err;
    }
  }

  const steps = planBackup(scan, remote);
  const result: BackupResult = {
    uploaded: [],
    replaced: [],
    skipped: [],
    createdFolders: [],
    failed: [...scan.failed.map((p) => ({ path: p.path, error: p.reason }))],
    ignored: scan.ignored,
    dryRun: opts.dryRun === true,
  };
  const saveCache = async () => {
    if (!opts.cacheFile || result.dryRun) return;
    const present = new Set(scan.files.map((f) => f.path));
    for (const [p, v] of Object.entries(cache.files)) if (!(p in freshCache.files) && present.has(p)) freshCache.files[p] = v;
    await writeCache(opts.cacheFile, freshCache);
  };

  if (result.dryRun) return reportOfPlan(steps, result);
  try {
    await executeBackupPlan(client, steps, result, opts, {
      root,
      remoteFolderId: opts.remoteFolderId!,
      attempted,
      crcOf,
      onStored: (p, entry) => (freshCache.files[p] = entry),
    });
  } finally {
    await saveCache();
  }
  // Lists in plan order, whatever order the files finished in (failures of the local walk first).
  const order = new Map(steps.map((s, i) => [s.path, i]));
  const byPlan = (a: { path: string }, b: { path: string }) => (order.get(a.path) ?? -1) - (order.get(b.path) ?? -1);
  result.uploaded.sort(byPlan);
  result.replaced.sort(byPlan);
  result.failed.sort(byPlan);
  return result;
}
