/**
 * DownloadScheduler: runs download jobs (a file, or a folder mirrored with filters) for one
 * put.io account under the account's limits: files at once, connections per file, bandwidth cap.
 * One scheduler is shared by every download node of the account.
 */
import * as path from "node:path";
import type { PutioClient } from "../client";
import { PutioAbortError, PutioBaseError, PutioInputError, redact } from "../errors";
import { checkId, type PutioFile } from "../domains/files";
import { splitPath } from "../paths";
import { DEFAULT_ENGINE_OPTIONS, downloadFile, type CollisionPolicy, type DownloadProgress, type EngineContext, type EngineOptions, type FileResult, type RemoteFile } from "./engine";
import { compileFilter, type FileFilter } from "../filters";
import { nodeFs, type DownloadFs } from "./fs";
import { BandwidthLimiter, Semaphore, wallClock, type Clock } from "./limiter";
import { assertInside, sanitizeName } from "./names";

export interface DownloadLimits {
  /** Files downloading at once for the whole account. */
  filesAtOnce: number;
  connectionsPerFile: number;
  segmentThreshold: number;
  /** Bytes per second for the whole account; null/0 = unlimited. */
  bandwidth: number | null;
  /** Local time window without the cap ("01:00-07:00"). */
  unlimitedWindow: string | null;
}

export const DEFAULT_LIMITS: DownloadLimits = {
  filesAtOnce: 2,
  connectionsPerFile: DEFAULT_ENGINE_OPTIONS.connectionsPerFile,
  segmentThreshold: DEFAULT_ENGINE_OPTIONS.segmentThreshold,
  bandwidth: null,
  unlimitedWindow: null,
};

export type DownloadSource = { fileId: number | string } | { folderId: number | string } | { file: RemoteFile } | { path: string };

export interface DownloadJob {
  source: DownloadSource;
  /** Absolute local folder; created when missing. */
  target: string;
  filter?: FileFilter | null;
  ifExists?: CollisionPolicy;
  /** Delete the downloaded put.io files once every file of the job is verified. */
  deleteAfter?: { skipTrash?: boolean } | null;
  signal?: AbortSignal;
  onFile?: (result: FileResult) => void;
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
}

export interface SchedulerOptions {
  fs?: DownloadFs;
  clock?: Clock;
  engine?: Partial<EngineOptions>;
}

interface PlannedFile {
  file: RemoteFile;
  putioPath: string;
  /** Sanitised local folder names under the target. */
  dirs: string[];
}

