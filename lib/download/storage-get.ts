/**
 * One HTTP/1.1 GET of a storage URL, read with as little work per byte as Node allows.
 *
 * Why not undici (which every API call uses): for a body, undici costs about twice the CPU of the
 * socket read itself (each chunk is copied into llhttp's WASM memory, then goes through stream
 * machinery). On a 2-core NAS that halved single-stream speed next to curl (bench P1: 0.36× with
 * undici). Here the socket reads into one reused buffer (`onread`, no allocation per read) and body
 * bytes are handed to the caller synchronously. A caller that can say where the next bytes should
 * go (`BodySink.claim`) gets them read there straight from the socket, with no copy at all.
 *
 * Scope: GET only, one request per connection (`Connection: close`), http and https, bodies framed
 * by Content-Length, chunked encoding or the end of the connection. Redirects are not followed: the
 * caller sees the status (storage URLs are final). This file is the connection and its phases;
 * the message itself (request text, head parsing, body framing) is storage-http.ts.
 *
 * Through an HTTP proxy (core/proxy.ts decides which): an http URL is asked of the proxy in
 * absolute form, an https URL goes through a CONNECT tunnel.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { connectToProxy, openTunnel, proxyFor, proxySettingsFromEnv, proxyStatusFailure, type ProxyRoute, type ProxySettings } from "../core/proxy";
import { t, type Text } from "../core/texts";
import { LengthFraming, connectionError, framingFor, parseHead, requestText, usageError, type BodyFraming, type ParsedHead } from "./storage-http";

export interface StorageGetOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  connectTimeoutMs: number;
  /** From the request written to the whole response head received. */
  headersTimeoutMs: number;
  /** Size of the buffer each socket read lands in. */
  readBufferBytes?: number;
  /** The HTTP proxy (the client's `transport.proxy`); when not given, the environment's. */
  proxy?: ProxySettings;
}

/** Where body bytes go. */
export interface BodySink {
  /** Body bytes to copy; `chunk` is valid only during the call. */
  write(chunk: Buffer): void;
  /**
   * Optional zero-copy path: a view the next socket read may land in. Called after every read, so
   * the view must stay untouched until `landed` (or the end of the body).
   */
  claim?(): Buffer;
  /** `n` body bytes landed at the start of the view `claim` returned last. */
  landed?(n: number): void;
}

