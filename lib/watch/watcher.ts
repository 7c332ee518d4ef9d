/**
 * TransferWatcher: follows an account's transfers and tells subscribers about every status change,
 * from put.io's realtime socket (default) with a reconcile of `transfers/list` at start, after every
 * (re)connect and on a slow interval, or by polling only. A socket event or a callback POST is only
 * a hint: the transfer is re-read from the API before anything is dispatched. One watcher serves
 * every watch node of an account (they subscribe); dedup and persistence are the subscribers' job.
 */
import type { PutioClient } from "../client";
import type { Transfer } from "../domains/transfers";
import type { PutioFile } from "../domains/files";
import { PutioError } from "../core/errors";
import type { PutioSocket, SocketEvent, SocketState } from "../core/socket";

export type WatchState = "starting" | "connected" | "polling" | "reconnecting" | "stalled" | "unauthorized" | "stopped";

/** While the socket is down, the list is read at least this often (a socket outage must not hide completions for 5 min). */
export const DOWN_INTERVAL_MS = 60_000;

export interface TransferWatcherOptions {
  client: PutioClient;
  /** The account's socket; null = polling only. */
  socket: PutioSocket | null;
  /** Reconcile every this many ms (default 5 min with the socket, 60 s polling-only; floor 10 s). */
  intervalMs?: number;
  /** Report background failures (a reconcile that failed); the watcher keeps going. */
  onError?: (err: Error) => void;
}

export interface TransferChange {
  transfer: Transfer;
  /**
   * The put.io path of the transfer's result (e.g. "/Movies/Film.mkv"), or null without a file.
   * Lazy: only a subscriber that emits pays the requests.
   */
  path(): Promise<string | null>;
  /** put.io's file or folder the transfer made (read once, shared with path()), or null without one. */
  file(): Promise<PutioFile | null>;
  /** What revealed it: the initial/periodic reconcile, a socket event, or a callback. */
  source: "reconcile" | "socket" | "callback";
}

export type ChangeListener = (change: TransferChange) => void | Promise<void>;

/**
 * What an observer sees: every transfer the watcher read, every transfer put.io pushed (as pushed:
 * unchecked, for display only), and transfers gone from the list.
 */
export type TransferSighting =
  | { kind: "transfer"; transfer: Transfer | Record<string, unknown> }
  | { kind: "gone"; id: number }
  /** A whole listing was read: the ids it held (what a subscriber remembers of transfers not among them may go). */
  | { kind: "listed"; ids: ReadonlySet<number> };

export const MIN_INTERVAL_MS = 10_000;

export class TransferWatcher {
  private readonly client: PutioClient;
  private readonly socket: PutioSocket | null;
  private readonly intervalMs: number;
  private readonly reportError: (err: Error) => void;
  /** Each listener with the statuses it cares about (null = all). */
  private readonly listeners = new Map<ChangeListener, ((status: string) => boolean) | null>();
  /** Transfers being re-read, and whether another hint arrived meanwhile (one more read then). */
  private readonly hinting = new Map<number, { again: boolean; done: Promise<void> }>();
  private readonly stateListeners = new Set<(s: WatchState) => void>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private readonly observers = new Set<(s: TransferSighting) => void>();
  /** Last status seen per transfer id: socket updates with the same status cost no request. */
  private readonly lastStatus = new Map<number, string>();
  /** Folder names by id, for paths (folders rarely change; a miss costs one request). */
  private readonly names = new Map<number, { name: string; parent: number | null }>();
  private timer: NodeJS.Timeout | null = null;
  /** Runs only while the socket is down. */
  private downTimer: NodeJS.Timeout | null = null;
  private reconciling: Promise<void> | null = null;
  private reconcileAgain = false;
  private _state: WatchState = "starting";
  private stopped = false;
  private readonly onSocketEvent = (e: SocketEvent) => this.handleSocketEvent(e);
  private readonly onSocketOpen = () => void this.reconcile();
  private readonly onSocketState = (s: SocketState) => {
    const down = s === "reconnecting" || s === "connecting";
    this.downReconcile(down);
    if (s === "connected") this.setState("connected");
    // A stall stays shown until the socket is connected again.
    else if (down && this._state !== "stalled") this.setState("reconnecting");
    else if (s === "unauthorized") this.setState("unauthorized");
  };
  private readonly onSocketStalled = (err: Error) => {
    this.setState("stalled");
    this.report(err);
    // What the socket missed meanwhile.
    void this.reconcile();
  };
  private readonly onSocketWarning = (err: Error) => this.report(err);

