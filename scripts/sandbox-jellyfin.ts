/**
 * A stand-in for Jellyfin, enough for the sandbox: it answers `POST /Library/Refresh` (Jellyfin's
 * "scan all libraries") with 204 when the API key header is right, 401 when it is not, 404 for
 * anything else, and records each refresh.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Refresh {
  at: Date;
  /** What the NAS folder held when the refresh came (names relative to it). */
  library: string[];
}

export interface JellyfinStandIn {
  url: string;
  refreshUrl: string;
  refreshes: Refresh[];
  close(): Promise<void>;
}

export async function startJellyfinStandIn(opts: { token: string; library: () => string[]; onRefresh?: (r: Refresh) => void }): Promise<JellyfinStandIn> {
  const refreshes: Refresh[] = [];
  const server = http.createServer((req, res) => {
    // The body is not used; read it so the connection can be reused.
    req.resume();
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0];
      if (req.method !== "POST" || path !== "/Library/Refresh") {
        res.statusCode = 404;
        res.end();
        return;
      }
      if (req.headers["x-emby-token"] !== opts.token) {
        res.statusCode = 401;
        res.end();
        return;
      }
      const r: Refresh = { at: new Date(), library: opts.library() };
      refreshes.push(r);
      opts.onRefresh?.(r);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    refreshUrl: `${url}/Library/Refresh`,
    refreshes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
