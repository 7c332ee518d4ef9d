/**
 * Clean-up once the app imported, for an app that will not remove the torrent itself (its "Remove
 * Completed" off, or a release it keeps in its list): the app's own API is asked (app-api.ts)
 * whether it imported each torrent that is verified on disk and no longer seeding on put.io, and an
 * imported one then goes the way of the app's own removal without local data (manager.remove:
 * put.io cleaned per the node's policy, kept and retried by cleanup.ts until done; the local copy
 * untouched, the app imported from it).
 *
 * Modest on the app: a round every few minutes, at most a few torrents per round (the least
 * recently asked first), one queue read only when one of them was imported; a round with nothing
 * to ask asks nothing (but the first, which checks the address and the key). An app that does not answer is asked again later and later; a refused key
 * is asked again only after an hour (the status says so meanwhile).
 */
import { isSeeding, type TorrentRecord } from "./model";
import type { IdSelector } from "./rpc";
import { AppApiError, type AppApi, type AppFailure } from "./app-api";

/** The poll's timings (a spec may shorten them). */
export const APP_POLL = {
  /** Between rounds while the app answers. */
  intervalMs: 3 * 60_000,
  /** Torrents asked about per round. */
  perRound: 10,
  /** The longest wait while the app does not answer. */
  maxBackoffMs: 30 * 60_000,
  /** The wait after the app refused the key (or gave an answer that is not its API's). */
  refusedMs: 60 * 60_000,
};

/** The removal reason in the node's msg. */
export const IMPORTED_BY_APP = "imported-by-app";

export interface AppImportsState {
  /** "ok": the app answered the last round; "idle": nothing asked yet. */
  kind: "idle" | "ok" | AppFailure;
  error: AppApiError | null;
}

/** What the poll needs of the torrent manager. */
export interface ImportsHost {
  all(): TorrentRecord[];
  remove(sel: IdSelector, deleteLocalData: boolean, reason?: string): Promise<void>;
}

export interface AppImportsOptions {
  api: Pick<AppApi, "imported" | "busy" | "probe" | "close">;
  host: ImportsHost;
  /** The app's state changed (the node's status). */
  onState?: (s: AppImportsState) => void;
  /** A failure that is not the app's (a removal that threw). */
  onError?: (err: Error) => void;
  now?: () => number;
}

/** Verified on disk and put.io no longer seeding it: the only torrents the app is asked about. */
function waitsForApp(r: TorrentRecord): boolean {
  return r.phase === "done" && !isSeeding(r);
}

export class AppImports {
  state: AppImportsState = { kind: "idle", error: null };
  private readonly asked = new Map<string, number>();
  private readonly closing = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;
  private started = false;
  private readonly now: () => number;

  constructor(private readonly o: AppImportsOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The first round soon (torrents imported while Node-RED was down), then one every interval. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  async close(): Promise<void> {
    this.closing.abort(new Error("closing"));
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
    this.o.api.close();
  }

  /** One round (also for a spec); a round already running is waited for instead. */
  round(): Promise<void> {
    this.running ??= this.ask().finally(() => (this.running = null));
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.closing.signal.aborted) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.round().catch(() => {});
    }, ms);
    this.timer.unref?.();
  }

  private setState(kind: AppImportsState["kind"], error: AppApiError | null): void {
    const changed = kind !== this.state.kind || error?.message !== this.state.error?.message;
    this.state = { kind, error };
    if (changed) this.o.onState?.(this.state);
  }

  private async ask(): Promise<void> {
    const signal = this.closing.signal;
    const waiting = this.o.host.all().filter(waitsForApp);
    const hashes = new Set(waiting.map((r) => r.hash));
    for (const h of [...this.asked.keys()]) if (!hashes.has(h)) this.asked.delete(h);
    const batch = waiting.sort((a, b) => (this.asked.get(a.hash) ?? 0) - (this.asked.get(b.hash) ?? 0)).slice(0, Math.max(1, APP_POLL.perRound));
    let next = APP_POLL.intervalMs;
    try {
      // The first round with nothing to ask still checks the address and the key: a wrong one shows at deploy.
      if (!batch.length && this.state.kind === "idle") {
        await this.o.api.probe(signal);
        this.setState("ok", null);
      }
      const imported: TorrentRecord[] = [];
      for (const r of batch) {
        if (signal.aborted) return;
        this.asked.set(r.hash, this.now());
        if (await this.o.api.imported(r.hash, signal)) imported.push(r);
      }
      // An import still going on (a season pack half done) or blocked: the app's list still needs the torrent.
      const busy = imported.length ? await this.o.api.busy(signal) : new Set<string>();
      if (batch.length) {
        this.failures = 0;
        this.setState("ok", null);
      }
      for (const r of imported) {
        if (signal.aborted || busy.has(r.hash.toUpperCase())) continue;
        // Asked a moment ago: still the same torrent, still on disk, put.io still not seeding it.
        const now = this.o.host.all().find((x) => x.id === r.id && x.hash === r.hash);
        if (!now || !waitsForApp(now)) continue;
        try {
          await this.o.host.remove({ ids: new Set([r.id]), hashes: new Set() }, false, IMPORTED_BY_APP);
        } catch (err) {
          this.o.onError?.(err instanceof Error ? err : new Error(String(err)));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (!(err instanceof AppApiError)) {
        this.o.onError?.(err instanceof Error ? err : new Error(String(err)));
      } else if (err.failure === "down") {
        next = Math.min(APP_POLL.maxBackoffMs, APP_POLL.intervalMs * 2 ** Math.min(10, this.failures++));
        this.setState("down", err);
      } else {
        next = Math.max(APP_POLL.intervalMs, APP_POLL.refusedMs);
        this.setState(err.failure, err);
      }
    } finally {
      this.schedule(next);
    }
  }
}
