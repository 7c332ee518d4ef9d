/**
 * DownloadScheduler: runs download jobs (a file, or a folder mirrored with filters) for one
 * put.io account under the account's limits: files at once, connections per file, bandwidth cap.
 * One scheduler is shared by every download node of the account.
 */
import { setMaxListeners } from "node:events";
import * as path from "node:path";
import type { PutioClient } from "../client";
import { PutioAbortError, PutioBaseError, PutioInputError, PutioTransferIntegrityError, redactError } from "../core/errors";
import { linkSignals } from "../core/signals";
import { t } from "../core/texts";
import { checkId } from "../core/wire";
import type { PutioFile } from "../domains/files";
import { splitPath } from "../domains/paths";
import {
  DEFAULT_ENGINE_OPTIONS,
  downloadFile,
  type CollisionPolicy,
  type DownloadProgress,
  type EngineContext,
  type EngineOptions,
  type FileResult,
  type RemoteFile,
} from "./engine";
import { compileFilter, type FileFilter } from "../domains/filters";
import { PathClaims } from "./claims";
import { ensureTargetFolder, lstatOrNull, nodeFs, type DownloadFs } from "./fs";
import { BandwidthLimiter, Semaphore, wallClock, type Clock } from "./limiter";
import { assertInside, planLocalNames, type RemoteEntry } from "./names";
import { archiveVolumeOf } from "../media/archive-sets";
import { PutioExtractionError } from "../media/errors";
import { extractAndWait, type ExtractStatus } from "../media/extract";
import { mp4VersionOf } from "../media/mp4";

export interface DownloadLimits {
  /** Files downloading at once for the whole account. */
  filesAtOnce: number;
  /** A number, or "auto": as many as raise the throughput (EngineOptions.connectionsPerFile). */
  connectionsPerFile: number | "auto";
  segmentThreshold: number;
  /** Bytes per second for the whole account; null/0 = unlimited. */
  bandwidth: number | null;
  /** Local time window without the cap ("01:00-07:00"). */
  unlimitedWindow: string | null;
  /** How long a download waits for put.io to come back before it fails (EngineOptions.outageWaitMs). */
  outageWaitMs?: number;
}

export const DEFAULT_LIMITS: DownloadLimits = {
  filesAtOnce: 2,
  connectionsPerFile: DEFAULT_ENGINE_OPTIONS.connectionsPerFile,
  segmentThreshold: DEFAULT_ENGINE_OPTIONS.segmentThreshold,
  bandwidth: null,
  unlimitedWindow: null,
};

/** "auto" stays; a number is at least 1 (anything else is "auto"). */
function connectionsOf(v: number | "auto"): number | "auto" {
  return typeof v === "number" && Number.isFinite(v) ? Math.max(1, Math.floor(v)) : "auto";
}

/**
 * What a job downloads. A `file` object is read from put.io again first (one from a msg may be
 * stale), unless `current`: the caller listed it from put.io a moment ago (a sync run).
 */
export type DownloadSource = { fileId: number | string } | { folderId: number | string } | { file: RemoteFile; current?: boolean } | { path: string };

/** "Extract the archives on put.io first": what a job asks for. */
export interface ExtractFirst {
  /** The archives' password; never logged, kept or put in an error. */
  password?: string;
  /** Also download the archive volumes (default: skip them; skipped volumes stay on put.io, never deleted). */
  keepArchives?: boolean;
  /** The extraction this job already ran (a resumed job): put.io is not asked to extract again. */
  done?: ExtractionDone | null;
  /** Called once put.io finished extracting, before any download (keep it to resume without extracting twice). */
  onExtracted?: (done: ExtractionDone) => void;
  onStatus?: (s: ExtractStatus) => void;
  /** First delay between checks of put.io's extraction list (tests shorten it). */
  pollMs?: number;
}

/** What an extraction produced, as plain JSON (journals keep it). */
export interface ExtractionDone {
  /** The archives extracted (first volumes' names). */
  archives: string[];
  /** Every volume of those archives. */
  partIds: number[];
  /** What appeared directly beside the archives (files and folders). */
  topIds: number[];
}

