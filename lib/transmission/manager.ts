/**
 * TorrentManager: the torrents a Transmission client added, from put.io to verified files on disk
 * and back out on removal. It is the RPC backend (rpc.ts) and sits on top of two engines:
 * - the account's TransferWatcher (socket pushes + list reconciles) tells it when put.io finished
 *   or failed a transfer: torrent-get is answered from memory, so an app polling every few seconds
 *   costs put.io no request at all (progress between status changes comes from the socket's own
 *   pushes, which cost none either);
 * - the account's DownloadScheduler copies the result to `<download dir>/<category>/<name>`
 *   (verified, resumable, under the account's limits shared with the download nodes).
 * A torrent is finished only when every file of the job was verified and is on disk. Nothing on
 * put.io is deleted before that; clean-up happens when the app removes the torrent.
 *
 * No Node-RED here: the node gives it the client, the watcher, the scheduler and a state store.
 *
 * Over 400 lines because it is one state machine (phases added → on put.io → copying → on disk →
 * removed, each reachable from a restart, plus put.io's seeding): its transitions read best side by
 * side. What is not a transition has its own file: types.ts (state, events, options), placement.ts
 * (where a torrent goes, containment), session.ts (session-get/set, free-space), local-copy.ts (what
 * the copy wrote, the local clean-up), cleanup.ts (put.io's clean-ups kept until done), model.ts
 * (a torrent's fields), store.ts (its state), rpc.ts and http.ts (the protocol).
 */
import { createHash } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { PutioError } from "../core/errors";
import { render, t, type Text } from "../core/texts";
import type { SocketEvent } from "../core/socket";
import { statusClass, type Transfer } from "../domains/transfers";
import type { JobResult } from "../download/scheduler";
import { writeJobSubtitles, type JobSubtitles } from "../media-jobs/subtitles";
import { sanitizeName } from "../local/names";
import { emptyLive, fieldGetters, percentDone, secondsSeeding, seedGoalReached, type LiveProgress, type Phase, type TorrentRecord } from "./model";
import { RpcError, type AddArgs, type IdSelector, type RpcBackend } from "./rpc";
import { SourceError, normalHash, parseMagnet, parseMetainfo, type TorrentSource } from "./sources";
import { isWithin, Placement, posixDir, type Place } from "./placement";
import { freeSpace, keepSessionValues, sessionArguments } from "./session";
import { cleanLocal, errorText, notePlan, noteWritten, planProblem } from "./local-copy";
import { CleanupQueue, putioCleanup } from "./cleanup";
import { statusList } from "./status";
import type { LifecycleType, ManagerOptions, PendingCleanup, PersistedState } from "./types";

export * from "./types";
export { isWithin, posixDir } from "./placement";

/** How often a seeding torrent's time goal is checked (locally: no request). */
const SEED_CHECK_MS = 60_000;
/** Removed ids stay in "recently-active" answers this long (as Transmission keeps them). */
const RECENT_MS = 60_000;

export class TorrentManager implements RpcBackend {
  private readonly o: ManagerOptions;
  private readonly records = new Map<number, TorrentRecord>();
  private readonly live = new Map<number, LiveProgress>();
  private readonly byTransfer = new Map<number, number>();
  private readonly jobs = new Map<number, { ac: AbortController; done: Promise<void> }>();
  private readonly adding = new Map<string, Promise<unknown>>();
  private readonly removed: Array<{ id: number; at: number }> = [];
  private sessionValues: Record<string, unknown> = {};
  private folders: Record<string, number> = {};
  private nextId = 1;
  private readonly cleanups: CleanupQueue;
  private readonly stoppingSeed = new Set<number>();
  private seedTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Until the stored state is read, torrent calls are refused (an empty list would look like every torrent vanished). */
  private opened = false;
  private saving: Promise<void> | null = null;
  private dirty = false;
  private unsubscribe: (() => void) | null = null;
  private readonly sessionDir: string;
  private readonly place: Placement;
  private readonly localRoot: string;
  private readonly now: () => number;
  lastCall: { method: string; at: number } | null = null;

  private readonly onSocket = (e: SocketEvent) => this.socketProgress(e);