export interface StorageResponse {
  readonly statusCode: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Streams the body into `sink`. Resolves when the body is complete, rejects when the connection
   * ends first (code ECONNRESET), on a socket error, on abort (with the signal's reason) or with
   * what the sink threw. Call once.
   */
  readBody(sink: BodySink): Promise<void>;
  /** Stop reading from the socket (TCP back-pressure slows the sender) / start again. */
  pause(): void;
  resume(): void;
  /** Close the connection; a pending readBody rejects with `err` (or settles quietly if done). */
  destroy(err?: Error): void;
}

const MAX_HEAD_BYTES = 64 * 1024;
const DEFAULT_READ_BUFFER = 256 * 1024;
/** Reads of the head; the full-size buffer is made only for a body that does not land in the sink's views. */
const HEAD_READ_BUFFER = 16 * 1024;

/** Open the connection, send the GET and resolve once the response head has arrived. */
export function storageGet(href: string, opts: StorageGetOptions): Promise<StorageResponse> {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return Promise.reject(usageError(t("storage.bad-url")));
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return Promise.reject(usageError(t("storage.bad-url-scheme", { scheme: url.protocol })));
  if (opts.signal.aborted) return Promise.reject(opts.signal.reason);
  const secure = url.protocol === "https:";
  let request: string;
  let proxy: ProxyRoute | null;
  try {
    proxy = proxyFor(url, opts.proxy ?? proxySettingsFromEnv());
    request = requestText(url, opts.headers, proxy && !secure ? proxy : undefined);
  } catch (err) {
    return Promise.reject(err); // a rejection like every other failure, never a synchronous throw
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port) || (secure ? 443 : 80);

  return new Promise<StorageResponse>((resolveHead, rejectHead) => {
    let phase: "connecting" | "head" | "waiting" | "body" | "done" = "connecting";
    let headChunks: Buffer[] = [];
    let headBytes = 0;
    let framing: BodyFraming | null = null;
    /** Body bytes that came with the head, before readBody was called. */
    let early: Buffer | null = null;
    let sawEnd = false;
    let sink: BodySink | null = null;
    let settleBody: { resolve(): void; reject(err: unknown): void } | null = null;
    let failure: unknown = null;
    let paused = false;
    let timer: NodeJS.Timeout | null = null;

    const setTimer = (ms: number, text: Text, code: string) => {
      clearTimer();
      timer = setTimeout(() => fail(connectionError(text, code)), ms);
      timer.unref?.();
    };
    const clearTimer = () => {
      if (timer) clearTimeout(timer);
      timer = null;
    };

    /** Ends a CONNECT still under way (https through a proxy). */
    const tunnelling = new AbortController();
    const onAbort = () => fail(opts.signal.reason);
    opts.signal.addEventListener("abort", onAbort, { once: true });

    const finish = () => {
      clearTimer();
      opts.signal.removeEventListener("abort", onAbort);
    };

    /** Ends everything with an error (first one wins). */
    const fail = (err: unknown) => {
      if (phase === "done") return;
      failure = err;
      const wasHead = phase === "connecting" || phase === "head";
      phase = "done";
      finish();
      tunnelling.abort();
      socket?.destroy();
      if (wasHead) rejectHead(err);
      else if (settleBody) settleBody.reject(err);
      // phase "waiting" without readBody yet: readBody rejects with `failure` when called.
    };

    const completeBody = () => {
      if (phase === "done") return;
      phase = "done";
      finish();
      socket?.destroy();
      settleBody?.resolve();
    };

    const deliver = (data: Buffer) => {
      framing!.feed(data, (body) => {
        if (body.length) sink!.write(body);
      });
      if (framing!.complete) completeBody();
    };

    const onRead = (length: number, buffer: Buffer): boolean => {
      try {
        if (buffer !== readBuffer) {
          // Landed in the sink's own view (body phase, Content-Length framing).
          if (phase !== "body") return false;
          const n = (framing as LengthFraming).take(length);
          if (n) sink!.landed!(n);
          if (framing!.complete) completeBody();
          return !paused;
        }
        const data = buffer.subarray(0, length);
        if (phase === "head") {
          headChunks.push(Buffer.from(data)); // the read buffer is reused: keep a copy
          headBytes += length;
          let all = headChunks.length === 1 ? headChunks[0]! : Buffer.concat(headChunks);
          for (;;) {
            const end = all.indexOf("\r\n\r\n");
            if (end < 0) {
              headChunks = [all];
              if (headBytes > MAX_HEAD_BYTES) fail(connectionError(t("storage.head-too-large"), "EPROTO"));
              return true;
            }
            // An interim 1xx head (100 Continue): the real one follows.
            if (/^HTTP\/1\.[01] 1\d\d /.test(all.toString("latin1", 0, 13))) {
              all = all.subarray(end + 4);
              headBytes = all.length;
              continue;
            }
            return onReadHead(all, end);
          }
        }
        if (phase === "body") {
          deliver(data);
          return !paused;
        }
        return true;
      } catch (err) {
        fail(err);
        return false;
      }
    };

    const onReadHead = (all: Buffer, end: number): boolean => {
      const head = parseHead(all.toString("latin1", 0, end));
      // Asked in absolute form, a 407 is the proxy's, never storage's.
      if (proxy && !secure && head.statusCode === 407) {
        fail(proxyStatusFailure(proxy, 407, url.host));
        return false;
      }
      framing = framingFor(head);
      const rest = all.subarray(end + 4);
      early = rest.length ? rest : null;
      headChunks = [];
      phase = "waiting";
      clearTimer();
      resolveHead(response(head));
      return false; // no more reads until the caller asks for the body
    };

    const response = (head: ParsedHead): StorageResponse => ({
      statusCode: head.statusCode,
      headers: head.headers,
      readBody(s) {
        if (sink) return Promise.reject(new Error("readBody called twice"));
        sink = s;
        return new Promise<void>((resolve, reject) => {
          if (phase === "done") {
            if (failure !== null) reject(failure);
            else resolve();
            return;
          }
          settleBody = { resolve, reject };
          phase = "body";
          try {
            if (early) deliver(early);
            early = null;
          } catch (err) {
            fail(err);
            return;
          }
          if (phase !== "body") return;
          if (framing!.complete) return completeBody();
          if (sawEnd) return void onEnd();
          if (!paused) socket?.resume();
        });
      },
      pause() {
        paused = true;
        if (phase === "body") socket?.pause();
      },
      resume() {
        paused = false;
        if (phase === "body") socket?.resume();
      },
      destroy(err) {
        if (err) fail(err);
        else completeBody();
      },
    });

    const onEnd = () => {
      sawEnd = true;
      if (phase === "body") {
        if (framing!.endsAtClose) completeBody();
        else fail(connectionError(t("storage.closed-mid-body"), "ECONNRESET"));
      } else if (phase === "connecting" || phase === "head") {
        fail(connectionError(t("storage.closed-before-answer"), "ECONNRESET"));
      }
      // "waiting": decided when readBody is called (the early bytes may complete the body).
    };

    // Small while only the head is read: with a sink's views (the download engine) the body never
    // lands here, and 16 connections at once would otherwise hold 4 MiB of idle buffers.
    const bodyBufferBytes = opts.readBufferBytes ?? DEFAULT_READ_BUFFER;
    let readBuffer = Buffer.allocUnsafe(Math.min(HEAD_READ_BUFFER, bodyBufferBytes));
    // Chosen after every read, for the next one: the sink's view once the body flows with a known
    // length, our own buffer for the head and for chunked or close-delimited bodies.
    const nextBuffer = (): Buffer => {
      if (phase !== "body") return readBuffer;
      if (sink?.claim && sink.landed && framing instanceof LengthFraming && !framing.complete) return sink.claim();
      if (readBuffer.length < bodyBufferBytes) readBuffer = Buffer.allocUnsafe(bodyBufferBytes);
      return readBuffer;
    };
    const onread = { buffer: nextBuffer, callback: onRead };
    const connected = () => {
      if (phase !== "connecting") return;
      phase = "head";
      setTimer(opts.headersTimeoutMs, t("storage.no-head-within", { seconds: Math.round(opts.headersTimeoutMs / 1000) }), "UND_ERR_HEADERS_TIMEOUT");
      socket!.setNoDelay(true);
      socket!.write(request);
    };
    const servername = net.isIP(host) ? undefined : host;
    let socket: net.Socket | null = null;
    const attach = (s: net.Socket) => {
      socket = s;
      s.on("error", (err) => fail(err));
      s.on("end", onEnd);
      s.on("close", () => {
        if (!sawEnd) onEnd();
      });
    };
    setTimer(opts.connectTimeoutMs, t("storage.no-connect-within", { seconds: Math.round(opts.connectTimeoutMs / 1000) }), "UND_ERR_CONNECT_TIMEOUT");
    if (!proxy) {
      attach(
        secure
          ? tls.connect({ host, port, servername, ALPNProtocols: ["http/1.1"], onread } as tls.ConnectionOptions, connected)
          : net.connect({ host, port, onread }, connected),
      );
    } else if (!secure) {
      attach(connectToProxy(proxy, connected, { onread }));
    } else {
      openTunnel(proxy, host, port, { timeoutMs: opts.connectTimeoutMs, signal: tunnelling.signal }).then(
        (raw) => {
          if (phase === "done") return void raw.destroy();
          const s = tls.connect({ socket: raw, servername, ALPNProtocols: ["http/1.1"] }, connected);
          readThroughEvents(s, onread);
          attach(s);
        },
        (err: unknown) => fail(err),
      );
    }
  });
}

/**
 * `onread` for a socket that ignores it (TLS over a tunnel socket): each received chunk is copied
 * into the buffers `onread.buffer` gives, and a `false` from the callback pauses the socket, its
 * unread rest kept until the next `resume()`.
 */
function readThroughEvents(s: net.Socket, onread: { buffer: () => Buffer; callback: (n: number, b: Buffer) => boolean }): void {
  let rest: Buffer | null = null;
  let feeding = false;
  const feed = (chunk: Buffer) => {
    feeding = true;
    try {
      let off = 0;
      while (off < chunk.length) {
        const buf = onread.buffer();
        const n = Math.min(buf.length, chunk.length - off);
        chunk.copy(buf, 0, off, off + n);
        off += n;
        if (!onread.callback(n, buf)) {
          if (off < chunk.length) rest = chunk.subarray(off);
          pauseStream();
          return;
        }
      }
    } finally {
      feeding = false;
    }
  };
  const pauseStream = net.Socket.prototype.pause.bind(s);
  const resumeStream = net.Socket.prototype.resume.bind(s);
  s.resume = () => {
    if (rest && !feeding) {
      const r = rest;
      rest = null;
      feed(r);
      if (rest) return s; // paused again before the rest was read
    }
    return resumeStream();
  };
  s.on("data", (chunk: Buffer) => feed(chunk));
}