export class DownloadScheduler {
  private readonly ctx: EngineContext;
  private readonly slots: Semaphore;
  private readonly closing = new AbortController();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly client: PutioClient,
    limits: Partial<DownloadLimits> = {},
    opts: SchedulerOptions = {},
  ) {
    const l = { ...DEFAULT_LIMITS, ...limits };
    const clock = opts.clock ?? wallClock;
    this.slots = new Semaphore(l.filesAtOnce);
    this.ctx = {
      client,
      fs: opts.fs ?? nodeFs,
      clock,
      limiter: new BandwidthLimiter({ bytesPerSecond: l.bandwidth, unlimitedWindow: l.unlimitedWindow }, clock),
      options: { ...DEFAULT_ENGINE_OPTIONS, ...opts.engine, connectionsPerFile: l.connectionsPerFile, segmentThreshold: l.segmentThreshold },
      localCrcCache: new Map(),
    };
  }

  /** New limits (a redeployed node): apply to files that start from now on. */
  configure(limits: Partial<DownloadLimits>): void {
    const l = { ...DEFAULT_LIMITS, ...limits };
    this.slots.setLimit(l.filesAtOnce);
    this.ctx.limiter.configure({ bytesPerSecond: l.bandwidth, unlimitedWindow: l.unlimitedWindow });
    this.ctx.options.connectionsPerFile = Math.max(1, Math.floor(l.connectionsPerFile));
    this.ctx.options.segmentThreshold = Math.max(0, l.segmentThreshold);
  }

  /** Abort every job (account closing); resumable parts stay on disk. */
  async close(): Promise<void> {
    this.closing.abort(new Error("download scheduler closed"));
    await Promise.allSettled([...this.running]);
  }

  run(job: DownloadJob): Promise<JobResult> {
    const p = this.runJob(job);
    this.running.add(p);
    const forget = () => this.running.delete(p);
    p.then(forget, forget);
    return p;
  }

  private async runJob(job: DownloadJob): Promise<JobResult> {
    const signal = job.signal ? AbortSignal.any([job.signal, this.closing.signal]) : this.closing.signal;
    const started = this.ctx.clock.now();
    const fs = this.ctx.fs;
    if (!path.isAbsolute(job.target)) throw new PutioInputError("download", `the target folder "${job.target}" is not an absolute path`);
    const root = path.resolve(job.target);
    const { source, planned } = await this.plan(job, signal);
    job.onPlan?.(planned.map(({ file, putioPath }) => ({ file, putioPath })));

    await fs.mkdir(root, { recursive: true });
    const realRoot = await fs.realpath(root);
    const files: FileResult[] = [];
    const errors: FileFailure[] = [];
    await Promise.all(
      planned.map(async (p) => {
        let release: (() => void) | null = null;
        try {
          release = await this.slots.acquire(signal);
          const dir = path.join(root, ...p.dirs);
          assertInside(root, path.join(dir, "x"));
          await fs.mkdir(dir, { recursive: true });
          // A symlinked folder inside the target must not lead the write elsewhere.
          assertInside(realRoot, path.join(await fs.realpath(dir), "x"));
          const result = await downloadFile(this.ctx, p.file, dir, { ifExists: job.ifExists ?? "skip-identical", putioPath: p.putioPath, signal, onProgress: job.onProgress });
          files.push(result);
          job.onFile?.(result);
        } catch (err) {
          if (signal.aborted) return;
          errors.push({ fileId: p.file.id, name: p.file.name, putioPath: p.putioPath, error: toError(err, this.client) });
        } finally {
          release?.();
        }
      }),
    );
    if (signal.aborted) throw new PutioAbortError(`download "${source.name || "/"}"`, signal.reason);

    const deletedFileIds: number[] = [];
    // Deleting is the "move" half of an offload: only after every file of the job is verified.
    if (job.deleteAfter && errors.length === 0 && files.length) {
      const ids = files.map((f) => f.fileId);
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
    };
  }

  /** Resolve the source and list the files to fetch, with their local folders. */
  private async plan(job: DownloadJob, signal: AbortSignal): Promise<{ source: JobResult["source"]; planned: PlannedFile[] }> {
    const files = this.client.files;
    const keep = compileFilter(job.filter, this.ctx.clock.now());
    const src = job.source;
    let root: PutioFile | RemoteFile;
    if ("file" in src) {
      root = src.file;
    } else if ("path" in src) {
      root = await this.byPath(src.path, signal);
    } else {
      const id = checkId("fileId" in src ? src.fileId : src.folderId, "download", "file or folder id");
      root = id === 0 ? { id: 0, name: "", size: 0, file_type: "FOLDER" } : await files.get(id, signal);
    }
    if (root.file_type !== "FOLDER") {
      // A file object from a message may be stale: take put.io's current size and crc32.
      const fresh = "file" in src ? await files.get(root.id, signal) : root;
      return { source: { id: fresh.id, name: fresh.name, isFolder: false }, planned: keep(fresh) ? [{ file: fresh, putioPath: fresh.name, dirs: [] }] : [] };
    }
    const planned: PlannedFile[] = [];
    const walk = async (folderId: number, putioDir: string[], dirs: string[]) => {
      for await (const f of files.list(folderId, { signal })) {
        if (f.file_type === "FOLDER") await walk(f.id, [...putioDir, f.name], [...dirs, sanitizeName(f.name)]);
        else if (keep(f)) planned.push({ file: f, putioPath: [...putioDir, f.name].join("/"), dirs });
      }
    };
    // The folder itself becomes a folder under the target (root = the target itself).
    const top = root.id === 0 ? [] : [root.name];
    await walk(root.id, top, top.map(sanitizeName));
    return { source: { id: root.id, name: root.name, isFolder: true }, planned };
  }

  private async byPath(p: string, signal: AbortSignal): Promise<PutioFile | RemoteFile> {
    const attempted = `find "${p}" on put.io`;
    const parts = splitPath(p, attempted);
    if (!parts.length) return { id: 0, name: "", size: 0, file_type: "FOLDER" };
    const parentId = await this.client.paths.resolve("/" + parts.slice(0, -1).join("/"), { signal });
    const found = parentId === null ? null : await this.client.files.child(parentId, parts[parts.length - 1], signal);
    if (!found) throw new PutioInputError(attempted, `"${p}" does not exist on put.io`);
    return found;
  }
}

function toError(err: unknown, client: PutioClient): Error {
  const e = err instanceof Error ? err : new PutioBaseError("download", String(err));
  const clean = redact(e.message, client.transport.accessToken);
  if (clean !== e.message) e.message = clean;
  return e;
}