  constructor(opts: ManagerOptions) {
    this.o = opts;
    if (!path.isAbsolute(opts.localRoot)) throw new RpcError(`the local download folder "${opts.localRoot}" is not an absolute path`);
    this.localRoot = path.resolve(opts.localRoot);
    this.sessionDir = posixDir(opts.sessionDir?.trim() || this.localRoot);
    this.place = new Placement(this.localRoot, this.sessionDir, opts.putioRoot);
    this.cleanups = new CleanupQueue(opts.client, {
      persist: () => this.persist().catch((err: unknown) => this.report(err)),
      done: (c) => this.emit("cleaned", c.record, { attempts: c.attempts, putio: c.skipTrash ? "deleted" : "trashed" }),
      failed: (err) => this.report(err),
    });
    this.now = opts.now ?? Date.now;
  }

  /** Load the state, follow the watcher, resume local copies a restart interrupted. */
  async open(): Promise<void> {
    await this.load();
    await this.follow();
  }

  /**
   * The stored state, answered from at once (torrent-get, removal): a start while put.io is
   * unreachable still shows every torrent as it was, finished ones finished. Once only.
   */
  async load(): Promise<void> {
    if (this.opened) return;
    const state = await this.o.store.load();
    if (this.opened) return;
    if (state) {
      this.nextId = Math.max(1, state.nextId);
      this.sessionValues = state.session ?? {};
      this.folders = state.folders ?? {};
      this.cleanups.items = state.cleanups ?? [];
      for (const r of state.torrents) {
        // Local paths are derived again from this node's settings, never taken from the store.
        try {
          const place = this.placeOf(r.category ? `${this.sessionDir === "/" ? "" : this.sessionDir}/${r.category}` : null);
          r.localDir = place.localDir;
          r.downloadDir = place.downloadDir;
        } catch {
          continue;
        }
        if (r.topPath !== null) {
          if (!isWithin(r.localDir, r.topPath) || path.relative(r.localDir, r.topPath).includes(path.sep)) r.topPath = null;
        }
        this.records.set(r.id, r);
        this.live.set(r.id, emptyLive());
        if (r.transferId !== null) this.byTransfer.set(r.transferId, r.id);
        this.nextId = Math.max(this.nextId, r.id + 1);
      }
    }
    this.opened = true;
  }

  /** Follow put.io (the account's watcher): needs put.io; called again after a failure. */
  async follow(): Promise<void> {
    await this.load();
    if (this.closed) return;
    const seen = new Set<number>();
    this.unsubscribe?.();
    this.unsubscribe = this.o.watcher.subscribe((change) => {
      seen.add(change.transfer.id);
      this.applyTransfer(change.transfer);
    });
    this.o.socket?.off("event", this.onSocket);
    this.o.socket?.on("event", this.onSocket);
    if (this.cleanups.items.length) void this.cleanups.retry();
    this.watchSeeding();
    for (const r of this.records.values()) if (r.phase === "local" && r.fileId !== null) this.startLocal(r);
    if (this.o.adopt) await this.learnCategoryFolders().catch((err: unknown) => this.report(err));
    await this.o.watcher.reconcile();
    // A transfer that vanished from put.io's list while Node-RED was down (cleared by hand): ask once.
    for (const r of [...this.records.values()]) {
      if (this.closed || r.phase !== "putio" || r.transferId === null || seen.has(r.transferId)) continue;
      try {
        this.applyTransfer(await this.o.client.transfers.get(r.transferId));
      } catch (err) {
        if (err instanceof PutioError && err.statusCode === 404) this.fail(r, t("transmission.transfer-gone"));
        else this.report(err);
      }
    }
  }

  /** Stop following put.io and abort local copies (their parts stay for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.cleanups.close();
    if (this.seedTimer) clearInterval(this.seedTimer);
    this.unsubscribe?.();
    this.o.socket?.off("event", this.onSocket);
    const running = [...this.jobs.values()];
    for (const j of running) j.ac.abort(new Error("closing"));
    await Promise.allSettled(running.map((j) => j.done));
    await this.saving?.catch(() => {});
    this.o.store.close?.();
  }

  // ---------- state ----------

  snapshot(): PersistedState {
    return {
      version: 1,
      nextId: this.nextId,
      torrents: [...this.records.values()],
      session: this.sessionValues,
      folders: this.folders,
      cleanups: this.cleanups.items,
    };
  }

  /** Write the state; writes asked for while one runs are folded into one more. */
  private persist(): Promise<void> {
    this.dirty = true;
    this.o.onChange?.();
    if (!this.saving) {
      this.saving = (async () => {
        try {
          while (this.dirty) {
            this.dirty = false;
            await this.o.store.save(this.snapshot());
          }
        } catch (err) {
          this.dirty = true;
          throw err;
        } finally {
          this.saving = null;
        }
      })();
    }
    return this.saving;
  }

