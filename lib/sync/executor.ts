/**
 * Runs a sync plan. Downloads go through the account's DownloadScheduler into a staging folder
 * under the target (verified, atomic, resumable: an interrupted run resumes the `.part` there),
 * then are moved to their place; moves and trash moves stay inside the target. Every move into
 * place is a no-clobber commit (lib/local/commit.ts): nothing that appeared meanwhile is replaced.
 * A file of the sync is replaced only while it is still what the sync left there, checked right
 * before; a version the user made (edited in place, also during the run) is kept beside it as a
 * copy (lib/local/conflict.ts) and the report says where.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { PutioAbortError, PutioInputError } from "../core/errors";
import { crcHex, parseCrc } from "../core/crc";
import { t } from "../core/texts";
import { assertInside, foldName } from "../local/names";
import type { DownloadScheduler } from "../download/scheduler";
import { STAGING_DIR, TRASH_DIR, writeState, type SyncState } from "./local";
import { changedMeanwhile, checkFolders, knownCrc, moveInside, placeDownload, removeEmptyUp, sameFile, stillAsLeft } from "./moves";
import type { PlanAction } from "./planner";
import { conflictError, emptyReport, trashStamp, type SyncReport } from "./report";

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
    // A name the plan saw, gone by the time a step reached it (the user renamed or removed the
    // file or a folder of it during the run): the step is left for the next run, said in our words.
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === "ENOENT" || code === "ENOTDIR") err = changedMeanwhile(root, path.join(root, ...rel.split("/")));
    report.failed.push({ path: rel, error: err instanceof Error ? err : new Error(String(err)) });
  };
  // One id per local path: an id recorded at a path takes it from any other (stale) entry.
  const holder = new Map<string, number>();
  for (const [id, s] of state.files) holder.set(foldName(s.path), id);
  /** `bytesCrc`: the CRC32 of the bytes now at `rel`, when known (put.io's, or computed while they were written). */
  const record = async (id: number, rel: string, size: number, crc: string | null, bytesCrc?: string | null) => {
    const st = await fsp.lstat(abs(rel));
    const key = foldName(rel);
    const other = holder.get(key);
    if (other !== undefined && other !== id && state.files.get(other) && foldName(state.files.get(other)!.path) === key) state.files.delete(other);
    holder.set(key, id);
    const known = bytesCrc ?? crc;
    state.files.set(id, {
      path: rel,
      size,
      crc32: crc,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      dev: st.dev,
      ctimeMs: st.ctimeMs,
      ...(known && parseCrc(known) !== null ? { bytesCrc: crcHex(parseCrc(known)!) } : {}),
    });
  };
  const vacatedDirs = new Set<string>();
  const keepIds = new Set<number>();

  state.running = true;
  // A file put.io lists again is no longer on its way out.
  for (const id of opts.remoteIds) {
    const s = state.files.get(id);
    if (s?.goneSince !== undefined) delete s.goneSince;
  }
  await save(true);
  try {
    for (const a of actions) {
      if (a.kind === "skip") report.skipped++;
      else if (a.kind === "wait") {
        keepIds.add(a.id);
        const s = state.files.get(a.id);
        if (a.mark && s && s.goneSince === undefined) s.goneSince = Date.now();
      } else if (a.kind === "forget") {
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
        const s = a.id !== null ? state.files.get(a.id) : undefined;
        if (s && !(await stillAsLeft(abs(a.path), s))) {
          // Changed by the user since the plan: theirs now, kept where it is.
          report.kept.push({ path: a.path });
          state.files.delete(a.id!);
          tick();
          continue;
        }
        await checkFolders(realRoot, root, path.dirname(abs(a.path)), false);
        await moveInside(realRoot, root, abs(a.path), abs(to), signal);
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
        await moveInside(realRoot, root, abs(a.from), tmp, signal);
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
        await moveInside(realRoot, root, tmp, abs(a.to), signal);
        const s = entryOf.get(a.id)!;
        await record(a.id, a.to, s.size, s.crc32, s.bytesCrc);
        report.renamed.push({ from: a.from, to: a.to });
      } catch (err) {
        failedMoves.add(a.id);
        // Put it back where it was; if even that fails it waits in the staging folder (the next run downloads it again).
        await moveInside(realRoot, root, tmp, abs(a.from), signal).catch(() => state.files.delete(a.id));
        fail(a.to, err);
      }
      tick();
    }

    // 3. Adoptions: a file already there that the sync did not write is kept when it is put.io's file.
    for (const a of actions) {
      if (a.kind !== "adopt") continue;
      try {
        // Only a CRC32 equal to the bytes on disk makes the file put.io's: put.io's, or without it the
        // one of the bytes the sync wrote there itself. A size match is never proof: else the file stays the user's.
        const proof = parseCrc(a.crc32) !== null ? a.crc32 : (a.written ?? null);
        if (proof !== null && (await sameFile(abs(a.path), a.size, proof, signal))) {
          await record(a.id, a.path, a.size, a.crc32, proof);
          report.skipped++;
        } else if (proof === null) fail(a.path, new PutioInputError(t("op.sync-file", { path: a.path }), t("sync.user-file-no-crc", { path: a.path })));
        else fail(a.path, conflictError(a.path, "user-file"));
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
          const expect = a.replace ? a.expect : undefined;
          // A replaced file of ours that already has put.io's content (a changed mtime or ctime only) is kept.
          const same = a.replace && (await sameFile(dest, a.size, knownCrc(a.crc32, expect, a.size), signal).catch(() => false));
          if (same) {
            await record(a.id, a.path, a.size, a.crc32, knownCrc(a.crc32, expect, a.size));
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
            const keptAs = await placeDownload(realRoot, root, got.path, dest, a.replace ? (expect ?? null) : undefined, signal);
            if (keptAs) report.keptCopies.push({ path: a.path, keptAs: path.relative(root, keptAs).split(path.sep).join("/") });
            await fsp.rmdir(stage).catch(() => {});
            await record(a.id, a.path, got.size, a.crc32, got.local?.crc32 ?? got.crc32);
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
