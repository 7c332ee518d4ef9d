/**
 * A stand-in for Sonarr's or Radarr's own v3 API, as strict as the apps: the two lists the
 * Transmission node reads (`/api/v3/history`, `/api/v3/queue`), each a PagingResource (page,
 * pageSize, sortKey, sortDirection, totalRecords, records) with the apps' field names, their
 * defaults (page 1, pageSize 10, history newest first) and filters (history: repeated `eventType`
 * as the enum's number, `downloadId` compared exactly; queue: items of unknown series/movies only
 * with `includeUnknownSeriesItems` / `includeUnknownMovieItems`). The key goes in `X-Api-Key`, the
 * `apikey` query or `Authorization: Bearer`; none or a wrong one is a bare 401. A number or flag
 * that does not parse is a 400 problem document; any other path a 404.
 *
 * The apps keep a Transmission download's id as its hash upper case. It can be stopped and started
 * again on the same port (the app down, then back).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export type ArrKind = "sonarr" | "radarr";

/** The apps' history event types (Sonarr's EpisodeHistoryEventType; Radarr's uses the same numbers for these). */
export const EVENT = { grabbed: 1, downloadFolderImported: 3, downloadFailed: 4 } as const;
export type EventName = keyof typeof EVENT;

export interface HistoryRecord {
  id: number;
  downloadId: string | null;
  eventType: EventName;
  sourceTitle: string;
  date: string;
  data: Record<string, string>;
}

export interface QueueRecord {
  id: number;
  downloadId: string | null;
  title: string;
  /** Sonarr's TrackedDownloadState, camel case: downloading, importBlocked, importPending, importing, imported, failedPending, failed, ignored. */
  trackedDownloadState: string;
  /** An item of a series (movie) the app does not know: listed only with the include flag. */
  unknown?: boolean;
}

export interface ArrRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
}

export class ArrAppStandIn {
  readonly history: HistoryRecord[] = [];
  readonly queue: QueueRecord[] = [];
  readonly requests: ArrRequest[] = [];
  /** Each answer of the lists fails with this status while set (a proxy in front of a sick app). */
  failStatus: number | null = null;
  /** History answers every record whatever the filters (an app that does not know them): a client must check each record. */
  ignoresFilters = false;
  private server: http.Server | null = null;
  private port = 0;
  private nextId = 1;
  private clock = Date.parse("2026-12-01T10:00:00Z");

