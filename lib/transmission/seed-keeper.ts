/**
 * The goals an app sets for seeding (torrent-set), kept for put.io's seeding: once a finished
 * torrent that put.io still seeds reaches its goal, put.io is asked to stop (once at a time; a
 * failure is tried again at the next check). The time goal is checked once a minute, locally (no
 * request) and only while something seeds.
 */
import type { PutioClient } from "../client";
import { secondsSeeding, seedGoalReached, type TorrentRecord } from "./model";

/** How often a seeding torrent's time goal is checked (locally: no request). */
const SEED_CHECK_MS = 60_000;

export interface SeedKeeperHooks {
  client: PutioClient;
  now: () => number;
  /** The finished torrents put.io still seeds. */
  seeding: () => TorrentRecord[];
  /** put.io stopped seeding it at the goal: store and report it. */
  stopped: (r: TorrentRecord) => void;
  report: (err: unknown) => void;
}

export class SeedKeeper {
  private readonly stopping = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly h: SeedKeeperHooks) {}

  /** The app's goal reached while put.io still seeds: put.io is asked to stop. */
  check(r: TorrentRecord): void {
    if (this.closed || r.phase !== "done" || r.transferId === null || this.stopping.has(r.id)) return;
    if (!seedGoalReached(r, Math.floor(this.h.now() / 1000))) return;
    this.stopping.add(r.id);
    this.h.client.transfers
      .cancel([r.transferId])
      .then(() => {
        if (r.seeding) r.seeding = { ...r.seeding, seconds: secondsSeeding(r.seeding, Math.floor(this.h.now() / 1000)), stopped: true };
        this.h.stopped(r);
      })
      .catch((err: unknown) => this.h.report(err))
      .finally(() => this.stopping.delete(r.id));
  }

  /** While put.io seeds a finished torrent, its seeding-time goal is checked once a minute. */
  watch(): void {
    if (this.timer || this.closed) return;
    if (!this.h.seeding().length) return;
    this.timer = setInterval(() => {
      const now = this.h.seeding();
      if (!now.length || this.closed) {
        clearInterval(this.timer!);
        this.timer = null;
        return;
      }
      for (const r of now) this.check(r);
    }, SEED_CHECK_MS);
    this.timer.unref?.();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}