  private persistSoon(): void {
    this.persist().catch((err: unknown) => this.report(err));
  }

  private report(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    try {
      this.o.onError?.(e);
    } catch {
      /* reporting never throws back */
    }
  }

  private emit(type: LifecycleType, r: TorrentRecord, detail?: Record<string, unknown>): void {
    this.o.onChange?.();
    try {
      this.o.onEvent?.({ type, torrent: { ...r, labels: [...r.labels], files: [...r.files] }, detail });
    } catch (err) {
      this.report(err);
    }
  }

  /** Torrents per phase (the node's status). */
  counts(): Record<Phase, number> {
    const c: Record<Phase, number> = { putio: 0, local: 0, done: 0, failed: 0 };
    for (const r of this.records.values()) c[r.phase]++;
    return c;
  }

  get(id: number): TorrentRecord | undefined {
    return this.records.get(id);
  }

  all(): TorrentRecord[] {
    return [...this.records.values()];
  }

  /** Category, downloadDir and local folder of a download-dir (placement.ts). */
  placeOf(downloadDir: string | null): Place {
    return this.place.placeOf(downloadDir);
  }

  // ---------- put.io → state ----------

  private brief(r: TorrentRecord) {
    return { id: r.id, name: r.name, hashString: r.hash };
  }

  private applyTransfer(tr: Transfer): void {
    if (this.closed) return;
    const id = this.byTransfer.get(tr.id);
    const r = id === undefined ? this.maybeAdopt(tr) : this.records.get(id);
    if (!r) return;
    const live = this.liveOf(r.id);
    live.putioStatus = tr.status;
    if (typeof tr.percent_done === "number") live.putioPercent = tr.percent_done;
    live.activityAt = Math.floor(this.now() / 1000);
    this.applySeeding(r, tr);
    if (r.phase !== "putio") return;
    if (typeof tr.size === "number" && tr.size > 0) r.size = tr.size;
    if (tr.name && r.name === r.hash) r.name = tr.name;
    if (statusClass(tr.status) === "COMPLETED" && typeof tr.file_id === "number" && tr.file_id > 0) {
      r.fileId = tr.file_id;
      r.putioDoneAt = Math.floor(this.now() / 1000);
      live.putioPercent = 100;
      this.emit("putio-done", r);
      this.startLocal(r);
    } else if (tr.status === "ERROR") {
      const message = tr.error_message?.trim();
      this.fail(r, message ? t("transmission.putio-error", { message }) : t("transmission.putio-failed"));
    }
    this.o.onChange?.();
  }

  /** The put.io folder and its sub-folders are the categories transfers can be offered from (two requests, at start). */
  private async learnCategoryFolders(): Promise<void> {
    const rootId = await this.o.client.folderId(posixDir(this.o.putioRoot || "/"), { create: false });
    if (rootId === null) return;
    this.folders[""] = rootId;
    for await (const f of this.o.client.files.list(rootId)) {
      if (f.file_type === "FOLDER" && this.folders[f.name] === undefined && sanitizeName(f.name) === f.name) this.folders[f.name] = f.id;
    }
  }

  /** A transfer added on put.io by other means into a known category folder: offered when `adopt` is on. */
  private maybeAdopt(t: Transfer): TorrentRecord | undefined {
    if (!this.o.adopt || t.save_parent_id === null || t.save_parent_id === undefined) return undefined;
    // While an add of ours waits for put.io's answer, its transfer may be pushed first: not a foreign one.
    if (this.adding.size > 0) return undefined;
    const category = Object.keys(this.folders).find((c) => this.folders[c] === t.save_parent_id);
    if (category === undefined || t.status === "ERROR") return undefined;
    const place = this.placeOf(category ? `${this.sessionDir}/${category}` : null);
    const hash = normalHash(t.hash ?? "") ?? createHash("sha1").update(`putio-transfer:${t.id}`).digest("hex");
    if (this.byHash(hash)) return undefined;
    const r = this.newRecord(hash, t.name || hash, place, t.id, [], "adopted");
    this.persistSoon();
    this.emit("added", r);
    return r;
  }

