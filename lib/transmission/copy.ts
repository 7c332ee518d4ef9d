/**
 * A torrent's local copy: put.io's finished file or folder copied into the torrent's local folder
 * by the download job's one entry point (download/run-job.ts: the account's scheduler, subtitles
 * as a job option), what it wrote noted in the record as it lands, then every file checked on
 * disk. The manager starts it and applies its end (done, failed, or stopped: a restart resumes).
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { PutioClient } from "../client";
import { render, t, type Text } from "../core/texts";
import type { DownloadJob, JobResult } from "../download/job";
import { runDownloadJob } from "../download/run-job";
import type { JobSubtitles } from "../media-jobs/subtitles";
import type { OwnershipLedger } from "../local/ownership";
import { errorText, notePlan, noteWritten, planProblem } from "./local-copy";
import type { LiveProgress, TorrentRecord } from "./model";
import { applyOwner, ownerWanted, type OwnerSettings } from "./owner";
import { isWithin, type Placement } from "./placement";
import { keepNotExtras, leftOut, skipsExtras, type SkipExtras } from "./skip";

export interface CopySettings {
  client: PutioClient;
  scheduler: { run(job: DownloadJob): Promise<JobResult> };
  place: Placement;
  /** Refuse a transfer whose only files are archives. */
  failArchiveOnly: boolean;
  extract?: { password?: string; keepArchives?: boolean } | null;
  preferMp4?: boolean;
  subtitles?: { languages?: string; ledger?: OwnershipLedger } | null;
  /** Leave samples and extras on put.io (skip.ts); default: in the apps' category folders. */
  skipExtras?: SkipExtras;
  /** Owner and mode of what the copy writes (owner.ts); null: as the process makes them. */
  owner?: OwnerSettings | null;
}

export interface CopyHooks {
  live: LiveProgress;
  /** Store the record soon (what the copy will need and what it wrote). */
  persist: () => void;
  /** The torrent is still wanted (not removed, the manager not closing). */
  wanted: () => boolean;
  now: () => number;
}

export type CopyEnd =
  | { kind: "done"; files: TorrentRecord["files"]; top: string | null; detail?: Record<string, unknown> }
  | { kind: "failed"; text: Text }
  /** Stopped (removed, closing): the state stays as it is, a restart resumes the copy. */
  | { kind: "stopped" };

export async function copyToDisk(o: CopySettings, r: TorrentRecord, ac: AbortController, h: CopyHooks): Promise<CopyEnd> {
  const fileId = r.fileId!;
  const live = h.live;
  live.localBytes = 0;
  let refused: Text | null = null;
  const notes: Array<Promise<void>> = [];
  const inFlight = new Map<number, number>();
  let verified = 0;
  const sum = () => {
    let n = verified;
    for (const b of inFlight.values()) n += b;
    return n;
  };
  try {
    const madeFolders = await o.place.checkLocalDir(r.localDir);
    let skipped: string[] = [];
    const job: DownloadJob & { signal: AbortSignal } = {
      source: { fileId },
      target: r.localDir,
      ifExists: "skip-identical",
      preferMp4: o.preferMp4 === true,
      choose: skipsExtras(o.skipExtras, r.category)
        ? (files) => {
            const keep = keepNotExtras(files);
            skipped = leftOut(files, keep);
            return keep;
          }
        : undefined,
      extract: o.extract
        ? {
            ...o.extract,
            done: r.extracted ?? null,
            onExtracted: (done) => {
              r.extracted = done;
              h.persist();
            },
          }
        : null,
      signal: ac.signal,
      onPlan: (files) => {
        refused = planProblem(files, o.failArchiveOnly);
        if (refused) return ac.abort(new Error(render(refused)));
        r.fileCount = files.length;
        // Left on put.io on purpose: never copied, never counted, never in the way of finishing.
        if (skipped.length) r.skipped = skipped;
        else delete r.skipped;
        const size = files.reduce((n, f) => n + f.file.size, 0);
        if (size > 0) r.size = size;
        notePlan(r, files);
        h.persist();
      },
      onProgress: (p) => {
        inFlight.set(p.fileId, p.bytes);
        live.localBytes = sum();
        live.localSpeed = p.bytesPerSecond;
        live.activityAt = Math.floor(h.now() / 1000);
      },
      onFile: (f) => {
        if (f.status === "downloaded") notes.push(noteWritten(r, f.path).then(h.persist));
        inFlight.delete(f.fileId);
        verified += f.size;
        live.localBytes = sum();
      },
    };
    const { result, subtitles } = await runDownloadJob(o.scheduler, o.client, job, {
      subtitles: o.subtitles ? { languages: o.subtitles.languages || undefined, ledger: o.subtitles.ledger } : null,
    });
    // The subtitles written are this node's files too (a removal with delete-local-data takes them).
    for (const p of subtitles?.paths ?? []) notes.push(noteWritten(r, p));
    await Promise.all(notes);
    if (!h.wanted()) return { kind: "stopped" };
    if (result.failed > 0) {
      const first = result.errors[0]!;
      return { kind: "failed", text: t("transmission.copy-failed", { count: result.failed, name: first.name, error: errorText(first.error) }) };
    }
    const problem = planProblem(
      result.files.map((f) => ({ file: { name: f.name } })),
      o.failArchiveOnly,
    );
    if (problem) return { kind: "failed", text: problem };
    const onDisk = await checkOnDisk(r, result);
    if ("text" in onDisk) return { kind: "failed", text: onDisk.text };
    if (ownerWanted(o.owner)) {
      const refusedOwner = await ownWhatWasMade(r, o.owner, madeFolders);
      if (refusedOwner) return { kind: "failed", text: refusedOwner };
    }
    const detail: Record<string, unknown> = {};
    if (subtitles) detail.subtitles = subtitleSummary(subtitles);
    if (r.skipped?.length) detail.skipped = r.skipped;
    return { kind: "done", ...onDisk, detail: Object.keys(detail).length ? detail : undefined };
  } catch (err) {
    if (refused) return { kind: "failed", text: refused };
    if (ac.signal.aborted || !h.wanted()) return { kind: "stopped" };
    return { kind: "failed", text: t("transmission.copy-error", { error: errorText(err) }) };
  } finally {
    live.localSpeed = 0;
  }
}