export interface DownloadJob {
  source: DownloadSource;
  /** Absolute local folder; created when missing. */
  target: string;
  filter?: FileFilter | null;
  ifExists?: CollisionPolicy;
  /** Delete the downloaded put.io files once every file of the job is verified. */
  deleteAfter?: { skipTrash?: boolean } | null;
  /** Plan only: nothing is written locally and nothing deleted; the result lists what would be. */
  dryRun?: boolean;
  /** Extract archives on put.io first and download what came out (not with dryRun: extracting changes put.io). */
  extract?: ExtractFirst | null;
  /** Take a video's MP4 version when put.io has one ready (size-verified: put.io gives no CRC32 for it). */
  preferMp4?: boolean;
  signal?: AbortSignal;
  onFile?: (result: FileResult) => void;
  /**
   * Work that needs the job's files still on put.io (their subtitles): runs once every file is
   * verified on disk, before any delete. A throw fails the job, and nothing is deleted.
   */
  afterFiles?: (files: FileResult[], signal: AbortSignal) => Promise<void>;
  onProgress?: (progress: DownloadProgress) => void;
  /** Called once the files to download are known. */
  onPlan?: (files: Array<{ file: RemoteFile; putioPath: string }>) => void;
}

export interface FileFailure {
  fileId: number;
  name: string;
  putioPath: string;
  error: Error;
}

export interface JobResult {
  downloaded: number;
  skipped: number;
  failed: number;
  files: FileResult[];
  errors: FileFailure[];
  /** put.io file ids deleted after verification (empty unless deleteAfter and nothing failed). */
  deletedFileIds: number[];
  bytes: number;
  seconds: number;
  /** What the job was: the folder or file on put.io. */
  source: { id: number; name: string; isFolder: boolean };
  /** With extract: the archives put.io extracted and how many of their volumes were not downloaded. */
  extraction?: { archives: string[]; partsSkipped: number };
  /** Dry runs only: every file the job would download, where it would land, and the deletes. */
  dryRun?: {
    files: Array<{ fileId: number; name: string; putioPath: string; path: string; size: number; localExists: boolean }>;
    wouldDeleteFileIds: number[];
  };
}

/** What an observer of the scheduler sees, per file of every job (progress, done, failed, stopped by an abort). */
export type DownloadSighting =
  | { kind: "progress"; progress: DownloadProgress }
  | { kind: "file"; result: FileResult }
  | { kind: "failed"; fileId: number; name: string; putioPath: string; error: Error }
  | { kind: "stopped"; fileId: number };

export interface SchedulerOptions {
  fs?: DownloadFs;
  clock?: Clock;
  engine?: Partial<EngineOptions>;
}

interface PlannedFile {
  file: RemoteFile;
  putioPath: string;
  /** Folders on put.io from the job's source down to the file's parent. */
  folders: RemoteEntry[];
  /** Local folder names under the target and the local file name (planLocalNames). */
  dirs: string[];
  localName: string;
}

export class DownloadScheduler {
  private readonly ctx: EngineContext;
  private readonly slots: Semaphore;
  private readonly closing = new AbortController();
  private readonly running = new Set<Promise<unknown>>();
  private readonly observers = new Set<(s: DownloadSighting) => void>();

  constructor(
    private readonly client: PutioClient,
    limits: Partial<DownloadLimits> = {},
    opts: SchedulerOptions = {},
  ) {
    const l = { ...DEFAULT_LIMITS, ...limits };
    const clock = opts.clock ?? wallClock;
    setMaxListeners(0, this.closing.signal);
    this.slots = new Semaphore(l.filesAtOnce);
    this.ctx = {
      client,
      fs: opts.fs ?? nodeFs,
      clock,
      limiter: new BandwidthLimiter({ bytesPerSecond: l.bandwidth, unlimitedWindow: l.unlimitedWindow }, clock),
      connectionBudget: new Semaphore(opts.engine?.maxConnectionsPerAccount ?? DEFAULT_ENGINE_OPTIONS.maxConnectionsPerAccount),
      learnedConnections: { count: 0 },
      options: {
        ...DEFAULT_ENGINE_OPTIONS,
        ...opts.engine,
        connectionsPerFile: connectionsOf(l.connectionsPerFile),
        segmentThreshold: l.segmentThreshold,
        ...(l.outageWaitMs !== undefined ? { outageWaitMs: l.outageWaitMs } : {}),
      },
      localCrcCache: new Map(),
    };
  }

  /** New limits (a redeployed node): apply to files that start from now on. */
  configure(limits: Partial<DownloadLimits>): void {
    const l = { ...DEFAULT_LIMITS, ...limits };
    this.slots.setLimit(l.filesAtOnce);
    this.ctx.limiter.configure({ bytesPerSecond: l.bandwidth, unlimitedWindow: l.unlimitedWindow });
    this.ctx.options.connectionsPerFile = connectionsOf(l.connectionsPerFile);
    this.ctx.options.segmentThreshold = Math.max(0, l.segmentThreshold);
    if (l.outageWaitMs !== undefined) this.ctx.options.outageWaitMs = Math.max(0, l.outageWaitMs);
  }

