/**
 * DownloadScheduler: runs download jobs (a file, or a folder mirrored with filters) for one
 * put.io account under the account's limits: files at once, connections per file, bandwidth cap.
 * One scheduler is shared by every download node of the account.
 */
import { setMaxListeners } from "node:events";
import * as path from "node:path";
import type { PutioClient } from "../client";
import { wallClock, type Clock } from "../core/clock";
import { PutioAbortError, PutioBaseError, PutioInputError, PutioTransferIntegrityError, redactError } from "../core/errors";
import { Semaphore } from "../core/semaphore";
import { linkSignals } from "../core/signals";
import { t } from "../core/texts";
import { ensureTargetFolder, makeFoldersInside } from "../local/folders";
import { lstatOrNull, nodeFs, type LocalFs } from "../local/fs";
import { assertInside, foldName } from "../local/names";
import { ownershipLedger, type OwnershipLedger } from "../local/ownership";
import { markOf, sameMark } from "../local/place";
import { DEFAULT_ENGINE_OPTIONS, downloadFile, type EngineContext, type EngineOptions, type FileResult } from "./engine";
import { DEFAULT_LIMITS, type DownloadJob, type DownloadLimits, type DownloadSighting, type FileFailure, type JobResult } from "./job";
import { BandwidthLimiter } from "./limiter";
import { planJob, type PlannedFile } from "./plan";

export * from "./job";

/** "auto" stays; a number is at least 1 (anything else is "auto"). */
function connectionsOf(v: number | "auto"): number | "auto" {
  return typeof v === "number" && Number.isFinite(v) ? Math.max(1, Math.floor(v)) : "auto";
}

export interface SchedulerOptions {
  fs?: LocalFs;
  /** What this package wrote (default: the process's in-memory ledger; nodes pass the one in the user directory). */
  ledger?: OwnershipLedger;
  clock?: Clock;
  engine?: Partial<EngineOptions>;
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
      ledger: opts.ledger ?? ownershipLedger(null),
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
    const { source, planned, extraction } = await planJob(this.client, job, this.ctx.clock.now(), signal);
    job.onPlan?.(planned.map(({ file, putioPath }) => ({ file, putioPath })));
    const localPathOf = (p: PlannedFile) => path.join(root, ...p.dirs, p.localName);
    if (job.dryRun) return this.dryRunResult(job, root, planned, localPathOf, source, started);

    await ensureTargetFolder(fs, root);
    const realRoot = await fs.realpath(root);
    // Every local path of the job, so a keep-both name never takes one another file will use.
    const jobPaths = new Set(planned.map((p) => foldName(localPathOf(p))));
    const files: FileResult[] = [];
    const errors: FileFailure[] = [];
    await Promise.all(
      planned.map(async (p) => {
        let release: (() => void) | null = null;
        try {
          release = await this.slots.acquire(signal);
          const dir = await makeFoldersInside(this.ctx.fs, realRoot, root, p.dirs);
          const result = await downloadFile(this.ctx, p.file, dir, {
            ifExists: job.ifExists ?? "skip-identical",
            putioPath: p.putioPath,
            localName: p.localName,
            needProof: !!job.deleteAfter,
            reserved: (candidate) => jobPaths.has(foldName(candidate)),
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
   * The put.io ids that may be deleted: each file has proof that its bytes are on disk now, at its
   * own path (FileResult.local: the CRC32 of the local bytes equals put.io's, or put.io gives none
   * and this job wrote or fetched them), the file there is still the one the proof describes (same
   * device, inode, size, mtime and ctime: nothing touched it since), and no two files are one local
   * file (a folder link inside the target). Anything else: nothing is deleted.
   */
  private async verifiedForDelete(files: FileResult[], signal: AbortSignal): Promise<number[]> {
    const seen = new Map<string, FileResult>();
    const op = t("op.delete-after-download");
    for (const f of files) {
      if (signal.aborted) throw signal.reason;
      const proof = f.local;
      if (!proof || proof.basis === "owned") throw new PutioTransferIntegrityError(op, t("download.not-proven", { path: f.path, id: f.fileId }));
      const st = await lstatOrNull(this.ctx.fs, f.path);
      if (!st || !st.isFile() || st.size !== f.size || !sameMark(markOf(st), proof))
        throw new PutioTransferIntegrityError(op, t("download.not-on-disk", { path: f.path, id: f.fileId }));
      const key = `${st.dev}:${st.ino}`;
      const other = seen.get(key);
      if (other) throw new PutioTransferIntegrityError(op, t("download.same-path-twice", { first: other.fileId, second: f.fileId, path: f.path }));
      seen.set(key, f);
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
}

function toError(err: unknown, client: PutioClient): Error {
  const e = err instanceof Error ? err : new PutioBaseError(t("op.download-job"), String(err));
  return redactError(e, client.transport.accessToken);
}
