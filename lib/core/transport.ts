/**
 * The one request pipeline every put.io call goes through: auth, body encoding, timeouts, abort,
 * the shared per-token queue, rate-limit holds, retries, and put.io's error envelope turned into
 * typed errors. Domain modules (lib/domains/*) only describe requests (request.ts: a request and
 * its answer as data) and their answer schemas.
 */
import { setMaxListeners } from "node:events";
import { Agent, request as undiciRequest, errors as undiciErrors } from "undici";
import type { Dispatcher } from "undici";
import { PutioAbortError, PutioBaseError, PutioError, PutioNetworkError, PutioRateLimitError, PutioTimeoutError, redact } from "./errors";
import { proxyConnector, proxySettingsFromEnv, ProxyFailure, PutioProxyError, type ProxySettings } from "./proxy";
import { queueFor, releaseQueue, type RequestQueue } from "./request-queue";
import { wallClock, type Clock } from "./clock";
import { INVALID_SCOPE, TRASH_LOCK_TIMEOUT } from "./quirks";
import { linkSignals, type SignalLink } from "./signals";
import { backoffDelay } from "./sleep";
import type { TextOrString } from "./texts";
import { appendParams, header, parseJson, toEnvelope, type RawRequestSpec, type RawResponse, type RequestSpec } from "./request";

export const DEFAULT_API_URL = "https://api.put.io";
export const DEFAULT_UPLOAD_URL = "https://upload.put.io";
export const DEFAULT_SOCKET_URL = "wss://socket.put.io/socket/sockjs/websocket";
export const DEFAULT_WEB_URL = "https://app.put.io";

export interface TimeoutOptions {
  connectMs: number;
  headersMs: number;
  /** Longest silence inside a response body. */
  bodyIdleMs: number;
}

export interface RetryOptions {
  /** Retries of network errors and 5xx on idempotent requests (and of TRASH_LOCK_TIMEOUT). */
  retries: number;
  /** How many 429s in a row are waited out before giving up. */
  rateLimitRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Wait used when a 429 carries neither x-ratelimit-reset nor retry-after (rclone uses 60 s). */
  defaultRateLimitWaitMs: number;
}

export interface TransportOptions {
  token?: string;
  apiUrl?: string;
  uploadUrl?: string;
  webUrl?: string;
  maxConcurrent?: number;
  timeouts?: Partial<TimeoutOptions>;
  retry?: Partial<RetryOptions>;
  userAgent?: string;
  /** Injectable clock (tests); defaults to wall time. */
  clock?: Clock;
  random?: () => number;
  /** Called whenever put.io answers 401 (a revoked token): the account node turns its users red. */
  onUnauthorized?: (err: PutioError) => void;
  /** The HTTP proxy (core/proxy.ts); when not given, the http_proxy/https_proxy/no_proxy environment. */
  proxy?: ProxySettings;
}

