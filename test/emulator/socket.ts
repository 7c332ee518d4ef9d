// The raw SockJS websocket endpoint putio-sync uses: first text frame = token,
// 4001 on a bad token, then {"type","value"} JSON text frames.
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { EmulatorState } from "./state";

export const SOCKET_PATH = "/socket/sockjs/websocket";
/** Heartbeat period inferred from the official client's 12 s tolerance. */
export const HEARTBEAT_MS = 10_000;

interface Session {
  ws: WebSocket;
  token: string | null;
  userId: number | null;
}

export class SocketHub {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sessions = new Set<Session>();
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly onPush = (userId: number, type: string, value: unknown) => this.sendToUser(userId, type, value);

  constructor(
    private readonly state: EmulatorState,
    httpServer: Server,
    realtime: boolean,
  ) {
    httpServer.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path !== SOCKET_PATH) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    state.on("push", this.onPush);
    if (realtime) {
      this.heartbeat = setInterval(() => this.sessions.forEach((s) => s.userId !== null && s.ws.ping()), HEARTBEAT_MS);
      this.heartbeat.unref();
    }
  }

  private accept(ws: WebSocket): void {
    const session: Session = { ws, token: null, userId: null };
    this.sessions.add(session);
    ws.on("close", () => this.sessions.delete(session));
    ws.on("error", () => this.sessions.delete(session));
    ws.on("message", (data, isBinary) => {
      if (session.userId !== null) return; // later client messages (e.g. "custom") are ignored
      const rec = isBinary ? undefined : this.state.tokenRecord(data.toString().trim());
      if (!rec) {
        ws.close(4001, "Unauthorized");
        return;
      }
      session.token = rec.token;
      session.userId = rec.userId;
    });
  }

  sendToUser(userId: number, type: string, value: unknown): void {
    const frame = JSON.stringify({ type, value });
    for (const s of this.sessions) {
      if (s.userId === userId && s.ws.readyState === WebSocket.OPEN) s.ws.send(frame);
    }
  }

  /** Connections authenticated with this token (to close them when it is revoked). */
  closeToken(token: string): void {
    for (const s of this.sessions) if (s.token === token) s.ws.close(4001, "Unauthorized");
  }

  dropAll(): void {
    for (const s of this.sessions) s.ws.terminate();
    this.sessions.clear();
  }

  authenticatedCount(): number {
    return [...this.sessions].filter((s) => s.userId !== null).length;
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.state.off("push", this.onPush);
    this.dropAll();
    this.wss.close();
  }
}
