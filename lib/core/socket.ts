/**
 * put.io's realtime push, over the raw websocket endpoint of its SockJS server (what putio-sync
 * uses): the first frame we send is the token, then put.io pushes `{"type", "value"}` JSON frames.
 * A bad token closes with 4001 and is not retried. Anything else reconnects forever with capped,
 * jittered backoff; a silent connection (no frame or ping for `idleTimeoutMs`) is treated as dead.
 * A watchdog makes sure "reconnecting" never means "waiting for nothing": if the socket has wanted
 * a connection for longer than `watchdogMs` without a dial starting or ending, that is reported
 * (`stalled`) and a dial is forced.
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { backoffDelay } from "./sleep";
import { PutioBaseError } from "./errors";
import { t } from "./texts";
import { connectVia, proxyFor, proxySettingsFromEnv, ProxyFailure, type ProxySettings } from "./proxy";

export type SocketState = "idle" | "connecting" | "connected" | "reconnecting" | "unauthorized" | "stopped";

export interface SocketEvent {
  type: string;
  value: unknown;
}

export interface SocketOptions {
  url: string;
  token: () => string | undefined;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** No frame and no ping for this long → reconnect (put.io heartbeats about every 10 s). */
  idleTimeoutMs?: number;
  /**
   * A dial that has not opened after this long is abandoned (ws's own handshake timeout only
   * counts silence, so a server that trickles bytes would hold a dial open for ever).
   */
  handshakeTimeoutMs?: number;
  /** Wanting a connection this long with no dial started or ended = stalled (default 2 × maxDelayMs + handshakeTimeoutMs). */
  watchdogMs?: number;
  random?: () => number;
  /** The HTTP proxy (core/proxy.ts; the client's `transport.proxy`); when not given, the environment's. */
  proxy?: ProxySettings;
  /** For tests: how a dial is made. */
  createWebSocket?: (url: string, handshakeTimeoutMs: number) => WebSocket;
}

/** Close code put.io's socket uses for a bad token. */
export const CLOSE_UNAUTHORIZED = 4001;

export interface PutioSocketEvents {
  state: [SocketState];
  /** Each (re)connection: listeners reconcile what they may have missed while disconnected. */
  open: [{ reconnect: boolean }];
  event: [SocketEvent];
  /** Something went wrong that is worth telling (a dial that threw, a listener that threw); the socket carries on. */
  warning: [Error];
  /** The watchdog found no reconnect under way; a dial has been forced. */
  stalled: [Error];
}

export class PutioSocket extends EventEmitter<PutioSocketEvents> {
  private ws: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** When a dial last started or ended (or a reconnect was scheduled): the watchdog's measure of progress. */
  private lastProgress = 0;
  private attempts = 0;
  private opened = 0;
  private _state: SocketState = "idle";
  /** The code of the last proxy failure told (a proxy refusing each dial is said once, not per dial). */
  private proxyFailureTold = "";
  private readonly opts: Required<Omit<SocketOptions, "token" | "url" | "createWebSocket">> & Pick<SocketOptions, "token" | "url" | "createWebSocket">;

  constructor(opts: SocketOptions) {
    super();
    const o = {
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      idleTimeoutMs: 45_000,
      handshakeTimeoutMs: 10_000,
      random: Math.random,
      ...opts,
      proxy: opts.proxy ?? proxySettingsFromEnv(),
    };
    this.opts = { watchdogMs: 2 * o.maxDelayMs + o.handshakeTimeoutMs, ...o };
  }

  get state(): SocketState {
    return this._state;
  }

  /** How many times a connection was established (1 = first, more = reconnects). */
  get connections(): number {
    return this.opened;
  }

  start(): void {
    if (this._state === "idle" || this._state === "stopped" || this._state === "unauthorized") {
      this.attempts = 0;
      this.startWatchdog();
      this.connect();
    }
  }

  stop(): void {
    this.setState("stopped");
    this.clearTimers();
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    this.drop();
  }