  constructor(opts: TransferWatcherOptions) {
    this.client = opts.client;
    this.socket = opts.socket;
    this.intervalMs = Math.max(MIN_INTERVAL_MS, opts.intervalMs ?? (opts.socket ? 5 * 60_000 : 60_000));
    this.reportError = opts.onError ?? (() => {});
  }

  get state(): WatchState {
    return this._state;
  }

  start(): void {
    if (this.socket) {
      this.socket.on("event", this.onSocketEvent);
      this.socket.on("open", this.onSocketOpen);
      this.socket.on("state", this.onSocketState);
      this.socket.on("stalled", this.onSocketStalled);
      this.socket.on("warning", this.onSocketWarning);
      this.onSocketState(this.socket.state);
      // An already-open socket will not announce itself again: reconcile now.
      if (this.socket.state === "connected") void this.reconcile();
      this.socket.start();
    } else {
      this.setState("polling");
      void this.reconcile();
    }
    this.timer = setInterval(() => void this.reconcile(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.downReconcile(false);
    if (this.socket) {
      this.socket.off("event", this.onSocketEvent);
      this.socket.off("open", this.onSocketOpen);
      this.socket.off("state", this.onSocketState);
      this.socket.off("stalled", this.onSocketStalled);
      this.socket.off("warning", this.onSocketWarning);
    }
    this.listeners.clear();
    this.setState("stopped");
  }

  close(): void {
    this.stop();
  }

  /**
   * Subscribe to changes. A subscriber that needs the current list calls `reconcile()` when it is
   * ready for it (a watch node first reads its baseline), so subscribing costs no request.
   */
  subscribe(listener: ChangeListener, wants: ((status: string) => boolean) | null = null): () => void {
    this.listeners.set(listener, wants);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /**
   * Look on without subscribing: an observer costs no request (it never makes a pushed status worth
   * a read) and does not count as a user, so the watcher's users still stop it when they leave.
   */
  observe(observer: (s: TransferSighting) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private tell(s: TransferSighting): void {
    for (const o of this.observers) {
      try {
        o(s);
      } catch {
        /* an observer's failure must not stop the watcher */
      }
    }
  }

  /** Background failures, for every user of a shared watcher (not only the one that created it). */
  onError(listener: (err: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onState(listener: (s: WatchState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(s: WatchState): void {
    if (this._state === s || (this.stopped && s !== "stopped")) return;
    this._state = s;
    for (const l of this.stateListeners) {
      try {
        l(s);
      } catch {
        /* a listener's failure must not stop the others, nor the socket that told us */
      }
    }
  }

  /**
   * While the socket is down, read the list at the polling cadence (or the configured one if it is
   * shorter), so transfers are still seen; back to the slow interval once it is connected.
   */
  private downReconcile(down: boolean): void {
    if (down && !this.downTimer && !this.stopped) {
      const every = Math.min(this.intervalMs, DOWN_INTERVAL_MS);
      if (every >= this.intervalMs) return; // the regular timer is as fast already
      this.downTimer = setInterval(() => void this.reconcile(), every);
      this.downTimer.unref?.();
    } else if (!down && this.downTimer) {
      clearInterval(this.downTimer);
      this.downTimer = null;
    }
  }

  /**
   * Read the whole list and dispatch every transfer. Calls that arrive while one runs are
   * coalesced into one more run, so a burst of triggers costs at most two list requests.
   */
  reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.reconciling) {
      this.reconcileAgain = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      try {
        do {
          this.reconcileAgain = false;
          const seen = new Set<number>();
          for await (const t of this.client.transfers.list({ signal: this.client.transport.closeSignal })) {
            seen.add(t.id);
            await this.dispatch(t, "reconcile");
          }
          for (const id of [...this.lastStatus.keys()])
            if (!seen.has(id)) {
              this.lastStatus.delete(id);
              this.tell({ kind: "gone", id });
            }
          this.tell({ kind: "listed", ids: seen });
        } while (this.reconcileAgain && !this.stopped);
      } catch (err) {
        if (!this.stopped) this.report(err);
      } finally {
        this.reconciling = null;
      }
    })();
    return this.reconciling;
  }

  /**
   * A transfer may have changed (socket event, callback POST): read it from the API, then dispatch.
   * Hints for a transfer already being read are folded into one more read after it, so a burst of
   * pushes for one transfer costs at most two requests however slow the API is.
   */
  hint(transferId: number, source: TransferChange["source"]): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const running = this.hinting.get(transferId);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.readAndDispatch(transferId, source);
        } while (entry.again && !this.stopped);
      } finally {
        this.hinting.delete(transferId);
      }
    })();
    this.hinting.set(transferId, entry);
    return entry.done;
  }

