// Offline put.io API emulator: public entry point.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { defaultKnobs, Knobs } from "./knobs";
import { approveCode, DEVICE_CODE_TTL_MS } from "./routes-oauth";
import type { ServerInfo } from "./router";
import { seedDemoLibrary } from "./seed";
import { RequestHandler, RequestLogEntry } from "./server";
import { SocketHub, SOCKET_PATH } from "./socket";
import { EmulatorState } from "./state";
import { stalledResponses } from "./storage";
import { attachHistory } from "./routes-events";

export type { Knobs, ListingGlitch } from "./knobs";
export type { RequestLogEntry } from "./server";
export { EmulatorState, QUEUE_MS, DOWNLOAD_MS, COMPLETING_MS } from "./state";
export type { FileJson, TransferJson } from "./state";

export interface EmulatorOptions {
  port?: number;
  host?: string;
  seed?: boolean;
  realtimeClock?: boolean;
}

/** Manual-clock step: advance() moves time in slices of at most this, so every status is passed through. */
const TICK_MS = 1000;

export class Emulator {
  readonly apiUrl: string;
  readonly uploadUrl: string;
  readonly socketUrl: string;
  readonly token: string;
  readonly state: EmulatorState;
  readonly knobs: Knobs;
  readonly requests: RequestLogEntry[] = [];
  /**
   * Every TCP connection accepted and every request or upgrade, with the address it came from: the
   * proxy spec tells a connection through its proxy (which connects from another loopback address)
   * from one that went around it.
   */
  readonly peers: { connections: string[]; requests: Array<{ method: string; url: string; from: string }> } = { connections: [], requests: [] };
  private readonly sockets: SocketHub;
  private readonly ticker: NodeJS.Timeout | null = null;
  private ticking = false;

  /** Use startEmulator(); the constructor expects a listening server. */
  constructor(
    private readonly server: http.Server,
    state: EmulatorState,
    knobs: Knobs,
    host: string,
    realtime: boolean,
  ) {
    const { port } = server.address() as AddressInfo;
    const origin = `http://${host}:${port}`;
    this.apiUrl = origin;
    this.uploadUrl = origin;
    this.socketUrl = `ws://${host}:${port}${SOCKET_PATH}`;
    this.state = state;
    this.knobs = knobs;
    this.token = state.addUser({ username: "emulator" }).token;
    const info: ServerInfo = { origin, state, knobs };
    const handler = new RequestHandler(info, this.requests);
    server.on("connection", (s) => this.peers.connections.push(String(s.remoteAddress)));
    const seen = (req: http.IncomingMessage) =>
      this.peers.requests.push({ method: String(req.method), url: String(req.url), from: String(req.socket.remoteAddress) });
    server.on("upgrade", seen);
    server.on("request", (req, res) => {
      seen(req);
      void handler.handle(req, res);
    });
    this.sockets = new SocketHub(state, server, realtime);
    attachHistory(state);
    if (realtime) {
      this.ticker = setInterval(() => void this.tick(), TICK_MS);
      this.ticker.unref();
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      this.state.tickTransfers();
    } finally {
      this.ticking = false;
    }
  }

  /** Moves the manual clock; transfers progress, socket events are pushed and callback POSTs are awaited. */
  async advance(ms: number): Promise<void> {
    if (this.state.realtimeClock) throw new Error("advance() needs the manual clock (realtimeClock: false)");
    let remaining = ms;
    do {
      const step = Math.min(TICK_MS, remaining);
      this.state.moveClock(step);
      remaining -= step;
      this.state.tickTransfers();
      await this.state.settle();
    } while (remaining > 0);
  }

  approveDeviceCode(code: string, token?: string): void {
    approveCode(this.state, code, this.state.userFor(token ?? this.token).id);
  }

  /** Makes a device code unknown, as if its lifetime (DEVICE_CODE_TTL_MS) had passed. */
  expireDeviceCode(code: string): void {
    const rec = this.state.deviceCodes.get(code.toUpperCase());
    if (rec) rec.createdAt -= DEVICE_CODE_TTL_MS + 1;
  }

  addUser(opts?: { username?: string }): { token: string; userId: number } {
    return this.state.addUser(opts);
  }

  revokeToken(token: string): void {
    const rec = this.state.tokens.get(token);
    if (rec) rec.revoked = true;
    this.sockets.closeToken(token);
  }

  dropSockets(): void {
    this.sockets.dropAll();
  }

  /** Number of authenticated socket connections (for tests waiting on a client to connect). */
  socketCount(): number {
    return this.sockets.authenticatedCount();
  }

  pushSocketEvent(token: string, type: string, value: unknown): void {
    this.sockets.sendToUser(this.state.userFor(token).id, type, value);
  }

  async close(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.sockets.close();
    for (const res of stalledResponses) res.destroy();
    await this.state.settle();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? "127.0.0.1";
  const knobs = defaultKnobs();
  const state = new EmulatorState(knobs, opts.realtimeClock ?? false);
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const emulator = new Emulator(server, state, knobs, host, opts.realtimeClock ?? false);
  if (opts.seed) seedDemoLibrary(state, emulator.token);
  return emulator;
}
