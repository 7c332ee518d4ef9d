/**
 * One sync run, start to end (remote walk, local scan, plan, execute or report the plan), and the
 * rules around runs: never two at once on one target (any node, any account of this process), and
 * triggers that arrive while a run works make one more run after it, not one each.
 */
import * as path from "node:path";
import type { PutioClient } from "../client";
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { foldName } from "../local/names";
import { localClaims } from "../local/claims";
import { lstatOrNull, nodeFs } from "../local/fs";
import { ensureTargetFolder } from "../local/folders";
import type { PutioFile } from "../domains/files";
import type { DownloadScheduler } from "../download/scheduler";
import { executePlan } from "./executor";
import { lastRunUnfinished, readState, scanSyncTarget, STATE_FILE, type SyncState } from "./local";
import { planSync, type ListingTrust, type SyncRemoteItem } from "./planner";
import { checkListing, listFolder } from "./remote";
import { emptyReport, reportOfPlan, trashStamp, type SyncReport } from "./report";

export interface SyncOptions {
  /** The put.io folder: an id or a path ("/Media/TV"). */
  folder: number | string;
  /** Absolute local folder; created when missing (never by a dry run). */
  target: string;
  propagateDeletes?: boolean;
  removeExtras?: boolean;
  dryRun?: boolean;
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /**
   * The listings of the last run, and which folders changed since (from socket events): only those
   * (and folders not in the cache) are listed again. Without it, or with "all", every folder is listed.
   */
  cache?: RemoteCache | null;
  dirty?: Set<number> | "all";
}

/** put.io's listings as a run saw them: folder id → children. */
export interface RemoteCache {
  folderId: number;
  children: Map<number, PutioFile[]>;
  /** Every listed item's folder. */
  parentOf: Map<number, number>;
  /** Folders whose listing added up to the folder's size when it was listed. */
  verified: Set<number>;
}

export interface SyncResult extends SyncReport {
  folderId: number;
  target: string;
  seconds: number;
  /** What the run saw on put.io: which socket events concern this sync. */
  seen: { folders: Set<number>; files: Set<number> };
  /** The listings, for the next run (see SyncOptions.cache). */
  cache: RemoteCache;
  /** Folders listed from put.io by this run (the others came from the cache). */
  listed: number;
  /** The state file could not be parsed: where it was set aside (every local file counted as the user's). */
  stateSetAside: Error | null;
}

/** The depth put.io trees are walked to (a guard, not a limit anyone meets). */
const MAX_DEPTH = 64;

export async function runSync(client: PutioClient, scheduler: DownloadScheduler, opts: SyncOptions): Promise<SyncResult> {
  const started = Date.now();
  const attempted = t("op.sync", { folder: String(opts.folder), target: String(opts.target) });
  if (!path.isAbsolute(String(opts.target ?? ""))) throw new PutioInputError(attempted, t("input.not-absolute-target", { path: String(opts.target) }));
  const root = path.resolve(opts.target);
  const { signal } = opts;
  const folderId = await client.folderId(opts.folder, { signal });
  if (folderId === null) throw new PutioInputError(attempted, t("sync.no-folder", { folder: String(opts.folder) }));
  const dirty = opts.dirty ?? "all";
  const old = opts.cache && opts.cache.folderId === folderId && dirty !== "all" ? opts.cache : null;
  if (folderId !== 0 && !old) {
    const f = await client.files.get(folderId, signal);
    if (f.file_type !== "FOLDER") throw new PutioInputError(attempted, t("sync.not-a-folder", { folder: String(opts.folder) }));
  }
  const seen = { folders: new Set<number>([folderId]), files: new Set<number>() };
  const cache: RemoteCache = { folderId, children: new Map(), parentOf: new Map(), verified: new Set() };
  let listed = 0;
  const remote: SyncRemoteItem[] = [];
  // Whether put.io's listings of this run can be trusted to say what is gone (see remote.ts).
  let short: { folder: string; listed: number; size: number; count: number; total: number } | null = null;
  let verified = true;
  /** A folder's children: from the cache when nothing touched it, else listed and checked. `size`: its entry in a parent listed in this run. */
  const childrenOf = async (id: number, where: string, size: number | null): Promise<{ kids: PutioFile[]; fresh: boolean }> => {
    const kept = old && !(dirty as Set<number>).has(id) ? old.children.get(id) : undefined;
    if (kept) {
      if (!old!.verified.has(id)) verified = false;
      else cache.verified.add(id);
      return { kids: kept, fresh: false };
    }
    listed++;
    const listing = await listFolder(client, id, signal);
    // The account root's size is the account's usage: it says nothing about the listing.
    const check = checkListing(listing, id === 0 ? [size] : [listing.size, size]);
    if (check.short) short ??= { folder: where, ...check.short };
    if (check.verified) cache.verified.add(id);
    else verified = false;
    return { kids: listing.files, fresh: true };
  };
  /** How the report names a listed folder: the synced folder as given, then the names below it. */
  const base = folderId === 0 ? "" : String(opts.folder).replace(/\/+$/, "");
  const visit = async (id: number, folders: SyncRemoteItem["folders"], size: number | null) => {
    const { kids, fresh } = await childrenOf(id, [base, ...folders.map((f) => f.name)].join("/") || "/", size);
    cache.children.set(id, kids);
    for (const f of kids) {
      cache.parentOf.set(f.id, id);
      if (f.file_type === "FOLDER") {
        seen.folders.add(f.id);
        if (folders.length < MAX_DEPTH) await visit(f.id, [...folders, { id: f.id, name: f.name }], fresh ? f.size : null);
        else verified = false;
      } else {
        seen.files.add(f.id);
        remote.push({ folders, id: f.id, name: f.name, size: f.size, crc32: f.crc32 ?? null });
      }
    }
  };
  await visit(folderId, [], null);
  // A listing that holds less than put.io's own numbers is not cached: the next run lists it again.
  if (short) for (const id of [...cache.children.keys()]) if (!cache.verified.has(id)) cache.children.delete(id);

  return withTargetLock(
    root,
    async () => {
      const state: SyncState = await readState(root, folderId, nodeFs, { readOnly: !!opts.dryRun });
      const local = await scanSyncTarget(root, signal);
      const listing: ListingTrust = short ? "held" : verified ? "verified" : "unverified";
      const plan = planSync(remote, state.files, local, {
        propagateDeletes: !!opts.propagateDeletes,
        removeExtras: !!opts.removeExtras,
        listing,
        extrasBefore: new Set(state.extras ?? []),
      });
      // Why files missing from put.io stay this run: the report says so.
      const waiting = plan.actions.filter((a) => a.kind === "wait").length + plan.extras.length;
      const held = short
        ? new PutioInputError(attempted, t("sync.listing-short", { ...short }))
        : waiting
          ? new PutioInputError(attempted, t("sync.removal-waits", { count: waiting }))
          : null;
      const done = (r: SyncReport): SyncResult => ({
        ...r,
        removalsHeld: held,
        folderId,
        target: root,
        seconds: (Date.now() - started) / 1000,
        seen,
        cache,
        listed,
        stateSetAside: state.setAside ?? null,
      });
      if (opts.dryRun) return done(reportOfPlan(plan.actions, trashStamp()));
      await ensureTargetFolder(nodeFs, root, attempted);
      const extrasChanged = (state.extras ?? []).join("\n") !== plan.extras.join("\n");
      state.extras = plan.extras;
      if (!plan.actions.length && !extrasChanged) return done(emptyReport(false));
      const report = await executePlan(plan.actions, { root, scheduler, state, remoteIds: new Set(plan.wanted.keys()), signal, onProgress: opts.onProgress });
      return done(report);
    },
    signal,
  );
}