  /**
   * put.io's seeding of a transfer (core/quirks.ts "seeding"): SEEDING after the download, with
   * its ratio, uploaded bytes and seconds seeding; COMPLETED once it stopped. Stored on a change
   * of state only; the ratio moves with every answer and push at no request.
   */
  private applySeeding(r: TorrentRecord, t: Partial<Transfer> & Record<string, unknown>): void {
    const seedingNow = t.status === "SEEDING" || t.status === "PREPARING_SEED";
    if (!seedingNow && !(r.seeding && !r.seeding.stopped && t.status === "COMPLETED")) return;
    const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN);
    const prev = r.seeding;
    const ratio = num(t.current_ratio);
    const uploaded = num(t.uploaded);
    const seconds = num(t.seconds_seeding);
    const now = Math.floor(this.now() / 1000);
    r.seeding = {
      stopped: !seedingNow,
      ratio: Number.isFinite(ratio) && ratio >= 0 ? ratio : (prev?.ratio ?? 0),
      uploaded: Number.isFinite(uploaded) && uploaded >= 0 ? uploaded : (prev?.uploaded ?? 0),
      seconds: Number.isFinite(seconds) && seconds >= 0 ? seconds : secondsSeeding(prev, now),
      at: now,
    };
    if (!prev || prev.stopped !== r.seeding.stopped) this.persistSoon();
    this.checkSeedGoal(r);
    this.watchSeeding();
  }

  /** The app's goal reached while put.io still seeds: put.io is asked to stop (once; a failure is tried again later). */
  private checkSeedGoal(r: TorrentRecord): void {
    if (this.closed || r.phase !== "done" || r.transferId === null || this.stoppingSeed.has(r.id)) return;
    if (!seedGoalReached(r, Math.floor(this.now() / 1000))) return;
    this.stoppingSeed.add(r.id);
    this.o.client.transfers
      .cancel([r.transferId])
      .then(() => {
        if (r.seeding) r.seeding = { ...r.seeding, seconds: secondsSeeding(r.seeding, Math.floor(this.now() / 1000)), stopped: true };
        this.persistSoon();
        this.emit("seeding-stopped", r, { ratio: r.seeding?.ratio ?? 0, secondsSeeding: r.seeding?.seconds ?? 0 });
      })
      .catch((err: unknown) => this.report(err))
      .finally(() => this.stoppingSeed.delete(r.id));
  }

  /** While put.io seeds a finished torrent, its seeding-time goal is checked once a minute (no request). */
  private watchSeeding(): void {
    if (this.seedTimer || this.closed) return;
    const seeding = () => [...this.records.values()].filter((x) => x.phase === "done" && x.seeding && !x.seeding.stopped);
    if (!seeding().length) return;
    this.seedTimer = setInterval(() => {
      const now = seeding();
      if (!now.length || this.closed) {
        clearInterval(this.seedTimer!);
        this.seedTimer = null;
        return;
      }
      for (const r of now) this.checkSeedGoal(r);
    }, SEED_CHECK_MS);
    this.seedTimer.unref?.();
  }

  private socketProgress(e: SocketEvent): void {
    if (e.type !== "transfer_update") return;
    const v = e.value as Record<string, unknown> | null;
    const id = typeof v?.id === "number" ? this.byTransfer.get(v.id) : undefined;
    const r = id === undefined ? undefined : this.records.get(id);
    if (r && v && r.seeding && !r.seeding.stopped && v.status === "SEEDING") this.applySeeding(r, v);
    // A push is trusted for progress only; phases change on the watcher's re-read transfer.
    if (!r || r.phase !== "putio" || !v) return;
    const live = this.liveOf(r.id);
    if (typeof v.percent_done === "number" && v.percent_done >= 0 && v.percent_done <= 100) live.putioPercent = v.percent_done;
    if (typeof v.down_speed === "number" && v.down_speed >= 0) live.putioSpeed = v.down_speed;
    live.putioEta = typeof v.estimated_time === "number" && v.estimated_time >= 0 ? v.estimated_time : null;
    if (typeof v.size === "number" && v.size > 0) r.size = v.size;
    live.activityAt = Math.floor(this.now() / 1000);
  }

  private liveOf(id: number): LiveProgress {
    let l = this.live.get(id);
    if (!l) this.live.set(id, (l = emptyLive()));
    return l;
  }

  private byHash(hash: string): TorrentRecord | undefined {
    for (const r of this.records.values()) if (r.hash === hash) return r;
    return undefined;
  }

  private newRecord(
    hash: string,
    name: string,
    place: Place,
    transferId: number,
    labels: string[],
    origin: TorrentRecord["origin"],
    size = 0,
    fileCount = 1,
  ): TorrentRecord {
    const r: TorrentRecord = {
      id: this.nextId++,
      hash,
      name,
      category: place.category,
      downloadDir: place.downloadDir,
      localDir: place.localDir,
      transferId,
      fileId: null,
      phase: "putio",
      error: null,
      labels,
      addedAt: Math.floor(this.now() / 1000),
      putioDoneAt: null,
      doneAt: null,
      size,
      fileCount,
      topPath: null,
      files: [],
      seed: {},
      origin,
    };
    this.records.set(r.id, r);
    this.live.set(r.id, emptyLive());
    this.byTransfer.set(transferId, r.id);
    return r;
  }

  // ---------- the local copy ----------

  private fail(r: TorrentRecord, text: Text): void {
    r.phase = "failed";
    // The app reads errorString in English (as from the daemon); the node's msgs render the text in the runtime's language.
    r.error = render(text);
    r.errorText = text;
    this.persistSoon();
    this.emit("failed", r);
  }

  private startLocal(r: TorrentRecord): void {
    if (this.closed || this.jobs.has(r.id) || r.fileId === null) return;
    // The first copy follows putio-done; a copy started again (restart, torrent-start, torrent-verify) says so.
    if (r.phase !== "putio") this.emit("copying", r);
    const fileId = r.fileId;
    r.phase = "local";
    r.error = null;
    delete r.errorText;
    this.persistSoon();
    const live = this.liveOf(r.id);
    live.localBytes = 0;
    const ac = new AbortController();
    let refused: Text | null = null;
    let subtitles: JobSubtitles | null = null;
    const notes: Array<Promise<void>> = [];
    const done = (async () => {
      const inFlight = new Map<number, number>();
      let verified = 0;
      const sum = () => {
        let n = verified;
        for (const b of inFlight.values()) n += b;
        return n;
      };
      try {
        await this.place.checkLocalDir(r.localDir);
        const result = await this.o.scheduler.run({
          source: { fileId },
          target: r.localDir,
          ifExists: "skip-identical",
          preferMp4: this.o.preferMp4 === true,
          afterFiles: this.o.subtitles
            ? async (files, signal) => {
                subtitles = await writeJobSubtitles(this.o.client, files, {
                  languages: this.o.subtitles?.languages || undefined,
                  ledger: this.o.subtitles?.ledger,
                  signal,
                });
              }
            : undefined,
          extract: this.o.extract
            ? {
                ...this.o.extract,
                done: r.extracted ?? null,
                onExtracted: (done) => {
                  r.extracted = done;
                  this.persistSoon();
                },
              }
            : null,
          signal: ac.signal,
          onPlan: (files) => {
            refused = planProblem(files, this.o.failArchiveOnly !== false);
            if (refused) return ac.abort(new Error(render(refused)));
            r.fileCount = files.length;
            const size = files.reduce((n, f) => n + f.file.size, 0);
            if (size > 0) r.size = size;
            notePlan(r, files);
            this.persistSoon();
          },
          onProgress: (p) => {
            inFlight.set(p.fileId, p.bytes);
            live.localBytes = sum();
            live.localSpeed = p.bytesPerSecond;
            live.activityAt = Math.floor(this.now() / 1000);
          },
          onFile: (f) => {
            if (f.status === "downloaded") notes.push(noteWritten(r, f.path).then(() => this.persistSoon()));
            inFlight.delete(f.fileId);
            verified += f.size;
            live.localBytes = sum();
          },
        });
        await Promise.all(notes);
        if (!this.records.has(r.id)) return;
        if (result.failed > 0) {
          const first = result.errors[0]!;
          return this.fail(r, t("transmission.copy-failed", { count: result.failed, name: first.name, error: errorText(first.error) }));
        }
        const problem = planProblem(
          result.files.map((f) => ({ file: { name: f.name } })),
          this.o.failArchiveOnly !== false,
        );
        if (problem) return this.fail(r, problem);
        const summary = subtitles as JobSubtitles | null;
        await this.finish(
          r,
          result,
          summary
            ? {
                subtitles: {
                  written: summary.written,
                  identical: summary.identical,
                  missing: summary.missing,
                  failed: summary.failed.map((f) => ({ name: f.name, language: f.language, message: f.error.message })),
                },
              }
            : undefined,
        );
      } catch (err) {
        if (refused) return this.fail(r, refused);
        // Stopped, removed or closing: the state stays as it is (a restart resumes the copy).
        if (ac.signal.aborted || this.closed || !this.records.has(r.id)) return;
        this.fail(r, t("transmission.copy-error", { error: errorText(err) }));
      } finally {
        live.localSpeed = 0;
        this.jobs.delete(r.id);
      }
    })();
    this.jobs.set(r.id, { ac, done });
  }

  /** Every file of the job on disk at its size (the engine verified the content): then, and only then, done. */
  private async finish(r: TorrentRecord, result: JobResult, detail?: Record<string, unknown>): Promise<void> {
    const tops = new Set<string>();
    const files: TorrentRecord["files"] = [];
    for (const f of result.files) {
      const st = await fsp.lstat(f.path).catch(() => null);
      if (!st || !st.isFile() || st.size !== f.size) return this.fail(r, t("transmission.not-on-disk", { path: f.path }));
      const rel = path.relative(r.localDir, f.path);
      if (!isWithin(r.localDir, f.path)) return this.fail(r, t("transmission.outside-folder", { path: f.path }));
      const parts = rel.split(path.sep);
      tops.add(parts[0]!);
      files.push({ name: parts.join("/"), length: f.size });
    }
    // One top entry (the file, or the transfer's folder): that is the name the app joins to downloadDir.
    if (tops.size === 1) {
      const top = [...tops][0]!;
      r.name = top;
      r.topPath = path.join(r.localDir, top);
    }
    r.files = files;
    r.fileCount = files.length;
    r.size = files.reduce((n, f) => n + f.length, 0);
    r.phase = "done";
    r.error = null;
    delete r.errorText;
    delete r.copying;
    r.doneAt = Math.floor(this.now() / 1000);
    this.liveOf(r.id).localBytes = r.size;
    // The flow hears of it when the app can see it; the state is stored right after.
    this.emit("on-disk", r, detail);
    await this.persist().catch((err: unknown) => this.report(err));
    this.checkSeedGoal(r);
    this.watchSeeding();
  }

  // ---------- RPC backend ----------

  private assertOpen(): void {
    if (!this.opened) throw new RpcError("starting: the torrents' state is still being read from put.io, try again in a moment");
  }

  touched(method: string): void {
    this.lastCall = { method, at: this.now() };
  }

  session(): Record<string, unknown> {
    return sessionArguments(this.sessionValues, { sessionDir: this.sessionDir, localRoot: this.localRoot, sessionId: this.o.sessionId?.() ?? "" });
  }

  async setSession(args: Record<string, unknown>): Promise<void> {
    if (keepSessionValues(this.sessionValues, args, this.sessionDir)) await this.persist();
  }

  stats(): Record<string, unknown> {
    const c = this.counts();
    const total = this.records.size;
    const active = c.putio + c.local;
    let down = 0;
    for (const r of this.records.values()) {
      const l = this.liveOf(r.id);
      down += r.phase === "putio" ? l.putioSpeed : r.phase === "local" ? l.localSpeed : 0;
    }
    const zero = { uploadedBytes: 0, downloadedBytes: 0, filesAdded: 0, sessionCount: 1, secondsActive: 0 };
    return {
      activeTorrentCount: active,
      pausedTorrentCount: total - active,
      torrentCount: total,
      downloadSpeed: down,
      uploadSpeed: 0,
      "cumulative-stats": zero,
      "current-stats": zero,
    };
  }

  freeSpace(p: string): Promise<{ path: string; "size-bytes": number; total_size: number }> {
    return freeSpace(this.sessionDir, this.localRoot, p);
  }

  async add(a: AddArgs): Promise<{ duplicate: boolean; torrent: { id: number; name: string; hashString: string } }> {
    this.assertOpen();
    const place = this.placeOf(a.downloadDir);
    let src: TorrentSource;
    try {
      if (a.metainfo) src = parseMetainfo(a.metainfo);
      else if (/^magnet:/i.test(a.filename ?? "")) src = parseMagnet(a.filename!);
      else if (/^https?:\/\//i.test(a.filename ?? "")) src = { kind: "url", hash: null, name: null, size: null, fileCount: null };
      else throw new RpcError("filename must be a magnet link or an http(s) URL of a .torrent (a local file goes as metainfo)");
    } catch (err) {
      if (err instanceof SourceError) throw new RpcError(`invalid or corrupt torrent file: ${err.message}`);
      throw err;
    }
    const key = src.hash ?? a.filename!;
    // Two adds of one torrent at once: the second waits and is a duplicate.
    while (this.adding.has(key)) await this.adding.get(key)!.catch(() => {});
    if (src.hash) {
      const dup = this.byHash(src.hash);
      if (dup) return { duplicate: true, torrent: this.brief(dup) };
    }
    const p = this.addNew(a, src, place);
    this.adding.set(key, p);
    try {
      return await p;
    } finally {
      this.adding.delete(key);
    }
  }

  private async addNew(a: AddArgs, src: TorrentSource, place: Place) {
    const client = this.o.client;
    const folderId = await client.folderId(place.putioPath, { create: true });
    if (folderId === null) throw new RpcError(`the put.io folder "${place.putioPath}" could not be created`);
    if (this.folders[place.category] !== folderId) {
      this.folders[place.category] = folderId;
    }
    let transfer: Transfer;
    if (a.metainfo) {
      const name = `${sanitizeName(src.name ?? src.hash ?? "torrent")}.torrent`;
      const up = await client.upload.upload(a.metainfo, name, { parentId: folderId });
      if (up.kind !== "transfer") throw new RpcError("put.io stored the .torrent as a file instead of starting a transfer");
      transfer = up.transfer;
    } else {
      transfer = await client.transfers.add(a.filename!, { saveParentId: folderId });
    }
    // put.io answers an active transfer of the same source with that same transfer.
    const known = this.byTransfer.get(transfer.id);
    if (known !== undefined && this.records.has(known)) return { duplicate: true, torrent: this.brief(this.records.get(known)!) };
    const hash =
      src.hash ??
      normalHash(transfer.hash ?? "") ??
      createHash("sha1")
        .update(a.filename ?? "")
        .digest("hex");
    const dup = this.byHash(hash);
    if (dup) return { duplicate: true, torrent: this.brief(dup) };
    const r = this.newRecord(hash, src.name ?? transfer.name ?? hash, place, transfer.id, a.labels, "rpc", src.size ?? transfer.size ?? 0, src.fileCount ?? 1);
    await this.persist();
    this.emit("added", r);
    this.applyTransfer(transfer);
    return { duplicate: false, torrent: this.brief(r) };
  }

  private selectRecords(sel: IdSelector): TorrentRecord[] {
    const all = [...this.records.values()];
    if (sel === null) return all;
    if (sel === "recent") {
      const since = Math.floor((this.now() - RECENT_MS) / 1000);
      return all.filter((r) => r.phase === "putio" || r.phase === "local" || Math.max(this.liveOf(r.id).activityAt, r.doneAt ?? 0, r.addedAt) >= since);
    }
    return all.filter((r) => sel.ids.has(r.id) || sel.hashes.has(r.hash));
  }

  select(sel: IdSelector): Array<Record<string, () => unknown>> {
    this.assertOpen();
    const now = Math.floor(this.now() / 1000);
    return this.selectRecords(sel).map((r) => fieldGetters(r, this.liveOf(r.id), now));
  }

  recentlyRemoved(): number[] {
    const since = this.now() - RECENT_MS;
    while (this.removed.length && this.removed[0]!.at < since) this.removed.shift();
    return this.removed.map((x) => x.id);
  }

  async remove(sel: IdSelector, deleteLocalData: boolean): Promise<void> {
    this.assertOpen();
    for (const r of this.selectRecords(sel)) {
      // Gone for the apps at once; the clean-up follows.
      this.records.delete(r.id);
      if (r.transferId !== null) this.byTransfer.delete(r.transferId);
      this.live.delete(r.id);
      this.removed.push({ id: r.id, at: this.now() });
      const job = this.jobs.get(r.id);
      if (job) {
        job.ac.abort(new Error("removed"));
        await job.done;
      }
      const detail: Record<string, unknown> = { putio: "kept", localDeleted: false, deleteLocalData };
      // Local first: it needs no put.io.
      try {
        await cleanLocal(this.place, r, deleteLocalData, detail);
      } catch (err) {
        detail.error = errorText(err);
        this.report(err);
      }
      const c = putioCleanup(r, this.o.cleanup, this.now());
      if (c) {
        detail.putio = c.cancelTransferId !== null && !c.fileIds.length ? "cancelled" : c.skipTrash ? "deleted" : "trashed";
        const pending = await this.cleanups.start(c);
        if (pending) {
          detail.putio = "pending";
          detail.pendingError = pending;
        }
      }
      await this.persist().catch((err: unknown) => this.report(err));
      this.emit("removed", r, detail);
    }
  }

  /** Clean-ups put.io has not taken yet (the node's status). */
  pendingCleanups(): ReadonlyArray<Readonly<PendingCleanup>> {
    return this.cleanups.items;
  }

  /** The torrents and pending clean-ups as the editor's sidebar shows them (status.ts; read-only). */
  statusList(max?: number): ReturnType<typeof statusList> {
    return statusList(this.records.values(), (id) => this.live.get(id), this.cleanups.items, { localRoot: this.localRoot, max });
  }

  /** Tries every pending clean-up once now. */
  retryCleanups(): Promise<void> {
    return this.cleanups.retry();
  }

  /** Failed ones are tried again: the local copy (its parts resume), or the put.io transfer. */
  async start(sel: IdSelector): Promise<void> {
    this.assertOpen();
    for (const r of this.selectRecords(sel)) {
      if (r.phase !== "failed") continue;
      if (r.fileId !== null) this.startLocal(r);
      else if (r.transferId !== null) {
        await this.o.client.transfers.retry(r.transferId);
        r.phase = "putio";
        r.error = null;
        delete r.errorText;
        this.liveOf(r.id).putioPercent = 0;
        this.persistSoon();
      }
    }
  }

  /** put.io cannot pause a transfer; a local copy keeps going (its share of the account's limits is set there). */
  async stop(): Promise<void> {}

  /** Done ones: the files are checked on disk again; anything missing is copied again. */
  async verify(sel: IdSelector): Promise<void> {
    this.assertOpen();
    for (const r of this.selectRecords(sel)) {
      if (r.phase !== "done") continue;
      const missing = await Promise.all(
        r.files.map(async (f) => {
          const st = await fsp.lstat(path.join(r.localDir, ...f.name.split("/"))).catch(() => null);
          return !st || !st.isFile() || st.size !== f.length;
        }),
      );
      if (missing.some(Boolean) && r.fileId !== null) this.startLocal(r);
    }
  }

  async set(sel: IdSelector, args: Record<string, unknown>): Promise<void> {
    this.assertOpen();
    const records = this.selectRecords(sel);
    const labels = args.labels;
    if (labels !== undefined && (!Array.isArray(labels) || labels.length > 100 || !labels.every((l) => typeof l === "string" && l.length <= 256))) {
      throw new RpcError("labels must be a list of short strings");
    }
    for (const r of records) {
      if (labels) r.labels = [...(labels as string[])];
      for (const k of ["seedRatioLimit", "seedRatioMode", "seedIdleLimit", "seedIdleMode"] as const) {
        const v = args[k];
        if (typeof v === "number" && Number.isFinite(v)) r.seed[k] = v;
      }
    }
    if (records.length) await this.persist();
    for (const r of records) this.checkSeedGoal(r);
  }

  /** 0..1 for a torrent (the node's output msgs). */
  progressOf(id: number): number {
    const r = this.records.get(id);
    return r ? percentDone(r, this.liveOf(id)) : 0;
  }
}
