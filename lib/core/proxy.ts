/**
 * Which connections go through an HTTP proxy, and the tunnel through one. The one place that
 * decides: the API and upload calls (transport.ts), the realtime socket (socket.ts) and the storage
 * GETs of downloads (download/storage-get.ts) and the *arr apps' API (transmission/app-api.ts) all ask `proxyFor`
 * and open tunnels with `openTunnel` (`proxyConnector` for undici agents).
 *
 * Settings as Node-RED users know them: `http_proxy`, `https_proxy`, `no_proxy` (lower or upper
 * case) by default, or the URL, no-proxy list and credentials of core's `http proxy` config node
 * (the account node turns that into `ProxySettings`). Like Node-RED's `http request`: an https (wss)
 * target uses `https_proxy`, an http (ws) target `http_proxy`, each falling back to `all_proxy`.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { buildConnector } from "undici";
import { PutioBaseError } from "./errors";
import { asText, render, t, type Text, type TextOrString } from "./texts";

export interface ProxySettings {
  /** Proxy for http:// and ws:// targets. */
  httpProxy?: string;
  /** Proxy for https:// and wss:// targets. */
  httpsProxy?: string;
  /** Hosts reached directly: `host`, `.domain` / `*.domain`, `host:port`, an IP, `*` for all. */
  noProxy?: string | string[];
  /** Credentials for a proxy URL that carries none (core's http proxy node keeps them apart). */
  username?: string;
  password?: string;
}

/** How one target is reached through a proxy. */
export interface ProxyRoute {
  /** The proxy's host and port, to connect to. */
  host: string;
  port: number;
  secure: boolean;
  /** The value of Proxy-Authorization, when there are credentials. */
  authorization?: string;
  /** The proxy as it may be shown: scheme, host and port, never credentials. */
  label: string;
}

/** The proxy settings of the environment (read once, by the caller, at construction). */
export function proxySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ProxySettings {
  const pick = (name: string) => env[name] ?? env[name.toUpperCase()] ?? undefined;
  const all = pick("all_proxy");
  return {
    httpProxy: pick("http_proxy") || all || undefined,
    httpsProxy: pick("https_proxy") || all || undefined,
    noProxy: pick("no_proxy") || undefined,
  };
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };

function noProxyEntries(noProxy: ProxySettings["noProxy"]): string[] {
  const list = Array.isArray(noProxy) ? noProxy : String(noProxy ?? "").split(/[,\s]+/);
  return list.map((e) => String(e).trim().toLowerCase()).filter(Boolean);
}

/** Whether `no_proxy` sends this host (and port) directly. */
export function bypassesProxy(hostname: string, port: number, noProxy: ProxySettings["noProxy"]): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  for (const entry of noProxyEntries(noProxy)) {
    if (entry === "*") return true;
    // "host:port" (an IPv6 entry is written in brackets when it has a port).
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    const name = (m ? m[1]! : entry).replace(/^\[|\]$/g, "");
    if (m && Number(m[2]) !== port) continue;
    if (name.startsWith("*.") || name.startsWith(".")) {
      const suffix = name.slice(name.indexOf("."));
      if (host.endsWith(suffix) || host === suffix.slice(1)) return true;
    } else if (host === name || host.endsWith(`.${name}`)) {
      return true;
    }
  }
  return false;
}

/**
 * The proxy for a target URL, or null to connect directly (no proxy set for its scheme, or
 * no_proxy names it). A proxy setting that is not an http(s) URL throws a clear error rather than
 * connecting directly: a user who set a proxy expects nothing to go around it.
 */
export function proxyFor(target: string | URL, settings: ProxySettings | undefined): ProxyRoute | null {
  if (!settings) return null;
  const url = typeof target === "string" ? new URL(target) : target;
  const secure = url.protocol === "https:" || url.protocol === "wss:";
  const raw = (secure ? settings.httpsProxy : settings.httpProxy)?.trim();
  if (!raw) return null;
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  if (bypassesProxy(url.hostname, port, settings.noProxy)) return null;
  return parseProxyUrl(raw, settings);
}