  private async readAndDispatch(transferId: number, source: TransferChange["source"]): Promise<void> {
    try {
      const t = await this.client.transfers.get(transferId, this.client.transport.closeSignal);
      await this.dispatch(t, source);
    } catch (err) {
      // Removed meanwhile: nothing to report. But a callback's fields are not documented (core/quirks.ts):
      // its id may not be the transfer's, so an unknown one costs a reconcile, not a miss.
      if (err instanceof PutioError && err.statusCode === 404) {
        if (source === "callback") void this.reconcile();
        return;
      }
      // Anything else: a reconcile will catch up.
      if (!this.stopped) {
        this.report(err);
        void this.reconcile();
      }
    }
  }

  private handleSocketEvent(e: SocketEvent): void {
    const pushed = e.value !== null && typeof e.value === "object" && typeof (e.value as { id?: unknown }).id === "number" ? (e.value as { id: number }) : null;
    if (e.type === "transfer_delete" && pushed) this.tell({ kind: "gone", id: pushed.id });
    if (e.type !== "transfer_update" && e.type !== "transfer_create") return;
    // Progress ticks are shown as pushed, at no request.
    if (pushed) this.tell({ kind: "transfer", transfer: pushed as Record<string, unknown> });
    const value = e.value as { id?: unknown; status?: unknown } | null;
    const id = typeof value?.id === "number" ? value.id : null;
    if (id === null) return void this.reconcile();
    // put.io pushes an update for every progress tick; only a new status that some subscriber
    // wants is worth a request (the pushed status is trusted only to skip, never to emit).
    if (typeof value?.status === "string") {
      if (this.lastStatus.get(id) === value.status) return;
      if (!this.wanted(value.status)) return;
    }
    void this.hint(id, "socket");
  }

  private wanted(status: string): boolean {
    for (const wants of this.listeners.values()) if (!wants || wants(status)) return true;
    return false;
  }

  private async dispatch(t: Transfer, source: TransferChange["source"]): Promise<void> {
    this.lastStatus.set(t.id, t.status);
    this.tell({ kind: "transfer", transfer: t });
    // Every transfer is passed on (subscribers dedupe by id and status, and a new subscriber needs
    // the whole list); the path is computed at most once, and only if someone asks for it.
    let path: Promise<string | null> | null = null;
    let file: Promise<PutioFile | null> | null = null;
    const fileOf = () =>
      (file ??= typeof t.file_id === "number" ? this.client.files.get(t.file_id, this.client.transport.closeSignal).catch(() => null) : Promise.resolve(null));
    const change: TransferChange = {
      transfer: t,
      source,
      file: fileOf,
      path: () => (path ??= fileOf().then((f) => (f ? this.pathOf(f).catch(() => null) : null))),
    };
    for (const l of [...this.listeners.keys()]) {
      try {
        await l(change);
      } catch (err) {
        this.report(err);
      }
    }
  }

  /** The put.io path of a file: its name under its folders' names, up to "Your Files". */
  private async pathOf(file: PutioFile): Promise<string> {
    const parts = [file.name];
    let parent = file.parent_id;
    for (let depth = 0; parent !== null && parent !== 0 && depth < 64; depth++) {
      // A folder a node resolved by its path (the watched folder) needs no request.
      const known = this.client.paths.knownPath(parent);
      if (known) return known + "/" + parts.join("/");
      let entry = this.names.get(parent);
      if (!entry) {
        const folder = await this.client.files.get(parent, this.client.transport.closeSignal);
        entry = { name: folder.name, parent: folder.parent_id };
        this.names.set(parent, entry);
      }
      parts.unshift(entry.name);
      parent = entry.parent;
    }
    return "/" + parts.join("/");
  }

  private report(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (e instanceof PutioError && e.isUnauthorized) this.setState("unauthorized");
    try {
      this.reportError(e);
    } catch {
      /* reporting must never throw into the watcher */
    }
    for (const l of this.errorListeners) {
      try {
        l(e);
      } catch {
        /* idem */
      }
    }
  }
}
