/**
 * Runs a sync plan. Downloads go through the account's DownloadScheduler into a staging folder
 * under the target (verified, atomic, resumable: an interrupted run resumes the `.part` there),
 * then are moved to their place; moves and trash moves stay inside the target, and nothing the
 * sync did not write is ever replaced: a path that is taken when the move comes is a failure.
 */
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { PutioAbortError, PutioInputError } from "../core/errors";
import { crc32, crcHex, parseCrc } from "../core/crc";
import { t } from "../core/texts";
import { localClaims } from "../local/claims";
import { assertInside, foldName } from "../local/names";
import type { DownloadScheduler } from "../download/scheduler";
import { STAGING_DIR, TRASH_DIR, writeState, type SyncState } from "./local";
import type { ConflictReason, PlanAction } from "./planner";

export interface SyncReport {
  copied: Array<{ path: string; size: number }>;
  renamed: Array<{ from: string; to: string }>;
  /** Files already identical (counted, not listed: a library has thousands). */
  skipped: number;
  deleted: Array<{ path: string; trashedTo: string }>;
  /** Deleted on put.io, kept locally (deletions not propagated). */
  kept: Array<{ path: string }>;
  failed: Array<{ path: string; error: Error }>;
  dryRun: boolean;
}

export interface ExecuteOptions {
  root: string;
  scheduler: DownloadScheduler;
  state: SyncState;
  /** Ids still on put.io: state entries of other ids are dropped at the end. */
  remoteIds: Set<number>;
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Downloads started at once (the scheduler's limits still apply). */
  parallel?: number;
}

const SAVE_EVERY_MS = 2000;

export function emptyReport(dryRun: boolean): SyncReport {
  return { copied: [], renamed: [], skipped: 0, deleted: [], kept: [], failed: [], dryRun };
}

/** What the plan would do, as a report (a dry run). */
export function reportOfPlan(actions: PlanAction[], trashStamp: string): SyncReport {
  const r = emptyReport(true);
  for (const a of actions) {
    if (a.kind === "skip" || a.kind === "adopt") r.skipped++;
    else if (a.kind === "download") r.copied.push({ path: a.path, size: a.size });
    else if (a.kind === "rename") r.renamed.push({ from: a.from, to: a.to });
    else if (a.kind === "trash") r.deleted.push({ path: a.path, trashedTo: `${TRASH_DIR}/${trashStamp}/${a.path}` });
    else if (a.kind === "forget") r.kept.push({ path: a.path });
    else r.failed.push({ path: a.path, error: conflictError(a.path, a.reason) });
  }
  return r;
}

function conflictError(rel: string, reason: ConflictReason): Error {
  const code = { "user-file": "sync.user-file", "not-a-file": "sync.not-a-file", taken: "sync.taken", "parent-not-folder": "sync.parent-not-folder" }[reason];
  return new PutioInputError(t("op.sync-file", { path: rel }), t(code, { path: rel }));
}

export async function executePlan(actions: PlanAction[], opts: ExecuteOptions): Promise<SyncReport> {
  const { root, state, signal } = opts;
  const report = emptyReport(false);
  const realRoot = await fsp.realpath(root);
  const abs = (rel: string) => {
    const full = path.join(root, ...rel.split("/"));
    assertInside(root, full);
    return full;
  };
  const stamp = trashStamp();
  const total = actions.filter((a) => a.kind !== "skip" && a.kind !== "forget" && a.kind !== "conflict").length;
  let done = 0;
  const tick = () => opts.onProgress?.(++done, total);
  let lastSave = Date.now();
  const save = async (force = false) => {
    if (!force && Date.now() - lastSave < SAVE_EVERY_MS) return;
    lastSave = Date.now();
    await writeState(root, state);
  };
  const fail = (rel: string, err: unknown) => {
    if (signal.aborted) throw new PutioAbortError(t("op.sync-file", { path: rel }), signal.reason);
    report.failed.push({ path: rel, error: err instanceof Error ? err : new Error(String(err)) });
  };
  // One id per local path: an id recorded at a path takes it from any other (stale) entry.
  const holder = new Map<string, number>();
  for (const [id, s] of state.files) holder.set(foldName(s.path), id);
  const record = async (id: number, rel: string, size: number, crc: string | null) => {
    const st = await fsp.lstat(abs(rel));
    const key = foldName(rel);
    const other = holder.get(key);
    if (other !== undefined && other !== id && state.files.get(other) && foldName(state.files.get(other)!.path) === key) state.files.delete(other);
    holder.set(key, id);
    state.files.set(id, { path: rel, size, crc32: crc, mtimeMs: st.mtimeMs, ino: st.ino });
  };
  const vacatedDirs = new Set<string>();
  const keepIds = new Set<number>();

  state.running = true;
  await save(true);
  try {
    for (const a of actions) {
      if (a.kind === "skip") report.skipped++;
      else if (a.kind === "forget") {
        report.kept.push({ path: a.path });
        const s = state.files.get(a.id);
        if (s && foldName(s.path) === foldName(a.path)) state.files.delete(a.id);
      } else if (a.kind === "conflict") report.failed.push({ path: a.path, error: conflictError(a.path, a.reason) });
    }

    // 1. Trash: synced files put.io deleted (when asked) and local extras (when asked).
    for (const a of actions) {
      if (a.kind !== "trash") continue;
      const to = `${TRASH_DIR}/${stamp}/${a.path}`;
      try {
        await checkFolders(realRoot, root, path.dirname(abs(a.path)), false);
        await moveInside(realRoot, root, abs(a.path), abs(to), false);
        report.deleted.push({ path: a.path, trashedTo: to });
        if (a.id !== null) state.files.delete(a.id);
        vacatedDirs.add(path.dirname(abs(a.path)));
      } catch (err) {
        if (a.id !== null) keepIds.add(a.id);
        fail(a.path, err);
      }
      tick();
    }

    // 2. Moves, in two steps (to a staging name, then to the new place) so swaps and case-only renames work.
    const renames = actions.filter((a): a is Extract<PlanAction, { kind: "rename" }> => a.kind === "rename");
    // Their entries as they were: recording one move may take a path another move is leaving.
    const entryOf = new Map(renames.map((a) => [a.id, state.files.get(a.id)!]));
    const parked: Array<{ a: (typeof renames)[number]; tmp: string }> = [];
    const failedMoves = new Set<number>();
    for (const a of renames) {
      const tmp = abs(`${STAGING_DIR}/mv-${a.id}`);
      try {
        await checkFolders(realRoot, root, path.dirname(abs(a.from)), false);
        await moveInside(realRoot, root, abs(a.from), tmp, false);
        parked.push({ a, tmp });
        vacatedDirs.add(path.dirname(abs(a.from)));
      } catch (err) {
        failedMoves.add(a.id);
        fail(a.from, err);
        tick();
      }
    }
    // Folders emptied by trash moves and moves go before anything arrives (the plan counts on it;
    // rmdir refuses a folder that is not empty).
    for (const dir of vacatedDirs) await removeEmptyUp(root, dir);
    for (const { a, tmp } of parked) {
      try {
        await moveInside(realRoot, root, tmp, abs(a.to), false);
        const s = entryOf.get(a.id)!;
        await record(a.id, a.to, s.size, s.crc32);
        report.renamed.push({ from: a.from, to: a.to });
      } catch (err) {
        failedMoves.add(a.id);
        // Put it back where it was; if even that fails it waits in the staging folder (the next run downloads it again).
        await moveInside(realRoot, root, tmp, abs(a.from), false).catch(() => state.files.delete(a.id));
        fail(a.to, err);
      }
      tick();
    }

    // 3. Adoptions: a file already there that the sync did not write is kept when it is put.io's file.
    for (const a of actions) {
      if (a.kind !== "adopt") continue;
      try {
        if (await sameFile(abs(a.path), a.size, a.crc32, signal)) {
          await record(a.id, a.path, a.size, a.crc32);
          report.skipped++;
        } else fail(a.path, conflictError(a.path, "user-file"));
      } catch (err) {
        fail(a.path, err);
      }
      tick();
    }

    // 4. Downloads (after the moves: they may take places the moves freed).
    const downloads = actions.filter((a): a is Extract<PlanAction, { kind: "download" }> => a.kind === "download" && !failedMoves.has(a.id));
    let next = 0;
    const worker = async () => {
      while (next < downloads.length) {
        if (signal.aborted) return;
        const a = downloads[next++]!;
        try {
          const dest = abs(a.path);
          // A replaced file of ours that already has put.io's content (a changed mtime only) is kept.
          if (a.replace && (await sameFile(dest, a.size, a.crc32, signal).catch(() => false))) {
            await record(a.id, a.path, a.size, a.crc32);
            report.skipped++;
          } else {
            const stage = abs(`${STAGING_DIR}/dl-${a.id}`);
            const res = await opts.scheduler.run({
              // Listed from put.io by this run: not read again (one request per file saved).
              source: { file: { id: a.id, name: a.name, size: a.size, crc32: a.crc32 }, current: true },
              target: stage,
              ifExists: "overwrite",
              signal,
            });
            if (res.errors[0]) throw res.errors[0].error;
            const got = res.files[0];
            if (!got) throw new PutioInputError(t("op.sync-file", { path: a.path }), t("sync.not-downloaded", { path: a.path }));
            await checkFolders(realRoot, root, path.dirname(dest), true);
            await moveInside(realRoot, root, got.path, dest, a.replace);
            await fsp.rmdir(stage).catch(() => {});
            await record(a.id, a.path, got.size, got.crc32);
            report.copied.push({ path: a.path, size: got.size });
          }
          await save();
        } catch (err) {
          fail(a.path, err);
        }
        tick();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.parallel ?? 4) }, worker));
    if (signal.aborted) throw new PutioAbortError(t("op.sync-file", { path: "" }), signal.reason);