/** Counters a caller (a node status, a benchmark) can read. */
export interface TransportStats {
  requests: number;
  retries: number;
  rateLimitWaits: number;
}

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE"]);
/** Errors after which the request certainly did not reach put.io. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "EHOSTUNREACH", "ENETUNREACH"]);

export class Transport {
  readonly apiUrl: string;
  readonly uploadUrl: string;
  readonly webUrl: string;
  readonly stats: TransportStats = { requests: 0, retries: 0, rateLimitWaits: 0 };
  /** The proxy settings every connection of this client follows (the socket and storage reads too). */
  readonly proxy: ProxySettings;
  private token: string | undefined;
  private readonly timeouts: TimeoutOptions;
  private readonly retry: RetryOptions;
  private readonly agent: Agent;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly userAgent: string;
  private readonly onUnauthorized?: (err: PutioError) => void;
  private readonly maxConcurrent: number;
  private queue: RequestQueue;
  private queueKey: string;
  /** Aborts every in-flight call on close(). */
  private readonly closing = new AbortController();

  constructor(opts: TransportOptions = {}) {
    this.apiUrl = normalizeBaseUrl(opts.apiUrl || DEFAULT_API_URL);
    this.uploadUrl = normalizeBaseUrl(opts.uploadUrl || DEFAULT_UPLOAD_URL);
    this.webUrl = trimSlash(opts.webUrl || DEFAULT_WEB_URL);
    this.token = opts.token || undefined;
    this.timeouts = { connectMs: 10_000, headersMs: 30_000, bodyIdleMs: 30_000, ...opts.timeouts };
    this.retry = { retries: 4, rateLimitRetries: 8, baseDelayMs: 500, maxDelayMs: 30_000, defaultRateLimitWaitMs: 60_000, ...opts.retry };
    this.clock = opts.clock ?? wallClock;
    this.random = opts.random ?? Math.random;
    this.userAgent = opts.userAgent ?? "node-red-putio";
    this.onUnauthorized = opts.onUnauthorized;
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 4);
    this.proxy = opts.proxy ?? proxySettingsFromEnv();
    this.agent = new Agent({ connect: proxyConnector(this.proxy, this.timeouts.connectMs), keepAliveTimeout: 30_000, connections: 16 });
    this.queueKey = `${this.apiUrl}|${this.token ?? ""}`;
    this.queue = queueFor(this.queueKey, this.maxConcurrent, this.clock);
    // Every in-flight call links its signal to this one: many at once is normal, not a leak.
    setMaxListeners(0, this.closing.signal);
  }

  get hasToken(): boolean {
    return !!this.token;
  }

  /** The token, for the few places that must put it elsewhere (socket auth). Never log it. */
  get accessToken(): string | undefined {
    return this.token;
  }

  /** Switch token (after a login); moves this transport to that token's shared queue. */
  setToken(token: string | undefined): void {
    releaseQueue(this.queueKey, this.queue);
    this.token = token || undefined;
    this.queueKey = `${this.apiUrl}|${this.token ?? ""}`;
    this.queue = queueFor(this.queueKey, this.maxConcurrent, this.clock);
  }

  /** Connect timeout, for engines that open their own connections (storage downloads). */
  get connectTimeoutMs(): number {
    return this.timeouts.connectMs;
  }

  get closeSignal(): AbortSignal {
    return this.closing.signal;
  }

  /** Abort in-flight calls and close connections. */
  async close(): Promise<void> {
    if (!this.closing.signal.aborted) this.closing.abort(new Error("client closed"));
    releaseQueue(this.queueKey, this.queue);
    await this.agent.close().catch(() => this.agent.destroy());
  }

  /** A signal that fires when the caller's signal fires or the client closes: dispose it when done. */
  linkSignal(signal?: AbortSignal): SignalLink {
    return linkSignals(signal, this.closing.signal);
  }

  /** A JSON call: the answer is parsed and checked by the schema. */
  async request<T>(spec: Omit<RequestSpec<T>, "raw">): Promise<T> {
    const res = await this.send(spec);
    const data = parseJson(res.body, spec.attempted);
    return spec.schema ? spec.schema(data, spec.attempted) : (data as T);
  }

  /**
   * A call whose status and headers the caller reads (tus, redirects): the same queue, holds and
   * retries, but a 4xx other than 401 and 429 is returned, not thrown, and the body is not parsed.
   */
  requestRaw(spec: RawRequestSpec): Promise<RawResponse> {
    return this.send({ ...spec, raw: true });
  }

  /** Run the request with queueing, rate-limit holds and the retry policy. */
  async send(spec: RequestSpec<unknown>): Promise<RawResponse> {
    const link = this.linkSignal(spec.signal);
    try {
      return await this.sendLinked(spec, link.signal);
    } finally {
      link.dispose();
    }
  }

  private async sendLinked(spec: RequestSpec<unknown>, signal: AbortSignal): Promise<RawResponse> {
    const idempotent = spec.idempotent ?? IDEMPOTENT_METHODS.has(spec.method);
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      if (signal.aborted) throw new PutioAbortError(spec.attempted, signal.reason);
      let res: RawResponse;
      try {
        // Rate-limit headers are applied before the slot is released, so no queued request
        // slips out between a 429 (or remaining: 0) and the hold it announces.
        res = await this.queue.run(async () => {
          const r = await this.once(spec, signal);
          this.observeRateLimit(r.headers);
          if (r.statusCode === 429) this.queue.holdUntilTime(this.rateLimitResetAt(r.headers));
          return r;
        }, signal);
      } catch (err) {
        const e = this.classify(err, spec, signal);
        // A proxy's own failure happened before anything reached put.io.
        const sent =
          !(e instanceof PutioTimeoutError && e.phase === "connect") &&
          !(e instanceof PutioNetworkError && !e.mayHaveTakenEffect) &&
          !(e instanceof PutioProxyError);
        if (e instanceof PutioAbortError || (e instanceof PutioProxyError && !e.retriable) || (sent && !idempotent) || failures >= this.retry.retries) throw e;
        await this.backoff(failures++, signal, spec.attempted);
        continue;
      }
      if (res.statusCode < 400 || (spec.raw && res.statusCode < 500 && res.statusCode !== 429 && res.statusCode !== 401)) return res;

      const envelope = toEnvelope(res);
      if (res.statusCode === 429) {
        const captcha = header(res.headers, "x-ratelimit-action") === "captcha-needed";
        const resetAt = this.rateLimitResetAt(res.headers);
        if (captcha || rateLimited >= this.retry.rateLimitRetries) {
          const id = header(res.headers, "x-ratelimit-id");
          throw new PutioRateLimitError(spec.attempted, envelope, captcha ? `${this.webUrl}/captcha/${id ?? ""}` : null, resetAt);
        }
        rateLimited++;
        this.stats.rateLimitWaits++;
        // A 429 was refused, not carried out: repeating it after the hold is safe for any method.
        continue;
      }
      // A concurrent trash operation refused this one without doing anything: safe to repeat (core/quirks.ts).
      const trashLocked = envelope.error_type === TRASH_LOCK_TIMEOUT;
      const retriable = trashLocked || (res.statusCode >= 500 && idempotent);
      if (retriable && failures < this.retry.retries) {
        await this.backoff(failures++, signal, spec.attempted);
        continue;
      }
      const error = new PutioError(spec.attempted, envelope);
      // 401 invalid_scope refuses one route to this kind of token; the token itself is fine (core/quirks.ts).
      if (error.isUnauthorized && spec.auth !== false && error.errorType !== INVALID_SCOPE) this.onUnauthorized?.(error);
      throw error;
    }
  }

  private async backoff(attempt: number, signal: AbortSignal, attempted: TextOrString): Promise<void> {
    this.stats.retries++;
    try {
      await this.clock.sleep(backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.random), signal);
    } catch (err) {
      throw new PutioAbortError(attempted, err);
    }
  }

  /** Epoch ms when the window resets: x-ratelimit-reset (epoch seconds), else retry-after (seconds). */
  private rateLimitResetAt(headers: RawResponse["headers"]): number {
    const reset = Number(header(headers, "x-ratelimit-reset"));
    if (Number.isFinite(reset) && reset > 0) return reset * 1000 + 1000; // +1 s like rclone: reset is whole seconds
    const retryAfter = Number(header(headers, "retry-after"));
    if (Number.isFinite(retryAfter) && retryAfter >= 0) return this.clock.now() + retryAfter * 1000;
    return this.clock.now() + this.retry.defaultRateLimitWaitMs;
  }

  /** When the budget is spent, hold the queue until the reset instead of sending into a 429. */
  private observeRateLimit(headers: RawResponse["headers"]): void {
    const remaining = header(headers, "x-ratelimit-remaining");
    if (remaining !== undefined && Number(remaining) <= 0) {
      const reset = Number(header(headers, "x-ratelimit-reset"));
      if (Number.isFinite(reset) && reset > 0) this.queue.holdUntilTime(reset * 1000 + 1000);
    }
  }

  private async once(spec: RequestSpec<unknown>, signal: AbortSignal): Promise<RawResponse> {
    const base = spec.host === "upload" ? this.uploadUrl : this.apiUrl;
    const url = new URL(spec.path.startsWith("http") ? spec.path : base + spec.path);
    appendParams(url.searchParams, spec.query);
    const headers: Record<string, string> = { "user-agent": this.userAgent, accept: "application/json", ...spec.headers };
    if (spec.auth !== false && this.token) headers.authorization = `token ${this.token}`;
    let body: Dispatcher.DispatchOptions["body"] = spec.body;
    if (spec.form) {
      const form = new URLSearchParams();
      appendParams(form, spec.form);
      body = form.toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    } else if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers["content-type"] = "application/json";
    } else if (spec.multipart) {
      body = spec.multipart as unknown as Dispatcher.DispatchOptions["body"];
    }
    this.stats.requests++;
    const res = await undiciRequest(url, {
      method: spec.method,
      headers,
      body,
      signal,
      dispatcher: this.agent,
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyIdleMs,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    return { statusCode: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
  }

  /** Map undici/network failures to our error kinds, never leaking the token. */
  private classify(err: unknown, spec: RequestSpec<unknown>, signal: AbortSignal): PutioBaseError {
    if (err instanceof PutioBaseError) return err;
    if (signal.aborted) return new PutioAbortError(spec.attempted, signal.reason);
    if (err instanceof ProxyFailure) return new PutioProxyError(spec.attempted, err);
    if (err instanceof undiciErrors.ConnectTimeoutError) return new PutioTimeoutError(spec.attempted, "connect", err);
    if (err instanceof undiciErrors.HeadersTimeoutError) return new PutioTimeoutError(spec.attempted, "headers", err);
    if (err instanceof undiciErrors.BodyTimeoutError) return new PutioTimeoutError(spec.attempted, "body", err);
    const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
    const safe = new Error(redact(String((err as Error)?.message ?? err), this.token));
    (safe as Error & { code?: string }).code = code;
    return new PutioNetworkError(spec.attempted, safe, !(code && NOT_SENT_CODES.has(code)));
  }
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, "");
}

/**
 * An API or upload host as users paste it: "https://api.put.io/v2/" works like
 * "https://api.put.io" (every path we send starts with /v2), and surrounding spaces are dropped.
 */
export function normalizeBaseUrl(s: string): string {
  return trimSlash(s.trim()).replace(/\/v2$/i, "");
}
