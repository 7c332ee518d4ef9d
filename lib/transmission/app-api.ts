/**
 * A small client of Sonarr's and Radarr's own v3 API, for one question: did the app import a
 * download? (`GET /api/v3/history` filtered by downloadId and event type 3, downloadFolderImported;
 * `GET /api/v3/queue` for a download the app is still working on.) Both apps page their lists
 * (page, pageSize, totalRecords, records) and take the key in the `X-Api-Key` header; a wrong key
 * is a bare 401.
 *
 * Connections follow the package's one proxy decision (core/proxy.ts). The API key goes in the
 * header and nowhere else: no text, error or label carries it (the label is the app's address
 * without user, password or query).
 */
import { Agent, request, type Dispatcher } from "undici";
import { PutioBaseError } from "../core/errors";
import { proxyConnector, proxySettingsFromEnv, ProxyFailure, type ProxySettings } from "../core/proxy";
import { validator } from "../core/schema";
import { linkSignals } from "../core/signals";
import { t, type Text } from "../core/texts";

/** What went wrong, for the caller's retry decision: a refused key is not retried soon. */
export type AppFailure = "refused" | "down" | "answer";

export class AppApiError extends PutioBaseError {
  constructor(
    attempted: Text,
    message: Text,
    readonly failure: AppFailure,
    readonly status?: number,
  ) {
    super(attempted, message);
  }
}

export interface AppApiOptions {
  /** The app's address as its users open it: `http://host:8989`, or with its URL base `http://host/sonarr`. */
  url: string;
  apiKey: string;
  /** The proxy settings (the account's); none: the environment's. */
  proxy?: ProxySettings;
  /** Per request, headers and body together. Default 30 s. */
  timeoutMs?: number;
}

/** Sonarr's and Radarr's history event of a download imported from the client's folder. */
export const IMPORTED_EVENT = { id: 3, name: "downloadFolderImported" } as const;
/** Queue states in which the app is done with a download. */
const SETTLED_STATES = new Set(["imported", "ignored"]);

const HISTORY_PAGE = 50;
const QUEUE_PAGE = 100;
/** A cap on pages read per question: an app that ignores the filters must not be read whole every round. */
const MAX_PAGES = 20;
/** Bodies above this are not an answer to these questions. */
const MAX_BODY = 8 * 1024 * 1024;

/** One page of a paged list, as both apps answer it (PagingResource), its records shaped as `item`. */
function pageOf<const I extends object>(item: I) {
  return {
    type: "object",
    required: ["page", "pageSize", "totalRecords", "records"],
    properties: {
      page: { type: "integer" },
      pageSize: { type: "integer" },
      totalRecords: { type: "integer", minimum: 0 },
      records: { type: "array", items: item },
    },
  } as const;
}

const checkHistory = validator(
  pageOf({
    type: "object",
    required: ["eventType"],
    properties: { downloadId: { type: "string", nullable: true }, eventType: { type: "string" } },
  }),
);
const checkQueue = validator(
  pageOf({
    type: "object",
    properties: { downloadId: { type: "string", nullable: true }, trackedDownloadState: { type: "string", nullable: true } },
  }),
);