    // Half-downloaded files of put.io files that are gone (or moved out of the folder): our own temp files.
    const staging = path.join(root, STAGING_DIR);
    for (const name of await fsp.readdir(staging).catch(() => [] as string[])) {
      const m = /^dl-(\d+)$/.exec(name);
      if (m && !opts.remoteIds.has(Number(m[1]))) await fsp.rm(path.join(staging, name), { recursive: true, force: true });
    }
    await fsp.rmdir(staging).catch(() => {});
    for (const id of [...state.files.keys()]) if (!opts.remoteIds.has(id) && !keepIds.has(id)) state.files.delete(id);
    state.running = false;
  } finally {
    // Also after an abort or a failure: what is done stays known (a restart continues from it).
    await save(true);
  }
  return report;
}

/**
 * Every folder from the target down to `dir` is a real folder (no link) inside the target;
 * `create`: missing ones are made, one level at a time.
 */
async function checkFolders(realRoot: string, root: string, dir: string, create: boolean): Promise<void> {
  const rel = path.relative(root, dir);
  if (rel === "") return;
  assertInside(root, dir);
  let at = root;
  for (const part of rel.split(path.sep)) {
    at = path.join(at, part);
    let st = await fsp.lstat(at).catch(() => null);
    if (!st && create) {
      await fsp.mkdir(at).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "EEXIST") throw err;
      });
      st = await fsp.lstat(at);
    }
    if (!st) return; // nothing there: a move from inside it fails by itself
    if (st.isSymbolicLink() || !st.isDirectory()) throw new PutioInputError(t("op.sync-file", { path: rel }), t("sync.unsafe-folder", { path: at }));
  }
  const real = await fsp.realpath(dir);
  const r = path.relative(realRoot, real);
  if (r.startsWith("..") || path.isAbsolute(r)) throw new PutioInputError(t("op.sync-file", { path: rel }), t("sync.unsafe-folder", { path: dir }));
}