/**
 * Whether the last run on `target` for this folder ended before it finished (a restart mid-run).
 * Read under the target's lock: a run of this process that is working marks the state "running"
 * too, and must not read as an interrupted one (a node checking at start while its first run works).
 */
export async function interrupted(target: string): Promise<boolean> {
  const root = path.resolve(target);
  return withTargetLock(root, () => lastRunUnfinished(root));
}

const LOCKS_KEY = Symbol.for("node-red-putio.sync-target-locks");
/** Per target folder (folded like paths: the disk may ignore case), process-wide. */
const targetLocks: Map<string, Promise<void>> = ((globalThis as Record<symbol, unknown>)[LOCKS_KEY] as Map<string, Promise<void>> | undefined) ??
(((globalThis as Record<symbol, unknown>)[LOCKS_KEY] = new Map<string, Promise<void>>()) as Map<string, Promise<void>>);

export async function withTargetLock<T>(target: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const key = foldName(path.resolve(target));
  const before = targetLocks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = before.then(() => mine);
  targetLocks.set(key, chained);
  await before;
  try {
    // Another Node-RED on the same folder (a second container, an add-on) waits too, by the state
    // file's claim and its lock file: two runs at once would each write the state of their own run,
    // and the one written last would forget files the other placed. A target not made yet has no
    // state to share (the first run makes it).
    const claim = (await lstatOrNull(nodeFs, target)) ? await localClaims.claim([path.join(target, STATE_FILE)], { signal }) : null;
    try {
      return await fn();
    } finally {
      await claim?.();
    }
  } finally {
    release();
    if (targetLocks.get(key) === chained) targetLocks.delete(key);
  }
}

/**
 * Runs of one node: one at a time; triggers during a run are coalesced into one next run. A dry
 * run is never coalesced with a real one (it only reads, under the same target lock).
 */
export class SyncRunner<R> {
  private running: Promise<R> | null = null;
  private queued: Promise<R> | null = null;

  constructor(private readonly work: (dryRun: boolean) => Promise<R>) {}

  get busy(): boolean {
    return this.running !== null;
  }

  /** Resolves once no run works or waits (a closing node waits for its last write). */
  async idle(): Promise<void> {
    while (this.running || this.queued) await Promise.allSettled([this.running, this.queued]);
  }

  /** `first`: this trigger started its run (the others joined one already waiting). */
  trigger(dryRun = false): { result: Promise<R>; first: boolean } {
    if (dryRun) return { result: this.work(true), first: true };
    if (this.queued) return { result: this.queued, first: false };
    if (!this.running) return { result: this.start(), first: true };
    const after = this.running.then(
      () => {},
      () => {},
    );
    this.queued = after.then(() => {
      this.queued = null;
      return this.start();
    });
    return { result: this.queued, first: true };
  }

  private start(): Promise<R> {
    const p = this.work(false);
    this.running = p;
    const clear = () => {
      if (this.running === p) this.running = null;
    };
    p.then(clear, clear);
    return p;
  }
}
