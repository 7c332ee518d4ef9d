/**
 * The body of a request to one of the package's own HTTP endpoints (the Transmission RPC, the watch
 * callback), read with the endpoint's own size limit, whatever ran before it.
 *
 * Why it is more than reading the stream: in a default Node-RED the admin and node roots are both
 * "/", so the editor API's JSON and urlencoded parsers (5 MB) see every request before httpNode's
 * routes and consume any body they recognise. The node side (`nodes/common/http-route.ts`) puts a
 * guard in front of them that marks our requests `UNREAD` (and parsed, body-parser's own
 * `req._body` flag, so parsers skip them); here such a request is read from its stream: the exact
 * bytes. A request some other parser did read first (a user's httpNodeMiddleware, a router we could
 * not reach) comes as what that parser made of it, and the endpoint decides whether it can use it.
 */
import type { IncomingMessage } from "node:http";

/** Set by the route guard on a request whose stream nobody may read but its endpoint. */
export const UNREAD = Symbol.for("node-red-putio.unread-body");

export type BodyRequest = IncomingMessage & { body?: unknown; _body?: boolean; [UNREAD]?: boolean };

export class BodyTooLarge extends Error {
  readonly status = 413;
}

/** The exact bytes, or what a parser in front already made of them (its kind by the content type). */
export type RequestBody = { kind: "bytes"; bytes: Buffer } | { kind: "parsed"; as: "json" | "form" | "text" | "other"; value: unknown };

/** The media type of a request, lower case, without parameters. */
export function mediaType(req: IncomingMessage): string {
  return (String(req.headers["content-type"] ?? "").split(";")[0] ?? "").trim().toLowerCase();
}

function declaredTooLarge(req: IncomingMessage, maxBytes: number): boolean {
  const declared = Number(req.headers["content-length"]);
  return Number.isFinite(declared) && declared > maxBytes;
}

/**
 * The body of `req`, at most `maxBytes`: refused (BodyTooLarge) as soon as it is known to be too
 * big, by its Content-Length or while it arrives, without reading the rest. A body parsed before us
 * is refused by its declared length too, and otherwise returned as it was parsed.
 */
export function readRequestBody(req: BodyRequest, maxBytes: number): Promise<RequestBody> {
  if (declaredTooLarge(req, maxBytes)) return Promise.reject(new BodyTooLarge(`the body is over ${maxBytes} bytes`));
  const consumed = (req._body && !req[UNREAD]) || (req.readableEnded && !req[UNREAD]);
  if (consumed) {
    const type = mediaType(req);
    const as = /[/+]json$/.test(type) ? "json" : type === "application/x-www-form-urlencoded" ? "form" : type.startsWith("text/") ? "text" : "other";
    return Promise.resolve({ kind: "parsed", as, value: req.body });
  }
  return readLimitedBody(req, maxBytes).then((bytes) => ({ kind: "bytes", bytes }));
}

/** The stream's bytes, at most `maxBytes`. */
export function readLimitedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (declaredTooLarge(req, maxBytes)) return Promise.reject(new BodyTooLarge(`the body is over ${maxBytes} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(new BodyTooLarge(`the body is over ${maxBytes} bytes`));
      } else chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}