/**
 * Rename inside the target, holding the destination's claim (no download of any node writes it
 * meanwhile). `replace` false: the destination must be free; true: it must be a regular file.
 */
async function moveInside(realRoot: string, root: string, from: string, to: string, replace: boolean): Promise<void> {
  assertInside(root, from);
  assertInside(root, to);
  await checkFolders(realRoot, root, path.dirname(to), true);
  const release = await localClaims.claim([to]);
  try {
    const there = await fsp.lstat(to).catch(() => null);
    const rel = path.relative(root, to).split(path.sep).join("/");
    if (there && !(replace && there.isFile())) throw new PutioInputError(t("op.sync-file", { path: rel }), t("sync.changed-meanwhile", { path: rel }));
    await fsp.rename(from, to);
  } finally {
    await release();
  }
}

/** The local file has this size and (when put.io gave one) this CRC32; a link never counts. */
async function sameFile(file: string, size: number, crc: string | null, signal: AbortSignal): Promise<boolean> {
  const st = await fsp.lstat(file);
  if (!st.isFile() || st.size !== size) return false;
  const want = parseCrc(crc);
  if (want === null) return true;
  const fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let c = 0;
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let pos = 0; pos < size;) {
      if (signal.aborted) throw signal.reason;
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return false;
      c = crc32(buf.subarray(0, bytesRead), c);
      pos += bytesRead;
    }
    return crcHex(c) === crcHex(want);
  } finally {
    await fh.close();
  }
}

async function removeEmptyUp(root: string, dir: string): Promise<void> {
  for (let d = dir; d !== root && path.relative(root, d) && !path.relative(root, d).startsWith(".."); d = path.dirname(d)) {
    try {
      await fsp.rmdir(d);
    } catch {
      return;
    }
  }
}

/** A folder name per run under the local trash: sortable, no characters Windows refuses. */
export function trashStamp(now = new Date()): string {
  return now.toISOString().replace(/[:.]/g, "-");
}