/** The app's address, checked: http(s), no user, password, query or fragment. */
export function appBaseUrl(raw: string): URL {
  let url: URL | null = null;
  try {
    url = new URL(raw.trim());
  } catch {
    /* below */
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password || url.search || url.hash) {
    // The address as typed, without anything after "?" or before "@": a key pasted into it is not repeated.
    throw new AppApiError(
      t("app.use"),
      t("app.bad-url", {
        url: raw
          .trim()
          .replace(/[?#].*$/s, "")
          .replace(/\/\/[^/]*@/, "//"),
      }),
      "answer",
    );
  }
  return url;
}

export class AppApi {
  /** The app's address as it may be shown. */
  readonly label: string;
  private readonly base: URL;
  /** The app's URL base without a trailing slash ("" or "/sonarr"). */
  private readonly basePath: string;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly closing = new AbortController();

  constructor(private readonly opts: AppApiOptions) {
    this.base = appBaseUrl(opts.url);
    this.basePath = this.base.pathname.replace(/\/+$/, "");
    this.label = `${this.base.origin}${this.basePath}`;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    if (!opts.apiKey) throw new AppApiError(t("app.use"), t("app.no-key", { app: this.label }), "refused");
    const proxy = opts.proxy ?? proxySettingsFromEnv();
    this.agent = new Agent({ connect: proxyConnector(proxy, this.timeoutMs), keepAliveTimeout: 10_000, connections: 2 });
  }

  /** Whether the app's history holds an import of this download (the torrent's hash). */
  async imported(hash: string, signal?: AbortSignal): Promise<boolean> {
    // The apps keep the hash upper case (Transmission's hashString.ToUpper()); the filter compares exactly.
    const downloadId = hash.toUpperCase();
    const attempted = t("app.ask-history", { app: this.label });
    for (let page = 1; page <= MAX_PAGES; page++) {
      const body = await this.get(
        "history",
        { page, pageSize: HISTORY_PAGE, sortKey: "date", sortDirection: "descending", downloadId, eventType: IMPORTED_EVENT.id },
        attempted,
        signal,
      );
      const answer = this.check(checkHistory, body, attempted);
      // The filters are the app's; each record is checked here too, so an app that ignored them proves nothing.
      if (answer.records.some((r) => r.eventType === IMPORTED_EVENT.name && r.downloadId?.toUpperCase() === downloadId)) return true;
      if (!answer.records.length || page * HISTORY_PAGE >= answer.totalRecords) return false;
    }
    return false;
  }

  /** One small read (the queue's first item): the address and the key work. */
  async probe(signal?: AbortSignal): Promise<void> {
    const attempted = t("app.ask-queue", { app: this.label });
    this.check(checkQueue, await this.get("queue", { page: 1, pageSize: 1 }, attempted, signal), attempted);
  }

  /** Downloads (upper-case ids) the app still works on: in its queue in a state other than imported or ignored. */
  async busy(signal?: AbortSignal): Promise<Set<string>> {
    const attempted = t("app.ask-queue", { app: this.label });
    const out = new Set<string>();
    for (let page = 1; page <= MAX_PAGES; page++) {
      // Each app reads its own flag and ignores the other's: unknown items are downloads too.
      const body = await this.get("queue", { page, pageSize: QUEUE_PAGE, includeUnknownSeriesItems: true, includeUnknownMovieItems: true }, attempted, signal);
      const answer = this.check(checkQueue, body, attempted);
      for (const r of answer.records) {
        if (r.downloadId && !SETTLED_STATES.has(r.trackedDownloadState ?? "")) out.add(r.downloadId.toUpperCase());
      }
      if (!answer.records.length || page * QUEUE_PAGE >= answer.totalRecords) break;
    }
    return out;
  }

  close(): void {
    this.closing.abort(new Error("closed"));
    void this.agent.close().catch(() => {});
  }

  private check<T>(check: (data: unknown, attempted: Text) => T, body: unknown, attempted: Text): T {
    try {
      return check(body, attempted);
    } catch (err) {
      throw new AppApiError(attempted, t("app.bad-answer", { app: this.label, detail: (err as Error).message }), "answer");
    }
  }

  private async get(resource: string, query: Record<string, string | number | boolean>, attempted: Text, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(this.base.href);
    url.pathname = `${this.basePath}/api/v3/${resource}`;
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    const timer = new AbortController();
    const link = linkSignals(signal, this.closing.signal, timer.signal);
    const limit = setTimeout(() => timer.abort(new Error("timeout")), this.timeoutMs);
    limit.unref?.();
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: "GET",
        dispatcher: this.agent,
        headers: { "x-api-key": this.opts.apiKey, accept: "application/json" },
        signal: link.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      clearTimeout(limit);
      link.dispose();
      throw this.failure(err, attempted, timer.signal.aborted);
    }
    try {
      if (res.statusCode === 401 || res.statusCode === 403) {
        await res.body.dump();
        throw new AppApiError(attempted, t("app.key-refused", { app: this.label, status: res.statusCode }), "refused", res.statusCode);
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        // 5xx: the app (or a proxy in front of it) is not well right now; anything else is an answer that does not fit.
        throw new AppApiError(
          attempted,
          t("app.status", { app: this.label, status: res.statusCode }),
          res.statusCode >= 500 ? "down" : "answer",
          res.statusCode,
        );
      }
      const length = Number(res.headers["content-length"] ?? 0);
      if (length > MAX_BODY) {
        await res.body.dump();
        throw new AppApiError(attempted, t("app.bad-answer", { app: this.label, detail: `${length} bytes` }), "answer");
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY) {
          res.body.destroy();
          throw new AppApiError(attempted, t("app.bad-answer", { app: this.label, detail: `over ${MAX_BODY} bytes` }), "answer");
        }
        chunks.push(chunk as Buffer);
      }
      try {
        return JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        throw new AppApiError(attempted, t("app.bad-answer", { app: this.label, detail: "not JSON" }), "answer");
      }
    } catch (err) {
      if (err instanceof AppApiError) throw err;
      throw this.failure(err, attempted, timer.signal.aborted);
    } finally {
      clearTimeout(limit);
      link.dispose();
    }
  }

  /** A failure before a whole answer: the app is down, slow, or the proxy failed. */
  private failure(err: unknown, attempted: Text, timedOut: boolean): Error {
    if (this.closing.signal.aborted) return err instanceof Error ? err : new Error(String(err));
    if (timedOut) return new AppApiError(attempted, t("app.timeout", { app: this.label, seconds: Math.round(this.timeoutMs / 1000) }), "down");
    if (err instanceof ProxyFailure)
      return new AppApiError(attempted, t("app.unreachable", { app: this.label, detail: err.text }), err.retriable ? "down" : "answer");
    const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
    if (e?.name === "AbortError") return err as Error;
    const detail = e?.code ?? e?.cause?.code ?? e?.message ?? String(err);
    return new AppApiError(attempted, t("app.unreachable", { app: this.label, detail }), "down");
  }
}