  /** Follow every file of every job (an account's overview); returns the unsubscribe function. */
  observe(observer: (s: DownloadSighting) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private tell(s: DownloadSighting): void {
    for (const o of this.observers) {
      try {
        o(s);
      } catch {
        /* an observer's failure must not fail a download */
      }
    }
  }

  /** Abort every job (account closing); resumable parts stay on disk. */
  async close(): Promise<void> {
    this.closing.abort(new Error("download scheduler closed"));
    await Promise.allSettled([...this.running]);
  }

  run(job: DownloadJob): Promise<JobResult> {
    const link = linkSignals(job.signal, this.closing.signal);
    const p = this.runJob(job, link.signal);
    this.running.add(p);
    const forget = () => {
      this.running.delete(p);
      link.dispose();
    };
    p.then(forget, forget);
    return p;
  }

  private async runJob(job: DownloadJob, signal: AbortSignal): Promise<JobResult> {
    // Every file of a job waits on this one signal (for a slot, a claim, a sleep): many are normal.
    if (signal !== this.closing.signal) setMaxListeners(0, signal);
    const started = this.ctx.clock.now();
    const fs = this.ctx.fs;
    if (!path.isAbsolute(job.target)) throw new PutioInputError(t("op.download-job"), t("input.not-absolute-target", { path: String(job.target) }));
    const root = path.resolve(job.target);
    const { source, planned, extraction } = await this.plan(job, signal);
    job.onPlan?.(planned.map(({ file, putioPath }) => ({ file, putioPath })));
    const localPathOf = (p: PlannedFile) => path.join(root, ...p.dirs, p.localName);
    if (job.dryRun) return this.dryRunResult(job, root, planned, localPathOf, source, started);

    await ensureTargetFolder(fs, root);
    const realRoot = await fs.realpath(root);
    // Every local path of the job, so a keep-both name never takes one another file will use.
    const jobPaths = new Set(planned.map((p) => PathClaims.key(localPathOf(p))));
    const files: FileResult[] = [];
    const errors: FileFailure[] = [];
    await Promise.all(
      planned.map(async (p) => {
        let release: (() => void) | null = null;
        try {
          release = await this.slots.acquire(signal);
          const dir = await this.makeDirs(realRoot, root, p.dirs);
          const result = await downloadFile(this.ctx, p.file, dir, {
            ifExists: job.ifExists ?? "skip-identical",
            putioPath: p.putioPath,
            localName: p.localName,
            reserved: (candidate) => jobPaths.has(PathClaims.key(candidate)),
            signal,
            onProgress: (progress) => {
              job.onProgress?.(progress);
              this.tell({ kind: "progress", progress });
            },
          });
          files.push(result);
          this.tell({ kind: "file", result });
          job.onFile?.(result);
        } catch (err) {
          if (signal.aborted) return this.tell({ kind: "stopped", fileId: p.file.id });
          const error = toError(err, this.client);
          errors.push({ fileId: p.file.id, name: p.file.name, putioPath: p.putioPath, error });
          this.tell({ kind: "failed", fileId: p.file.id, name: p.file.name, putioPath: p.putioPath, error });
        } finally {
          release?.();
        }
      }),
    );
    if (signal.aborted) throw new PutioAbortError(t("op.download", { name: source.name || "/" }), signal.reason);

    if (job.afterFiles && errors.length === 0 && files.length) await job.afterFiles(files, signal);
    const deletedFileIds: number[] = [];
    // Deleting is the "move" half of an offload: only after every file of the job is verified.
    if (job.deleteAfter && errors.length === 0 && files.length) {
      const ids = await this.verifiedForDelete(files, signal);
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        await this.client.files.delete(chunk, { skipTrash: !!job.deleteAfter.skipTrash, signal });
        deletedFileIds.push(...chunk);
      }
    }
    const downloaded = files.filter((f) => f.status === "downloaded");
    return {
      downloaded: downloaded.length,
      skipped: files.length - downloaded.length,
      failed: errors.length,
      files,
      errors,
      deletedFileIds,
      bytes: downloaded.reduce((n, f) => n + f.size - f.resumedBytes, 0),
      seconds: (this.ctx.clock.now() - started) / 1000,
      source,
      ...(extraction ? { extraction } : {}),
    };
  }

