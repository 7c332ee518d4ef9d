// The HTTP front: request log, latency, CORS, fault knobs, rate limiting, auth, body parsing, dispatch.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, Params, parseBody, readRaw, sendError, sendJson, unauthorized } from "./http-util";
import { Ctx, HANDLED, Route, ServerInfo } from "./router";
import { accountRoutes } from "./routes-account";
import { configRoutes } from "./routes-config";
import { fileRoutes } from "./routes-files";
import { handleLinkPage, oauthRoutes } from "./routes-oauth";
import { transferRoutes } from "./routes-transfers";
import { trashRoutes } from "./routes-trash";
import { handleTus, uploadRoutes } from "./routes-upload";
import { serveDownload } from "./storage";
import { eventRoutes } from "./routes-events";
import { rssRoutes } from "./routes-rss";
import { serveZip, zipRoutes } from "./routes-zips";
import { extractRoutes } from "./routes-extract";
import { mediaRoutes } from "./routes-media";
import type { TokenRecord } from "./state";
import type { ApiFault } from "./knobs";

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  time: number;
  status: number;
  token?: string;
  /** The Range header of a storage request. */
  range?: string;
}

const ROUTES: Route[] = [
  ...accountRoutes,
  ...oauthRoutes,
  ...fileRoutes,
  ...trashRoutes,
  ...transferRoutes,
  ...configRoutes,
  ...uploadRoutes,
  ...zipRoutes,
  ...rssRoutes,
  ...eventRoutes,
  ...extractRoutes,
  ...mediaRoutes,
];

/** Accepts "token", "Token" and "Bearer" schemes, or ?oauth_token=. */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const m = /^(token|bearer)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return m ? m[2] : (url.searchParams.get("oauth_token") ?? undefined);
}

interface RateWindow {
  start: number;
  count: number;
}

export class RequestHandler {
  private readonly windows = new Map<string, RateWindow>();
  private rateLimitIdCounter = 1;