  /** Forget the current dial or connection without waiting for its close event. */
  private drop(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on("error", () => {});
      try {
        ws.terminate();
      } catch {
        /* already gone */
      }
    }
  }

  private setState(s: SocketState): void {
    if (this._state === s) return;
    this._state = s;
    this.safeEmit("state", s);
  }

  /**
   * Emit without letting a listener's exception unwind into ws's handlers or our own (where it
   * could skip the arming of the reconnect timer).
   */
  private safeEmit<K extends keyof PutioSocketEvents>(name: K, ...args: PutioSocketEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: PutioSocketEvents[K]) => boolean)(name, ...args);
    } catch (err) {
      if (name === "warning") return;
      this.safeEmit("warning", err instanceof Error ? err : new Error(String(err)));
    }
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.timer = this.idleTimer = this.handshakeTimer = null;
  }

  /**
   * A lost reconnect (a timer that never fires, a dial whose close never comes) would otherwise
   * leave the socket "reconnecting" for ever. Checked on an interval of its own, so no path of the
   * dial logic can switch it off.
   */
  private startWatchdog(): void {
    if (this.watchdog) return;
    this.lastProgress = Date.now();
    this.watchdog = setInterval(() => this.checkStalled(), Math.max(1000, Math.floor(this.opts.watchdogMs / 4)));
    this.watchdog.unref?.();
  }

  private checkStalled(): void {
    if (this._state !== "connecting" && this._state !== "reconnecting") return;
    const waited = Date.now() - this.lastProgress;
    if (waited <= this.opts.watchdogMs) return;
    const err = new PutioBaseError(t("op.socket-connect"), t("socket.stalled", { seconds: Math.round(waited / 1000) }));
    err.name = "PutioSocketStalled";
    this.clearTimers();
    this.drop();
    this.safeEmit("stalled", err);
    this.connect();
  }

  private connect(): void {
    this.lastProgress = Date.now();
    let token: string | undefined;
    let ws: WebSocket;
    try {
      token = this.opts.token();
      if (!token) {
        this.setState("unauthorized");
        return;
      }
      this.setState(this.opened > 0 ? "reconnecting" : "connecting");
      const timeout = this.opts.handshakeTimeoutMs;
      ws = this.opts.createWebSocket ? this.opts.createWebSocket(this.opts.url, timeout) : this.dial(timeout);
    } catch (err) {
      // A bad URL throws from the constructor: said once per try, and tried again like any failure.
      this.safeEmit("warning", err instanceof Error ? err : new Error(String(err)));
      this.scheduleReconnect();
      return;
    }
    const sent = token;
    this.ws = ws;
    this.handshakeTimer = setTimeout(() => {
      if (this.ws !== ws || ws.readyState === WebSocket.OPEN) return;
      this.drop();
      this.scheduleReconnect();
    }, this.opts.handshakeTimeoutMs);
    ws.on("open", () => {
      if (this.ws !== ws) return;
      if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
      try {
        ws.send(sent);
      } catch {
        /* a failed send closes the connection: handled there */
      }
      const reconnect = this.opened > 0;
      this.proxyFailureTold = "";
      this.opened++;
      this.setState("connected");
      this.touch();
      this.safeEmit("open", { reconnect });
    });
    ws.on("message", (data) => {
      this.heard();
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return; // heartbeats or frames we do not understand
      }
      if (parsed && typeof parsed === "object" && typeof (parsed as SocketEvent).type === "string") {
        this.safeEmit("event", parsed as SocketEvent);
      }
    });
    ws.on("ping", () => this.heard());
    ws.on("error", (err) => {
      // Followed by close. The proxy's own refusal is worth telling (once per kind), the rest is not.
      if (err instanceof ProxyFailure && err.code !== this.proxyFailureTold) {
        this.proxyFailureTold = err.code;
        this.safeEmit("warning", err);
      }
    });
    ws.on("close", (code) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      if (code === CLOSE_UNAUTHORIZED) {
        this.setState("unauthorized");
        return;
      }
      this.scheduleReconnect();
    });
  }

  /** A websocket to the configured URL, through the proxy core/proxy.ts names for it (CONNECT). */
  private dial(handshakeTimeoutMs: number): WebSocket {
    const url = this.opts.url;
    const route = proxyFor(url, this.opts.proxy);
    if (!route) return new WebSocket(url, { handshakeTimeout: handshakeTimeoutMs });
    const secure = url.startsWith("wss:");
    const createConnection = ((o: { host: string; port: number | string; servername?: string }, cb: (err: Error | null, socket?: unknown) => void) => {
      connectVia(route, { host: o.host, port: Number(o.port), secure, servername: o.servername }, { timeoutMs: handshakeTimeoutMs }, cb);
      return undefined;
    }) as unknown as typeof import("node:net").createConnection;
    return new WebSocket(url, { handshakeTimeout: handshakeTimeoutMs, createConnection });
  }

  /**
   * The server spoke: the connection is healthy, so the backoff starts over. Not on open: a server
   * that accepts and drops at once would otherwise be redialled (and reconciled) every second.
   */
  private heard(): void {
    this.attempts = 0;
    this.touch();
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const ws = this.ws;
    // Dropped and redialled here rather than after its close event, which a dead link may never deliver.
    this.idleTimer = setTimeout(() => {
      if (!ws || this.ws !== ws) return;
      this.clearTimers();
      this.drop();
      this.scheduleReconnect();
    }, this.opts.idleTimeoutMs);
    this.idleTimer.unref?.();
  }

  private scheduleReconnect(): void {
    if (this._state === "stopped") return;
    this.lastProgress = Date.now();
    const delay = backoffDelay(this.attempts++, this.opts.baseDelayMs, this.opts.maxDelayMs, this.opts.random);
    if (this.timer) clearTimeout(this.timer);
    // Armed before the state is announced, so nothing a listener does can lose it.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    this.setState("reconnecting");
  }
}
