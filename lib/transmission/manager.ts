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
 * This file holds the transitions (added → on put.io → copying → on disk → removed, each reachable
 * from a restart) and the RPC calls that trigger them, side by side: a little over 400 lines, as a
 * transition read apart from its trigger hides which state each RPC call may meet. The rest has
 * its own file: table.ts (the
 * torrents and the state's writes), putio-side.ts (what put.io's answers mean for a torrent),
 * seed-keeper.ts (the apps' seeding goals), copy.ts (the local copy), local-copy.ts (what the copy
 * wrote, the local clean-up), cleanup.ts (put.io's clean-ups kept until done), placement.ts,
 * session.ts, model.ts (a torrent's fields), store.ts, types.ts, rpc.ts and http.ts.
 */
import * as path from "node:path";
import { PutioError } from "../core/errors";
import { render, t, type Text } from "../core/texts";
import type { SocketEvent } from "../core/socket";
import type { Transfer } from "../domains/transfers";
import { checkTorrentSet, fieldGetters, isSeeding, markDone, newRecord, percentDone, type Phase, type TorrentRecord } from "./model";
import { RpcError, type AddArgs, type IdSelector, type RpcBackend } from "./rpc";
import type { TorrentSource } from "./sources";
import { Placement, posixDir, type Place } from "./placement";
import { freeSpace, keepSessionValues, sessionArguments, sessionStats } from "./session";
import { CleanupQueue, cleanUpRemoved } from "./cleanup";
import { copyToDisk, missingOnDisk, type CopyEnd, type CopySettings } from "./copy";
import { TorrentTable } from "./table";
import { statusList } from "./status";
import { SeedKeeper } from "./seed-keeper";
import {
  addedHash,
  adoptableCategory,
  adoptedHash,
  applyPush,
  applyTransfer,
  learnCategoryFolders,
  seedingFrom,
  sourceOfAdd,
  startTransfer,
} from "./putio-side";
import type { LifecycleType, ManagerOptions, PendingCleanup, PersistedState } from "./types";

export * from "./types";
export { isWithin, posixDir } from "./placement";

export class TorrentManager implements RpcBackend {
  private readonly o: ManagerOptions;
  private readonly table: TorrentTable;
  private readonly jobs = new Map<number, { ac: AbortController; done: Promise<void> }>();
  private readonly adding = new Map<string, Promise<unknown>>();
  private readonly cleanups: CleanupQueue;
  private readonly seeds: SeedKeeper;
  private readonly copy: CopySettings;
  private closed = false;
  /** Until the stored state is read, torrent calls are refused (an empty list would look like every torrent vanished). */
  private opened = false;
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
    this.now = opts.now ?? Date.now;
    this.cleanups = new CleanupQueue(opts.client, {
      persist: () => this.persist().catch((err: unknown) => this.report(err)),
      done: (c) => this.emit("cleaned", c.record, { attempts: c.attempts, putio: c.skipTrash ? "deleted" : "trashed" }),
      failed: (err) => this.report(err),
    });
    this.table = new TorrentTable({ store: opts.store, now: this.now, cleanups: () => this.cleanups.items, onChange: opts.onChange });
    this.seeds = new SeedKeeper({
      client: opts.client,
      now: this.now,
      seeding: () => [...this.table.records.values()].filter(isSeeding),
      stopped: (r) => {
        this.persistSoon();
        this.emit("seeding-stopped", r, { ratio: r.seeding?.ratio ?? 0, secondsSeeding: r.seeding?.seconds ?? 0 });
      },
      report: (err) => this.report(err),
    });
    this.copy = { ...opts, place: this.place, failArchiveOnly: opts.failArchiveOnly !== false };
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
      const categoryDir = (c: string) => (c ? `${this.sessionDir === "/" ? "" : this.sessionDir}/${c}` : null);
      this.cleanups.items = this.table.restore(state, (c) => this.placeOf(categoryDir(c)));
    }
    this.opened = true;
  }

  /** Follow put.io (the account's watcher): needs put.io; called again after a failure. */
  async follow(): Promise<void> {
    await this.load();
    if (this.closed) return;
    /** Transfers seen until the first reconcile is in (then let go: the subscription lives for months). */
    let seen: Set<number> | null = new Set<number>();
    this.unsubscribe?.();
    this.unsubscribe = this.o.watcher.subscribe((change) => {
      seen?.add(change.transfer.id);
      this.onTransfer(change.transfer);
    });
    this.o.socket?.off("event", this.onSocket);
    this.o.socket?.on("event", this.onSocket);
    if (this.cleanups.items.length) void this.cleanups.retry();
    this.seeds.watch();
    for (const r of this.table.records.values()) if (r.phase === "local" && r.fileId !== null) this.startLocal(r);
    if (this.o.adopt) await learnCategoryFolders(this.o.client, this.o.putioRoot, this.table.folders).catch((err: unknown) => this.report(err));
    await this.o.watcher.reconcile();
    const listed = seen;
    seen = null;
    // A transfer that vanished from put.io's list while Node-RED was down (cleared by hand): ask once.
    for (const r of [...this.table.records.values()]) {
      if (this.closed || r.phase !== "putio" || r.transferId === null || listed.has(r.transferId)) continue;
      try {
        this.onTransfer(await this.o.client.transfers.get(r.transferId));
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
    this.seeds.close();
    this.unsubscribe?.();
    this.o.socket?.off("event", this.onSocket);
    const running = [...this.jobs.values()];
    for (const j of running) j.ac.abort(new Error("closing"));
    await Promise.allSettled(running.map((j) => j.done));
    await this.table.settled();
    this.o.store.close?.();
  }

  // ---------- state ----------

  snapshot(): PersistedState {
    return this.table.snapshot();
  }

  private persist(): Promise<void> {
    return this.table.persist();
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
    return this.table.counts();
  }

  get(id: number): TorrentRecord | undefined {
    return this.table.get(id);
  }

  all(): TorrentRecord[] {
    return [...this.table.records.values()];
  }

  /** Category, downloadDir and local folder of a download-dir (placement.ts). */
  placeOf(downloadDir: string | null): Place {
    return this.place.placeOf(downloadDir);
  }

  // ---------- put.io → state (putio-side.ts) ----------

  private onTransfer(tr: Transfer): void {
    if (this.closed) return;
    const r = this.table.byTransferId(tr.id) ?? this.maybeAdopt(tr);
    if (!r) return;
    const step = applyTransfer(r, this.table.liveOf(r.id), tr, this.now());
    this.onSeeding(r, tr);
    if (step?.kind === "copy") {
      this.emit("putio-done", r);
      this.startLocal(r);
    } else if (step?.kind === "failed") this.fail(r, step.text);
    this.o.onChange?.();
  }

  /** A transfer added on put.io by other means into a known category folder: offered when `adopt` is on. */
  private maybeAdopt(tr: Transfer): TorrentRecord | undefined {
    // While an add of ours waits for put.io's answer, its transfer may be pushed first: not a foreign one.
    if (!this.o.adopt || this.adding.size > 0) return undefined;
    const category = adoptableCategory(tr, this.table.folders);
    if (category === undefined) return undefined;
    const place = this.placeOf(category ? `${this.sessionDir}/${category}` : null);
    const hash = adoptedHash(tr);
    if (this.table.byHash(hash)) return undefined;
    const r = this.addRecord(hash, tr.name || hash, place, tr.id, [], "adopted");
    this.persistSoon();
    this.emit("added", r);
    return r;
  }

  /** put.io's seeding: stored on a change of state only; the ratio moves with every answer and push at no request. */
  private onSeeding(r: TorrentRecord, tr: Partial<Transfer> & Record<string, unknown>): void {
    const prev = r.seeding;
    const next = seedingFrom(prev, tr, Math.floor(this.now() / 1000));
    if (!next) return;
    r.seeding = next;
    if (!prev || prev.stopped !== next.stopped) this.persistSoon();
    this.seeds.check(r);
    this.seeds.watch();
  }

  private socketProgress(e: SocketEvent): void {
    if (e.type !== "transfer_update") return;
    const v = e.value as Record<string, unknown> | null;
    const r = typeof v?.id === "number" ? this.table.byTransferId(v.id) : undefined;
    if (!r || !v) return;
    if (r.seeding && !r.seeding.stopped && v.status === "SEEDING") this.onSeeding(r, v);
    applyPush(r, this.table.liveOf(r.id), v, this.now());
  }

  private addRecord(hash: string, name: string, place: Place, transferId: number, labels: string[], origin: TorrentRecord["origin"], size = 0, fileCount = 1) {
    const r = newRecord({ id: this.table.takeId(), hash, name, place, transferId, labels, origin, size, fileCount, nowSec: Math.floor(this.now() / 1000) });
    this.table.add(r);
    return r;
  }

  // ---------- the local copy (copy.ts) ----------

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
    r.phase = "local";
    r.error = null;
    delete r.errorText;
    this.persistSoon();
    const ac = new AbortController();
    const hooks = { live: this.table.liveOf(r.id), persist: () => this.persistSoon(), wanted: () => this.table.has(r), now: this.now };
    const done = copyToDisk(this.copy, r, ac, hooks)
      .then((end) => this.copied(r, end))
      .catch((err: unknown) => this.report(err))
      .finally(() => this.jobs.delete(r.id));
    this.jobs.set(r.id, { ac, done });
  }

  /** The copy's end applied: on disk (then, and only then, done), failed, or left as it is. */
  private async copied(r: TorrentRecord, end: CopyEnd): Promise<void> {
    if (end.kind === "stopped") return;
    if (end.kind === "failed") return this.fail(r, end.text);
    markDone(r, end.files, end.top, end.top === null ? null : path.join(r.localDir, end.top), Math.floor(this.now() / 1000));
    this.table.liveOf(r.id).localBytes = r.size;
    // The flow hears of it when the app can see it; the state is stored right after.
    this.emit("on-disk", r, end.detail);
    await this.persist().catch((err: unknown) => this.report(err));
    this.seeds.check(r);
    this.seeds.watch();
  }

  // ---------- RPC backend ----------

  private assertOpen(): void {
    if (!this.opened) throw new RpcError("starting: the torrents' state is still being read from put.io, try again in a moment");
  }

  touched(method: string): void {
    this.lastCall = { method, at: this.now() };
  }

  session(): Record<string, unknown> {
    return sessionArguments(this.table.session, { sessionDir: this.sessionDir, localRoot: this.localRoot, sessionId: this.o.sessionId?.() ?? "" });
  }

  async setSession(args: Record<string, unknown>): Promise<void> {
    if (keepSessionValues(this.table.session, args, this.sessionDir)) await this.persist();
  }

  stats(): Record<string, unknown> {
    return sessionStats(this.table.records.values(), (id) => this.table.liveOf(id));
  }

  freeSpace(p: string): Promise<{ path: string; "size-bytes": number; total_size: number }> {
    return freeSpace(this.sessionDir, this.localRoot, p);
  }

  private brief(r: TorrentRecord) {
    return { id: r.id, name: r.name, hashString: r.hash };
  }

  async add(a: AddArgs): Promise<{ duplicate: boolean; torrent: { id: number; name: string; hashString: string } }> {
    this.assertOpen();
    const place = this.placeOf(a.downloadDir);
    const src = sourceOfAdd(a);
    const key = src.hash ?? a.filename!;
    // Two adds of one torrent at once: the second waits and is a duplicate.
    while (this.adding.has(key)) await this.adding.get(key)!.catch(() => {});
    if (src.hash) {
      const dup = this.table.byHash(src.hash);
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
    const transfer = await startTransfer(this.o.client, a, src, place, this.table.folders);
    // put.io answers an active transfer of the same source with that same transfer.
    const known = this.table.byTransferId(transfer.id);
    if (known) return { duplicate: true, torrent: this.brief(known) };
    const hash = addedHash(a, src, transfer);
    const dup = this.table.byHash(hash);
    if (dup) return { duplicate: true, torrent: this.brief(dup) };
    const r = this.addRecord(hash, src.name ?? transfer.name ?? hash, place, transfer.id, a.labels, "rpc", src.size ?? transfer.size ?? 0, src.fileCount ?? 1);
    await this.persist();
    this.emit("added", r);
    this.onTransfer(transfer);
    return { duplicate: false, torrent: this.brief(r) };
  }

  select(sel: IdSelector): Array<Record<string, () => unknown>> {
    this.assertOpen();
    const now = Math.floor(this.now() / 1000);
    return this.table.select(sel).map((r) => fieldGetters(r, this.table.liveOf(r.id), now));
  }

  recentlyRemoved(): number[] {
    return this.table.recentlyRemoved();
  }

  /** `reason`: said in the msg when not the app's own removal (app-imports.ts: imported by the app). */
  async remove(sel: IdSelector, deleteLocalData: boolean, reason?: string): Promise<void> {
    this.assertOpen();
    for (const r of this.table.select(sel)) {
      // Gone for the apps at once; the clean-up follows.
      this.table.forget(r);
      const job = this.jobs.get(r.id);
      if (job) {
        job.ac.abort(new Error("removed"));
        await job.done;
      }
      const detail = await cleanUpRemoved(r, deleteLocalData, {
        place: this.place,
        policy: this.o.cleanup,
        queue: this.cleanups,
        now: this.now(),
        report: (err) => this.report(err),
      });
      if (reason) detail.reason = reason;
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
    return statusList(this.table.records.values(), (id) => this.table.liveOf(id), this.cleanups.items, { localRoot: this.localRoot, max });
  }

  /** Tries every pending clean-up once now. */
  retryCleanups(): Promise<void> {
    return this.cleanups.retry();
  }

  /** Failed ones are tried again: the local copy (its parts resume), or the put.io transfer. */
  async start(sel: IdSelector): Promise<void> {
    this.assertOpen();
    for (const r of this.table.select(sel)) {
      if (r.phase !== "failed") continue;
      if (r.fileId !== null) this.startLocal(r);
      else if (r.transferId !== null) {
        await this.o.client.transfers.retry(r.transferId);
        r.phase = "putio";
        r.error = null;
        delete r.errorText;
        this.table.liveOf(r.id).putioPercent = 0;
        this.persistSoon();
      }
    }
  }

  /** put.io cannot pause a transfer; a local copy keeps going (its share of the account's limits is set there). */
  async stop(): Promise<void> {}

  /** Done ones: the files are checked on disk again; anything missing is copied again. */
  async verify(sel: IdSelector): Promise<void> {
    this.assertOpen();
    for (const r of this.table.select(sel)) {
      if (r.phase === "done" && r.fileId !== null && (await missingOnDisk(r))) this.startLocal(r);
    }
  }

  async set(sel: IdSelector, args: Record<string, unknown>): Promise<void> {
    this.assertOpen();
    let apply: (r: TorrentRecord) => void;
    try {
      apply = checkTorrentSet(args);
    } catch (err) {
      throw new RpcError((err as Error).message);
    }
    const records = this.table.select(sel);
    records.forEach(apply);
    if (records.length) await this.persist();
    for (const r of records) this.seeds.check(r);
  }

  /** 0..1 for a torrent (the node's output msgs). */
  progressOf(id: number): number {
    const r = this.table.get(id);
    return r ? percentDone(r, this.table.liveOf(id)) : 0;
  }
}