  constructor(
    private readonly server: ServerInfo,
    private readonly log: RequestLogEntry[],
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.server.origin);
    const token = presentedToken(req, url);
    res.on("finish", () => this.record(req, url, res.statusCode, token));
    res.on("close", () => {
      if (!res.writableFinished) this.record(req, url, res.statusCode, token);
    });
    try {
      const { knobs } = this.server;
      if (knobs.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, knobs.latencyMs));
      if (url.pathname.startsWith("/download/")) return await serveDownload(req, res, this.server, url);
      if (url.pathname.startsWith("/zipstream/")) return await serveZip(req, res, this.server, url);
      if (url.pathname === "/link") return await handleLinkPage(req, res, this.server, url);
      const tokenRecord = this.server.state.tokenRecord(token);
      if (url.pathname === "/files" || url.pathname.startsWith("/files/")) {
        return await handleTus(req, res, this.server, url, tokenRecord);
      }
      await this.handleApi(req, res, url, token, tokenRecord);
    } catch (e) {
      // Sent already, or the client went away mid-request (its body read fails "aborted"): nobody to answer.
      if (res.headersSent || req.socket.destroyed || (e as { code?: string })?.code === "ECONNRESET") {
        res.destroy();
        return;
      }
      if (e instanceof ApiError) return sendError(res, e);
      console.error("emulator: internal error", e);
      sendError(res, new ApiError(500, "InternalServerError", String((e as Error).message)));
    }
  }

  private record(req: IncomingMessage, url: URL, status: number, token: string | undefined): void {
    this.log.push({
      method: req.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      time: Date.now(),
      status,
      ...(token ? { token } : {}),
      ...(req.headers.range ? { range: req.headers.range } : {}),
    });
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse, url: URL, token: string | undefined, tokenRecord: TokenRecord | undefined): Promise<void> {
    const { knobs } = this.server;
    // All API responses carry CORS (put.io's OpenAPI description).
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (req.method === "OPTIONS") {
      res.writeHead(200, {
        "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Content-Length": "0",
      });
      return void res.end();
    }
    this.applyRateLimit(res, token ?? `ip:${req.socket.remoteAddress}`);
    if (knobs.captchaNeeded) {
      throw new ApiError(
        429,
        "TooManyRequests",
        "Too many requests, captcha needed",
        {},
        {
          "x-ratelimit-action": "captcha-needed",
          "x-ratelimit-id": `rl${this.rateLimitIdCounter++}`,
          "retry-after": "60",
        },
      );
    }
    if (knobs.failNext5xx > 0) {
      knobs.failNext5xx--;
      throw serverError(knobs.failNext5xxStatus);
    }
    if (knobs.fail5xx && Math.random() < knobs.fail5xx.probability) throw serverError(knobs.fail5xx.status ?? 500);

    const method = req.method === "HEAD" ? "HEAD" : (req.method ?? "GET");
    let match: RegExpExecArray | null = null;
    let found: Route | undefined;
    let pathKnown = false;
    for (const r of ROUTES) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      pathKnown = true;
      if (r.method === method || (method === "HEAD" && r.method === "GET")) {
        found = r;
        match = m;
        break;
      }
    }
    if (!found || !match) {
      await readRaw(req);
      if (pathKnown) throw new ApiError(405, "MethodNotAllowed", "Method not allowed");
      throw new ApiError(404, "NotFound", "Not found");
    }
    const raw = await readRaw(req);
    if (found.auth !== false && !tokenRecord) throw unauthorized();
    const body = parseBody(raw, req.headers["content-type"]);
    const fault = this.takeFault(method, url.pathname, token);
    const faultError = () =>
      new ApiError(
        fault!.status,
        fault!.errorType ?? (fault!.status >= 500 ? "InternalServerError" : "BadRequest"),
        (fault!.message ?? "Scripted error").split("{url}").join(String(body.fields.url ?? url.searchParams.get("url") ?? "")),
      );
    if (fault && !fault.after) throw faultError();
    const ctx = new Ctx(req, res, url, new Params(url.searchParams, body.fields), body.files, [...match], tokenRecord, this.server);
    const result = await found.handler(ctx);
    if (fault) throw faultError();
    if (result === HANDLED) return;
    sendJson(res, 200, { ...(result as Record<string, unknown>), status: "OK" });
  }

  /** The first scripted fault (knobs.apiFaults) this request matches, used up by one. */
  private takeFault(method: string, pathname: string, token: string | undefined): ApiFault | undefined {
    const faults = this.server.knobs.apiFaults;
    const i = faults.findIndex(
      (f) =>
        f.times > 0 &&
        (!f.method || f.method === method) &&
        (typeof f.path === "string" ? f.path === pathname : f.path.test(pathname)) &&
        (!f.token || f.token === token),
    );
    if (i < 0) return undefined;
    const f = faults[i]!;
    if (f.skip && f.skip > 0) {
      f.skip--;
      return undefined;
    }
    if (--f.times <= 0) faults.splice(i, 1);
    return f;
  }

  /** Budget per token per window in real wall time; headers on every API response. */
  private applyRateLimit(res: ServerResponse, key: string): void {
    const limit = this.server.knobs.rateLimit;
    if (!limit) return;
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || now >= Math.ceil((w.start + limit.windowMs) / 1000) * 1000) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    // The window ends on the whole second the header announces, so reset and retry-after agree.
    const resetMs = Math.ceil((w.start + limit.windowMs) / 1000) * 1000;
    res.setHeader("x-ratelimit-limit", String(limit.limit));
    res.setHeader("x-ratelimit-remaining", String(Math.max(0, limit.limit - w.count)));
    res.setHeader("x-ratelimit-reset", String(Math.ceil(resetMs / 1000)));
    if (w.count > limit.limit) {
      const retryAfter = Math.max(1, Math.ceil((resetMs - now) / 1000));
      throw new ApiError(429, "TooManyRequests", "Too many requests", {}, { "retry-after": String(retryAfter) });
    }
  }
}

function serverError(status: number): ApiError {
  return new ApiError(status, status === 503 ? "ServiceUnavailable" : "InternalServerError", "Internal server error");
}