  /**
   * Local folders of a file, created one level at a time inside the target; a link among them
   * must still lead inside the target (its real path is checked).
   */
  private async makeDirs(realRoot: string, root: string, dirs: string[]): Promise<string> {
    const fs = this.ctx.fs;
    let dir = root;
    for (const d of dirs) {
      dir = path.join(dir, d);
      assertInside(root, dir);
      await fs.mkdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "EEXIST") throw err;
      });
      const real = await fs.realpath(dir);
      const rel = path.relative(realRoot, real);
      if (rel.startsWith("..") || path.isAbsolute(rel)) throw new PutioInputError(t("op.download-job"), t("input.link-outside-target", { path: dir }));
      if (!(await fs.stat(real)).isDirectory()) throw new PutioInputError(t("op.download-job"), t("input.not-a-folder", { path: dir }));
    }
    return dir;
  }

  /**
   * The put.io ids that may be deleted: each file's own local path holds a regular file of its
   * size, and no two files claim one path. Anything else is an internal fault: nothing is deleted.
   */
  private async verifiedForDelete(files: FileResult[], signal: AbortSignal): Promise<number[]> {
    const seen = new Map<string, FileResult>();
    for (const f of files) {
      if (signal.aborted) throw signal.reason;
      const key = PathClaims.key(f.path);
      const other = seen.get(key);
      if (other)
        throw new PutioTransferIntegrityError(
          t("op.delete-after-download"),
          t("download.same-path-twice", { first: other.fileId, second: f.fileId, path: f.path }),
        );
      seen.set(key, f);
      const st = await lstatOrNull(this.ctx.fs, f.path);
      if (!st || !st.isFile() || st.size !== f.size) {
        throw new PutioTransferIntegrityError(t("op.delete-after-download"), t("download.not-on-disk", { path: f.path, id: f.fileId }));
      }
    }
    return files.map((f) => f.fileId);
  }

  private async dryRunResult(
    job: DownloadJob,
    root: string,
    planned: PlannedFile[],
    localPathOf: (p: PlannedFile) => string,
    source: JobResult["source"],
    started: number,
  ): Promise<JobResult> {
    const files = await Promise.all(
      planned.map(async (p) => {
        const local = localPathOf(p);
        assertInside(root, local);
        const there = await lstatOrNull(this.ctx.fs, local).catch(() => null);
        return { fileId: p.file.id, name: p.file.name, putioPath: p.putioPath, path: local, size: p.file.size, localExists: !!there };
      }),
    );
    return {
      downloaded: 0,
      skipped: 0,
      failed: 0,
      files: [],
      errors: [],
      deletedFileIds: [],
      bytes: 0,
      seconds: (this.ctx.clock.now() - started) / 1000,
      source,
      dryRun: { files, wouldDeleteFileIds: job.deleteAfter ? files.map((f) => f.fileId) : [] },
    };
  }

  /** Resolve the source and list the files to fetch, with their local folders. */
  private async plan(
    job: DownloadJob,
    signal: AbortSignal,
  ): Promise<{ source: JobResult["source"]; planned: PlannedFile[]; extraction?: JobResult["extraction"] }> {
    const files = this.client.files;
    const keep = compileFilter(job.filter, this.ctx.clock.now());
    const src = job.source;
    let root: PutioFile | RemoteFile;
    if ("file" in src) {
      root = src.file;
    } else if ("path" in src) {
      root = await this.byPath(src.path, signal);
    } else {
      const id = checkId("fileId" in src ? src.fileId : src.folderId, t("op.download-job"), t("what.file-or-folder-id"));
      root = id === 0 ? { id: 0, name: "", size: 0, file_type: "FOLDER" } : await files.get(id, signal);
    }
    const extracted = job.extract && !job.dryRun ? await this.extractFirst(job.extract, root, signal) : null;
    const skip = new Set(extracted && !job.extract?.keepArchives ? extracted.partIds : []);
    const planned: PlannedFile[] = [];
    const walk = async (folderId: number, folders: RemoteEntry[]) => {
      for await (const f of files.list(folderId, { signal })) {
        if (skip.has(f.id)) continue;
        if (f.file_type === "FOLDER") await walk(f.id, [...folders, { id: f.id, name: f.name }]);
        else if (keep(f)) planned.push({ file: f, putioPath: [...folders.map((d) => d.name), f.name].join("/"), folders, dirs: [], localName: "" });
      }
    };
    let source: JobResult["source"];
    if (root.file_type !== "FOLDER" && extracted) {
      // An archive given as a file: what came out of it (and its volumes, when kept) beside it.
      const wanted = new Set([...extracted.topIds, ...(job.extract?.keepArchives ? extracted.partIds : [])]);
      const parentId = root.parent_id === undefined ? (await files.get(root.id, signal)).parent_id : root.parent_id;
      if (parentId === null) throw new PutioInputError(t("op.download-job"), t("input.no-folder"));
      for await (const f of files.list(parentId, { signal })) {
        if (!wanted.has(f.id)) continue;
        if (f.file_type === "FOLDER") await walk(f.id, [{ id: f.id, name: f.name }]);
        else if (keep(f)) planned.push({ file: f, putioPath: f.name, folders: [], dirs: [], localName: "" });
      }
      source = { id: root.id, name: root.name, isFolder: false };
    } else if (root.file_type !== "FOLDER") {
      // A file object from a message may be stale: take put.io's current size and crc32.
      const fresh = "file" in src && !src.current ? await files.get(root.id, signal) : root;
      if (keep(fresh)) planned.push({ file: fresh, putioPath: fresh.name, folders: [], dirs: [], localName: "" });
      source = { id: fresh.id, name: fresh.name, isFolder: false };
    } else {
      // The folder itself becomes a folder under the target (root = the target itself).
      await walk(root.id, root.id === 0 ? [] : [{ id: root.id, name: root.name }]);
      source = { id: root.id, name: root.name, isFolder: true };
    }
    if (extracted && !planned.some((p) => !skip.has(p.file.id) && !extracted.partIds.includes(p.file.id))) {
      // Only archive volumes (or nothing) left: a job that wrote nothing new must not look done.
      const name = extracted.archives.join(", ");
      throw new PutioExtractionError(t("extract.nothing-out", { name }), { kind: "empty", archive: name });
    }
    if (job.preferMp4) await this.takeMp4Versions(planned, signal);
    return {
      source,
      planned: withLocalNames(planned),
      ...(extracted ? { extraction: { archives: extracted.archives, partsSkipped: skip.size } } : {}),
    };
  }

  /**
   * put.io's extraction of the archives in the job's folder, or of the archive given as a file;
   * null when there is nothing to extract (no archive, or a file that is none).
   */
  private async extractFirst(opts: ExtractFirst, root: PutioFile | RemoteFile, signal: AbortSignal): Promise<ExtractionDone | null> {
    if (opts.done) return opts.done;
    const isFolder = root.file_type === "FOLDER";
    if (!isFolder && !archiveVolumeOf(root.name)) return null;
    const r = await extractAndWait(this.client, root.id, { password: opts.password, signal, onStatus: opts.onStatus, pollMs: opts.pollMs });
    if (!r.sets.length) return null;
    const done: ExtractionDone = { archives: r.sets.map((s) => s.name), partIds: r.parts.map((p) => p.file.id), topIds: r.top.map((f) => f.id) };
    opts.onExtracted?.(done);
    return done;
  }

  /** Videos with a ready MP4 version on put.io are fetched as that version (name `<video>.mp4`). */
  private async takeMp4Versions(planned: PlannedFile[], signal: AbortSignal): Promise<void> {
    for (const p of planned) {
      const f = p.file as RemoteFile & { is_mp4_available?: unknown };
      // put.io's listing says when there is none: no request for those.
      if (f.file_type !== "VIDEO" || f.is_mp4_available === false || /\.mp4$/i.test(f.name)) continue;
      const version = await mp4VersionOf(this.client, f, signal);
      if (!version || !(version.size > 0)) continue;
      p.file = { id: f.id, name: version.name, size: version.size, crc32: null, file_type: "VIDEO", parent_id: f.parent_id, variant: "mp4" };
    }
  }

  private async byPath(p: string, signal: AbortSignal): Promise<PutioFile | RemoteFile> {
    const attempted = t("op.find-path", { path: p });
    const parts = splitPath(p, attempted);
    if (!parts.length) return { id: 0, name: "", size: 0, file_type: "FOLDER" };
    const parentId = await this.client.paths.resolve("/" + parts.slice(0, -1).join("/"), { signal });
    const found = parentId === null ? null : await this.client.files.child(parentId, parts[parts.length - 1]!, signal);
    if (!found) throw new PutioInputError(attempted, t("input.does-not-exist", { path: p }));
    return found;
  }
}

/** Every local path of the job decided before any write, one-to-one (see planLocalNames). */
function withLocalNames(planned: PlannedFile[]): PlannedFile[] {
  const names = planLocalNames(planned.map((p) => ({ folders: p.folders, file: { id: p.file.id, name: p.file.name } })));
  return planned.map((p, i) => ({ ...p, dirs: names[i]!.dirs, localName: names[i]!.name }));
}

function toError(err: unknown, client: PutioClient): Error {
  const e = err instanceof Error ? err : new PutioBaseError(t("op.download-job"), String(err));
  return redactError(e, client.transport.accessToken);
}