/** A proxy URL ("http://user:pw@host:3128", or "host:3128") as a route. */
export function parseProxyUrl(raw: string, creds: Pick<ProxySettings, "username" | "password"> = {}): ProxyRoute {
  let url: URL;
  try {
    url = new URL(raw.includes("://") ? raw : `http://${raw}`);
  } catch {
    throw new ProxyFailure(t("proxy.bad-url"), "EPROXYURL", false);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ProxyFailure(t("proxy.bad-scheme", { scheme: url.protocol }), "EPROXYURL", false);
  }
  const secure = url.protocol === "https:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port) || (secure ? 443 : 80);
  const user = creds.username || creds.password ? (creds.username ?? "") : decodeURIComponent(url.username);
  const password = creds.username || creds.password ? (creds.password ?? "") : decodeURIComponent(url.password);
  const authorization = user || password ? `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` : undefined;
  return { host, port, secure, authorization, label: `${url.protocol}//${url.host}` };
}

/**
 * A failure of the proxy itself (not of put.io): the text says which proxy and what it did.
 * `retriable`: worth another try (the proxy is down or could not reach put.io); not for refused
 * credentials, a refusal by the proxy's rules or a bad proxy setting.
 */
export class ProxyFailure extends Error {
  constructor(
    readonly text: Text,
    readonly code: string,
    readonly retriable: boolean,
    readonly status?: number,
  ) {
    super(render(text));
    this.name = "ProxyFailure";
  }
}

/** A call that failed at the proxy, as the package's errors are: what was attempted, and why. */
export class PutioProxyError extends PutioBaseError {
  readonly retriable: boolean;
  /** The proxy's HTTP status, when it answered one. */
  readonly status: number | undefined;
  constructor(attempted: TextOrString, failure: ProxyFailure) {
    super(attempted, t("proxy.failed", { attempted: asText(attempted), reason: failure.text }), { cause: failure });
    this.retriable = failure.retriable;
    this.status = failure.status;
  }
}

/** The proxy's answer to CONNECT (or to a request in absolute form) as a failure, unless 2xx. */
export function proxyStatusFailure(route: ProxyRoute, status: number, target: string): ProxyFailure {
  if (status === 407) {
    return route.authorization
      ? new ProxyFailure(t("proxy.auth-refused", { proxy: route.label }), "EPROXYAUTH", false, 407)
      : new ProxyFailure(t("proxy.auth", { proxy: route.label }), "EPROXYAUTH", false, 407);
  }
  return new ProxyFailure(t("proxy.status", { proxy: route.label, status, target }), "EPROXYSTATUS", status >= 500, status);
}

/** The proxy could not be connected to at all (refused, unknown host, timeout). */
function unreachable(route: ProxyRoute, err: unknown): ProxyFailure {
  const code = (err as { code?: string })?.code ?? "";
  return new ProxyFailure(t("proxy.unreachable", { proxy: route.label, detail: code || String((err as Error)?.message ?? err) }), code || "EPROXYCONN", true);
}

export interface TunnelOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_CONNECT_HEAD = 16 * 1024;

/** Connect to the proxy itself (TLS for an https:// proxy). */
export function connectToProxy(route: ProxyRoute, onConnect: () => void, extra: net.NetConnectOpts | object = {}): net.Socket {
  return route.secure
    ? tls.connect({ host: route.host, port: route.port, servername: net.isIP(route.host) ? undefined : route.host, ...extra }, onConnect)
    : net.connect({ host: route.host, port: route.port, ...extra } as net.NetConnectOpts, onConnect);
}

/**
 * A raw TCP tunnel to host:port through the proxy (HTTP CONNECT). Resolves with the socket once the
 * proxy said 200; rejects with a ProxyFailure otherwise. TLS to the target, if any, is the caller's.
 */