  constructor(
    readonly kind: ArrKind,
    readonly apiKey: string,
    /** The app's URL base ("" or "/sonarr"). */
    readonly urlBase = "",
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.urlBase}`;
  }

  /** Requests for one list (history or queue) that the key let through. */
  asked(list: "history" | "queue"): ArrRequest[] {
    return this.requests.filter((r) => r.path === `${this.urlBase}/api/v3/${list}` && r.status === 200);
  }

  private add(hash: string, eventType: EventName, title: string): void {
    this.clock += 60_000;
    this.history.push({
      id: this.nextId++,
      downloadId: hash.toUpperCase(),
      eventType,
      sourceTitle: title,
      date: new Date(this.clock).toISOString(),
      data:
        eventType === "downloadFolderImported" ? { downloadClient: "Transmission", droppedPath: `/downloads/${title}`, importedPath: `/media/${title}` } : {},
    });
  }

  /** The app grabbed a release (sent it to the client). */
  grabbed(hash: string, title: string): void {
    this.add(hash, "grabbed", title);
  }

  /** The app imported a file of the download (one event per episode of a pack). */
  imported(hash: string, title: string): void {
    this.add(hash, "downloadFolderImported", title);
  }

  /** Unrelated history, so a filter that is not applied shows. */
  noise(count: number): void {
    for (let i = 0; i < count; i++) {
      const hash = (i.toString(16).padStart(8, "0") + "f".repeat(32)).slice(0, 40);
      this.add(hash, i % 2 ? "downloadFolderImported" : "grabbed", `Other.Release.${i}`);
    }
  }

  inQueue(hash: string, title: string, trackedDownloadState: string, unknown = false): void {
    this.queue.push({ id: this.nextId++, downloadId: hash.toUpperCase(), title, trackedDownloadState, unknown });
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** The app goes away: its port refuses connections until `start()` again. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const q = url.searchParams;
    const note = (status: number) => this.requests.push({ method: req.method ?? "", path: url.pathname, query: q, status });
    const send = (status: number, body?: unknown, type = "application/json; charset=utf-8") => {
      note(status);
      const text = body === undefined ? "" : JSON.stringify(body);
      res.writeHead(status, body === undefined ? {} : { "Content-Type": type, "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };
    req.resume();
    const key = q.get("apikey") ?? (req.headers["x-api-key"] as string | undefined) ?? req.headers.authorization?.replace("Bearer ", "");
    if (!url.pathname.startsWith(`${this.urlBase}/api/`)) return send(404);
    // The apps answer an API request without the right key with 401 and no body.
    if (!key || key !== this.apiKey) return send(401);
    const path = url.pathname.slice(this.urlBase.length);
    if (path !== "/api/v3/history" && path !== "/api/v3/queue") return send(404);
    if (req.method !== "GET") return send(405);
    if (this.failStatus !== null) return send(this.failStatus, { message: "stand-in failure" });
    const problem = (name: string) =>
      send(
        400,
        {
          type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
          title: "One or more validation errors occurred.",
          status: 400,
          errors: { [name]: [`The value '${q.get(name)}' is not valid.`] },
        },
        "application/problem+json; charset=utf-8",
      );
    const int = (name: string, dflt: number | null): number | null | undefined => {
      const v = q.get(name);
      if (v === null || v === "") return dflt;
      return /^-?\d+$/.test(v) ? Number(v) : undefined;
    };
    const flag = (name: string): boolean | undefined => {
      const v = q.get(name);
      if (v === null || v === "") return false;
      return /^true$/i.test(v) ? true : /^false$/i.test(v) ? false : undefined;
    };
    const page = int("page", 1);
    const pageSize = int("pageSize", 10);
    if (page === undefined) return problem("page");
    if (pageSize === undefined) return problem("pageSize");
    const sortDirection = q.get("sortDirection") ?? "default";
    if (!/^(default|ascending|descending)$/i.test(sortDirection)) return problem("sortDirection");
    const paged = <T>(all: T[], sortKey: string) => {
      // As the apps' paging: pageSize and page as given (page < 1 reads as the first).
      const size = Math.max(0, pageSize!);
      const from = Math.max(0, (page! - 1) * size);
      return { page, pageSize, sortKey, sortDirection: sortDirection.toLowerCase(), totalRecords: all.length, records: all.slice(from, from + size) };
    };
    if (path === "/api/v3/history") {
      const types = q.getAll("eventType");
      if (types.some((v) => !/^\d+$/.test(v))) return problem("eventType");
      const downloadId = q.get("downloadId");
      let list = [...this.history].sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : b.id - a.id));
      if (/^ascending$/i.test(sortDirection)) list.reverse();
      if (types.length && !this.ignoresFilters) list = list.filter((h) => types.map(Number).includes(EVENT[h.eventType]));
      // The apps compare the id exactly (a database equality): a lower-case hash finds nothing.
      if (downloadId && downloadId.trim() && !this.ignoresFilters) list = list.filter((h) => h.downloadId === downloadId);
      const records = list.map((h) => ({
        id: h.id,
        ...(this.kind === "sonarr" ? { episodeId: 100 + h.id, seriesId: 7 } : { movieId: 9 }),
        sourceTitle: h.sourceTitle,
        languages: [{ id: 1, name: "English" }],
        quality: { quality: { id: 7, name: "Bluray-1080p", source: "bluray", resolution: 1080 }, revision: { version: 1, real: 0, isRepack: false } },
        customFormats: [],
        customFormatScore: 0,
        qualityCutoffNotMet: false,
        date: h.date,
        downloadId: h.downloadId,
        eventType: h.eventType,
        data: h.data,
      }));
      return send(200, paged(records, "date"));
    }
    const unknownFlag = this.kind === "sonarr" ? "includeUnknownSeriesItems" : "includeUnknownMovieItems";
    const includeUnknown = flag(unknownFlag);
    if (includeUnknown === undefined) return problem(unknownFlag);
    const records = this.queue
      .filter((item) => includeUnknown || !item.unknown)
      .map((item) => ({
        id: item.id,
        ...(this.kind === "sonarr"
          ? { seriesId: item.unknown ? null : 7, episodeId: item.unknown ? null : 107, seasonNumber: 1 }
          : { movieId: item.unknown ? null : 9 }),
        title: item.title,
        size: 1000,
        status: "completed",
        trackedDownloadStatus: "ok",
        trackedDownloadState: item.trackedDownloadState,
        statusMessages: [],
        downloadId: item.downloadId,
        protocol: "torrent",
        downloadClient: "Transmission",
        outputPath: `/downloads/${item.title}`,
      }));
    return send(200, paged(records, "timeleft"));
  }
}

/** A stand-in app, started. */
export async function startArrApp(kind: ArrKind, apiKey: string, urlBase = ""): Promise<ArrAppStandIn> {
  const app = new ArrAppStandIn(kind, apiKey, urlBase);
  await app.start();
  return app;
}