/**
 * Every file of the job on disk at its size (the engine verified the content) and inside the
 * torrent's folder: its files relative to that folder, and its one top entry (the file, or the
 * transfer's folder: the name the app joins to downloadDir), if there is one.
 */
async function checkOnDisk(r: TorrentRecord, result: JobResult): Promise<{ files: TorrentRecord["files"]; top: string | null } | { text: Text }> {
  const tops = new Set<string>();
  const files: TorrentRecord["files"] = [];
  for (const f of result.files) {
    const st = await fsp.lstat(f.path).catch(() => null);
    if (!st || !st.isFile() || st.size !== f.size) return { text: t("transmission.not-on-disk", { path: f.path }) };
    if (!isWithin(r.localDir, f.path)) return { text: t("transmission.outside-folder", { path: f.path }) };
    const parts = path.relative(r.localDir, f.path).split(path.sep);
    tops.add(parts[0]!);
    files.push({ name: parts.join("/"), length: f.size });
  }
  return { files, top: tops.size === 1 ? [...tops][0]! : null };
}

/**
 * The owner and mode set on what this node made for the torrent: the files it wrote (unchanged
 * since: same inode), the folders it created for them, and the category folders it created.
 * The first failure is the text of why (the torrent fails with it; a retry sets them again).
 */
async function ownWhatWasMade(r: TorrentRecord, owner: OwnerSettings, madeFolders: string[]): Promise<Text | null> {
  const local = (name: string) => path.join(r.localDir, ...name.split("/"));
  for (const w of r.written ?? []) {
    const problem = await applyOwner(local(w.name), "file", owner, w.ino);
    if (problem) return problem;
  }
  const inside = (r.createdDirs ?? []).map(local).filter((d) => isWithin(r.localDir, d));
  for (const d of [...inside, ...madeFolders]) {
    const problem = await applyOwner(d, "dir", owner);
    if (problem) return problem;
  }
  return null;
}

function subtitleSummary(s: JobSubtitles): Record<string, unknown> {
  return {
    written: s.written,
    identical: s.identical,
    missing: s.missing,
    failed: s.failed.map((f) => ({ name: f.name, language: f.language, message: f.error.message })),
  };
}

/** The files of a finished torrent that are missing or changed in size on disk (verify). */
export async function missingOnDisk(r: TorrentRecord): Promise<boolean> {
  const missing = await Promise.all(
    r.files.map(async (f) => {
      const st = await fsp.lstat(path.join(r.localDir, ...f.name.split("/"))).catch(() => null);
      return !st || !st.isFile() || st.size !== f.length;
    }),
  );
  return missing.some(Boolean);
}
