/**
 * put.io's realtime push, over the raw websocket endpoint of its SockJS server (what putio-sync
 * uses): the first frame we send is the token, then put.io pushes `{"type", "value"}` JSON frames.
 * A bad token closes with 4001 and is not retried. Anything else reconnects forever with capped,
 * jittered backoff; a silent connection (no frame or ping for `idleTimeoutMs`) is treated as dead.
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { backoffDelay } from "./sleep";

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
  random?: () => number;
}

/** Close code put.io's socket uses for a bad token. */
export const CLOSE_UNAUTHORIZED = 4001;

export interface PutioSocketEvents {
  state: [SocketState];
  /** Each (re)connection: listeners reconcile what they may have missed while disconnected. */
  open: [{ reconnect: boolean }];
  event: [SocketEvent];
}

export class PutioSocket extends EventEmitter<PutioSocketEvents> {
  private ws: WebSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private opened = 0;
  private _state: SocketState = "idle";
  private readonly opts: Required<Omit<SocketOptions, "token" | "url">> & Pick<SocketOptions, "token" | "url">;

  constructor(opts: SocketOptions) {
    super();
    this.opts = { baseDelayMs: 1000, maxDelayMs: 60_000, idleTimeoutMs: 45_000, random: Math.random, ...opts };
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
      this.connect();
    }
  }

  stop(): void {
    this.setState("stopped");
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on("error", () => {});
      ws.terminate();
    }
  }

  private setState(s: SocketState): void {
    if (this._state === s) return;
    this._state = s;
    this.emit("state", s);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.timer = this.idleTimer = null;
  }

  private connect(): void {
    const token = this.opts.token();
    if (!token) {
      this.setState("unauthorized");
      return;
    }
    this.setState(this.opened > 0 ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.opts.url, { handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on("open", () => {
      ws.send(token);
      const reconnect = this.opened > 0;
      this.opened++;
      this.setState("connected");
      this.touch();
      this.emit("open", { reconnect });
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
        this.emit("event", parsed as SocketEvent);
      }
    });
    ws.on("ping", () => this.heard());
    ws.on("error", () => {
      /* followed by close */
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
    this.idleTimer = setTimeout(() => this.ws?.terminate(), this.opts.idleTimeoutMs);
    this.idleTimer.unref?.();
  }

  private scheduleReconnect(): void {
    if (this._state === "stopped") return;
    this.setState("reconnecting");
    const delay = backoffDelay(this.attempts++, this.opts.baseDelayMs, this.opts.maxDelayMs, this.opts.random);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
