/**
 * The HTTP/1.1 message of a storage GET, as bytes: the request written, the response head parsed,
 * and the body framed (Content-Length, chunked, or until the connection ends). No socket here:
 * storage-get.ts owns the connection and feeds these the bytes it reads.
 */
import type { ProxyRoute } from "../core/proxy";
import { render, t, type Text } from "../core/texts";

/** A system-like error (its `code` decides on a retry) with its message as a text by code. */
export function connectionError(text: Text, code: string): Error {
  return Object.assign(new Error(render(text)), { code, text });
}

export function usageError(text: Text): TypeError {
  return Object.assign(new TypeError(render(text)), { text });
}

/** Frames a body: how many of the next bytes belong to it, and when it is complete. */
export interface BodyFraming {
  /** Feeds received bytes; returns the body bytes among them (views of `data`, in order). */
  feed(data: Buffer, out: (body: Buffer) => void): void;
  readonly complete: boolean;
  /** Whether the end of the connection ends the body cleanly. */
  readonly endsAtClose: boolean;
}

export class LengthFraming implements BodyFraming {
  readonly endsAtClose = false;
  constructor(private remaining: number) {}
  get complete(): boolean {
    return this.remaining === 0;
  }
  /** Counts `n` received bytes; returns how many belong to the body. */
  take(n: number): number {
    const t = Math.min(this.remaining, n);
    this.remaining -= t;
    return t;
  }
  feed(data: Buffer, out: (body: Buffer) => void): void {
    if (this.remaining === 0) return;
    const take = Math.min(this.remaining, data.length);
    this.remaining -= take;
    out(take === data.length ? data : data.subarray(0, take));
  }
}

export class UntilCloseFraming implements BodyFraming {
  readonly endsAtClose = true;
  readonly complete = false;
  feed(data: Buffer, out: (body: Buffer) => void): void {
    out(data);
  }
}

/** Transfer-Encoding: chunked ("<hex size>[;ext]\r\n<data>\r\n" ... "0\r\n<trailers>\r\n"). */
export class ChunkedFraming implements BodyFraming {
  readonly endsAtClose = false;
  private state: "size" | "data" | "data-crlf" | "trailer" | "done" = "size";
  private line = "";
  private left = 0;
  get complete(): boolean {
    return this.state === "done";
  }
  feed(data: Buffer, out: (body: Buffer) => void): void {
    let i = 0;
    while (i < data.length && this.state !== "done") {
      if (this.state === "data") {
        const take = Math.min(this.left, data.length - i);
        out(data.subarray(i, i + take));
        i += take;
        this.left -= take;
        if (this.left === 0) this.state = "data-crlf";
        continue;
      }
      const nl = data.indexOf(10, i);
      const end = nl < 0 ? data.length : nl;
      this.line += data.toString("latin1", i, end);
      if (this.line.length > 4096) throw connectionError(t("storage.chunk-line-too-long"), "EPROTO");
      i = nl < 0 ? data.length : nl + 1;
      if (nl < 0) break;
      const line = this.line.replace(/\r$/, "");
      this.line = "";
      if (this.state === "size") {
        const m = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line.trim());
        if (!m?.[1]) throw connectionError(t("storage.bad-chunk-size"), "EPROTO");
        this.left = parseInt(m[1], 16);
        this.state = this.left === 0 ? "trailer" : "data";
      } else if (this.state === "data-crlf") {
        if (line !== "") throw connectionError(t("storage.no-crlf-after-chunk"), "EPROTO");
        this.state = "size";
      } else if (line === "") {
        this.state = "done"; // end of trailers
      }
    }
  }
}

export interface ParsedHead {
  statusCode: number;
  headers: Record<string, string>;
}

export function parseHead(text: string): ParsedHead {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
  if (!m) throw connectionError(t("storage.bad-status-line"), "EPROTO");
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw connectionError(t("storage.bad-header-line"), "EPROTO");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { statusCode: Number(m[1]), headers };
}

export function framingFor(head: ParsedHead): BodyFraming {
  const { statusCode, headers } = head;
  if (statusCode === 204 || statusCode === 304) return new LengthFraming(0);
  const te = headers["transfer-encoding"];
  if (te !== undefined) {
    if (/(?:^|,)\s*chunked\s*$/i.test(te)) return new ChunkedFraming();
    return new UntilCloseFraming();
  }
  const cl = headers["content-length"];
  if (cl !== undefined) {
    if (!/^\d{1,16}$/.test(cl)) throw connectionError(t("storage.bad-content-length", { value: cl.slice(0, 40) }), "EPROTO");
    return new LengthFraming(Number(cl));
  }
  return new UntilCloseFraming();
}

/** The request; `proxy` set: in absolute form, with the proxy's credentials. */
export function requestText(url: URL, headers: Record<string, string>, proxy?: ProxyRoute): string {
  const target = `${proxy ? `${url.protocol}//${url.host}` : ""}${url.pathname || "/"}${url.search}`;
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${url.host}`];
  if (proxy?.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw usageError(t("storage.bad-header-name", { name: JSON.stringify(name) }));
    lines.push(`${name}: ${value}`);
  }
  lines.push("Connection: close", "", "");
  return lines.join("\r\n");
}