export function openTunnel(route: ProxyRoute, host: string, port: number, opts: TunnelOptions): Promise<net.Socket> {
  const authority = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new Promise<net.Socket>((resolve, reject) => {
    let done = false;
    let head = Buffer.alloc(0);
    const finish = (err: unknown, ok?: net.Socket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      socket.removeListener("data", onData);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(ok!);
    };
    const onAbort = () => finish(opts.signal!.reason);
    const timer = setTimeout(
      () => finish(new ProxyFailure(t("proxy.timeout", { proxy: route.label, seconds: Math.round(opts.timeoutMs / 1000) }), "UND_ERR_CONNECT_TIMEOUT", true)),
      opts.timeoutMs,
    );
    timer.unref?.();
    const socket = connectToProxy(route, () => {
      const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
      if (route.authorization) lines.push(`Proxy-Authorization: ${route.authorization}`);
      socket.write(lines.concat("", "").join("\r\n"));
    });
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_CONNECT_HEAD) finish(new ProxyFailure(t("proxy.bad-answer", { proxy: route.label }), "EPROTO", true));
        return;
      }
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString("latin1", 0, Math.min(end, 64)));
      if (!m) return finish(new ProxyFailure(t("proxy.bad-answer", { proxy: route.label }), "EPROTO", true));
      const status = Number(m[1]);
      if (status < 200 || status > 299) return finish(proxyStatusFailure(route, status, authority));
      // Bytes after the proxy's answer already belong to the target: give them back to the stream.
      const rest = head.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      finish(null, socket);
    };
    socket.on("data", onData);
    socket.once("error", (err) => finish(unreachable(route, err)));
    socket.once("end", () => finish(new ProxyFailure(t("proxy.closed", { proxy: route.label }), "ECONNRESET", true)));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A connection to host:port for a client library (undici's connector, ws's createConnection):
 * through the proxy when `route` is set, TLS to the target when `secure`. The callback gets the
 * socket once it is ready to carry the request.
 */
export function connectVia(
  route: ProxyRoute,
  target: { host: string; port: number; secure: boolean; servername?: string; alpn?: string[] },
  opts: TunnelOptions,
  callback: (err: Error | null, socket?: net.Socket) => void,
): void {
  openTunnel(route, target.host, target.port, opts).then(
    (raw) => {
      if (!target.secure) return callback(null, raw);
      const servername = target.servername ?? (net.isIP(target.host) ? undefined : target.host);
      const secure = tls.connect({ socket: raw, servername, ALPNProtocols: target.alpn });
      const onError = (err: Error) => callback(err);
      secure.once("error", onError);
      secure.once("secureConnect", () => {
        secure.removeListener("error", onError);
        callback(null, secure);
      });
    },
    (err: Error) => callback(err),
  );
}

/**
 * An undici connector that follows `settings` for each new connection: direct, or through the proxy
 * `proxyFor` names for its origin (CONNECT), with `timeoutMs` to connect either way.
 */
export function proxyConnector(settings: ProxySettings, timeoutMs: number): buildConnector.connector {
  const direct = buildConnector({ timeout: timeoutMs });
  return (opts, callback) => {
    const secure = opts.protocol === "https:";
    const port = Number(opts.port) || (secure ? 443 : 80);
    const host = opts.hostname.replace(/^\[|\]$/g, "");
    let route;
    try {
      route = proxyFor(`${opts.protocol}//${net.isIPv6(host) ? `[${host}]` : host}:${port}`, settings);
    } catch (err) {
      return callback(err as Error, null);
    }
    if (!route) return direct(opts, callback);
    connectVia(route, { host, port, secure, servername: opts.servername, alpn: ["http/1.1"] }, { timeoutMs }, (err, socket) =>
      err ? callback(err, null) : callback(null, socket!),
    );
  };
}
