/**
 * The torrents the manager keeps, as data: by id, by put.io transfer and by hash, their live
 * progress (never stored), the ids removed lately (Transmission's "recently-active" answer), and
 * the writes of the state: a write asked for while one runs is folded into one more.
 */
import * as path from "node:path";
import type { IdSelector } from "./rpc";
import { emptyLive, type LiveProgress, type Phase, type TorrentRecord } from "./model";
import { isWithin, type Place } from "./placement";
import type { PendingCleanup, PersistedState, StateStore } from "./types";

/** Removed ids stay in "recently-active" answers this long (as Transmission keeps them). */
const RECENT_MS = 60_000;

export class TorrentTable {
  readonly records = new Map<number, TorrentRecord>();
  private readonly live = new Map<number, LiveProgress>();
  private readonly byTransfer = new Map<number, number>();
  private readonly removed: Array<{ id: number; at: number }> = [];
  /** session-set values kept (they change nothing on put.io). */
  session: Record<string, unknown> = {};
  /** put.io folder id per category ("" = the root folder). */
  folders: Record<string, number> = {};
  private nextId = 1;
  private saving: Promise<void> | null = null;
  private dirty = false;

  constructor(
    private readonly o: {
      store: StateStore;
      now: () => number;
      /** The clean-ups kept with the state. */
      cleanups: () => PendingCleanup[];
      onChange?: () => void;
    },
  ) {}

  /**
   * The stored state taken in, record by record. Local paths are derived again from the node's
   * settings (`placeOf`), never taken from the store; a record whose category no longer places is
   * dropped. Returns the stored clean-ups.
   */
  restore(state: PersistedState, placeOf: (category: string) => Place): PendingCleanup[] {
    this.nextId = Math.max(1, state.nextId);
    this.session = state.session ?? {};
    this.folders = state.folders ?? {};
    for (const r of state.torrents) {
      try {
        const place = placeOf(r.category);
        r.localDir = place.localDir;
        r.downloadDir = place.downloadDir;
      } catch {
        continue;
      }
      if (r.topPath !== null) {
        if (!isWithin(r.localDir, r.topPath) || path.relative(r.localDir, r.topPath).includes(path.sep)) r.topPath = null;
      }
      this.add(r);
    }
    return state.cleanups ?? [];
  }

  snapshot(): PersistedState {
    return {
      version: 1,
      nextId: this.nextId,
      torrents: [...this.records.values()],
      session: this.session,
      folders: this.folders,
      cleanups: this.o.cleanups(),
    };
  }

  /** Write the state; writes asked for while one runs are folded into one more. */
  persist(): Promise<void> {
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

  /** The write under way, if any, finished (its failure was reported where it was asked for). */
  async settled(): Promise<void> {
    await this.saving?.catch(() => {});
  }

  /** A new id (never reused within one state). */
  takeId(): number {
    return this.nextId++;
  }

  add(r: TorrentRecord): void {
    this.records.set(r.id, r);
    this.live.set(r.id, emptyLive());
    if (r.transferId !== null) this.byTransfer.set(r.transferId, r.id);
    this.nextId = Math.max(this.nextId, r.id + 1);
  }

  /** Gone for the apps: out of every answer, listed as recently removed. */
  forget(r: TorrentRecord): void {
    this.records.delete(r.id);
    if (r.transferId !== null) this.byTransfer.delete(r.transferId);
    this.live.delete(r.id);
    this.removed.push({ id: r.id, at: this.o.now() });
  }

  get(id: number): TorrentRecord | undefined {
    return this.records.get(id);
  }

  has(r: TorrentRecord): boolean {
    return this.records.get(r.id) === r;
  }

  byTransferId(transferId: number): TorrentRecord | undefined {
    const id = this.byTransfer.get(transferId);
    return id === undefined ? undefined : this.records.get(id);
  }

  byHash(hash: string): TorrentRecord | undefined {
    for (const r of this.records.values()) if (r.hash === hash) return r;
    return undefined;
  }

  liveOf(id: number): LiveProgress {
    let l = this.live.get(id);
    if (!l) this.live.set(id, (l = emptyLive()));
    return l;
  }

  /** Torrents per phase (the node's status). */
  counts(): Record<Phase, number> {
    const c: Record<Phase, number> = { putio: 0, local: 0, done: 0, failed: 0 };
    for (const r of this.records.values()) c[r.phase]++;
    return c;
  }

  select(sel: IdSelector): TorrentRecord[] {
    const all = [...this.records.values()];
    if (sel === null) return all;
    if (sel === "recent") {
      const since = Math.floor((this.o.now() - RECENT_MS) / 1000);
      return all.filter((r) => r.phase === "putio" || r.phase === "local" || Math.max(this.liveOf(r.id).activityAt, r.doneAt ?? 0, r.addedAt) >= since);
    }
    return all.filter((r) => sel.ids.has(r.id) || sel.hashes.has(r.hash));
  }

  recentlyRemoved(): number[] {
    const since = this.o.now() - RECENT_MS;
    while (this.removed.length && this.removed[0]!.at < since) this.removed.shift();
    return this.removed.map((x) => x.id);
  }
}
