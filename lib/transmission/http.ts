/**
 * The HTTP side of Transmission's RPC, as the daemon does it: Basic auth first (401), then the
 * X-Transmission-Session-Id check (409 with the current id, on GET too: Sonarr's and Radarr's first
 * request is a bare GET to learn it), then one JSON request per POST. Plain node:http types, so it
 * runs under Node-RED's httpNode or a bare server alike.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BodyTooLarge, readRequestBody, type BodyRequest } from "../server/body";
import { handleRpc, type RpcBackend } from "./rpc";

export const SESSION_HEADER = "X-Transmission-Session-Id";
/** A base64 .torrent over 1 MB is normal for big packs; 32 MiB leaves room and still bounds memory. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface RpcHttpOptions {
  backend: RpcBackend;
  /** null = no authentication (the node's option); else both must match. */
  credentials: { username: string; password: string } | null;
  maxBodyBytes?: number;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Equal-length digests compared in constant time: neither timing nor an early return leaks a prefix. */
function same(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** user and password of a Basic Authorization header, or null. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]*)\s*$/i.exec(header ?? "");
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(text);
  }
}

/**
 * The RPC request, parsed: the exact bytes as JSON (whatever the content type: transmission-remote
 * says it sends a form), or what a parser in front of the route made of them when it was JSON or
 * text. A body some parser read as form fields cannot be told back exactly: refused, saying why.
 */
async function readRequest(req: BodyRequest, max: number): Promise<unknown> {
  let body;
  try {
    body = await readRequestBody(req, max);
  } catch (err) {
    throw err instanceof BodyTooLarge ? new BodyError(413, `request too large (over ${max} bytes)`) : err;
  }
  let text: string;
  if (body.kind === "bytes") text = body.bytes.toString("utf8");
  else if (typeof body.value === "string") text = body.value;
  else if (Buffer.isBuffer(body.value)) text = body.value.toString("utf8");
  else if (body.as === "json" && body.value !== null && typeof body.value === "object") return body.value;
  else
    throw new BodyError(
      400,
      "the request body was already read by a body parser in front of this route (as form fields), so its JSON cannot be read back: " +
        "remove that parser for this path (httpNodeMiddleware) or send the request as application/json",
    );
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // As the daemon: an RPC answer (HTTP 200) naming the problem.
    throw new BodyError(200, "invalid JSON in the request body");
  }
}

export class RpcHttp {
  /** Changes with every start, as the daemon's does; a client with an old one gets 409 and the new one. */
  readonly sessionId = randomBytes(24).toString("base64url");
  private readonly max: number;

  constructor(private readonly opts: RpcHttpOptions) {
    this.max = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  }

  /** Answer one request; never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    let answered = false;
    const send = (status: number, body: string, headers: Record<string, string> = {}, close = false) => {
      if (answered) return;
      answered = true;
      try {
        if (res.headersSent || res.writableEnded) return;
        res.statusCode = status;
        for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
        if (close) res.setHeader("Connection", "close");
        res.end(body);
      } catch {
        res.destroy();
      }
    };
    const unread = () => !req.readableEnded;
    try {
      const creds = this.opts.credentials;
      if (creds) {
        const given = basicCredentials(req.headers.authorization);
        // Both compared, always: the time does not tell which one was wrong.
        const userOk = same(given?.username ?? "", creds.username);
        const passOk = same(given?.password ?? "", creds.password);
        if (!given || !userOk || !passOk) {
          return send(
            401,
            "<h1>401: Unauthorized</h1>Unauthorized User",
            { "WWW-Authenticate": 'Basic realm="Transmission"', "Content-Type": "text/html; charset=UTF-8" },
            unread(),
          );
        }
      }
      const given = req.headers[SESSION_HEADER.toLowerCase()];
      if (typeof given !== "string" || !same(given, this.sessionId)) {
        return send(
          409,
          `<h1>409: Conflict</h1><p>Your request had an invalid session-id header.</p><p><code>${SESSION_HEADER}: ${this.sessionId}</code></p>`,
          { [SESSION_HEADER]: this.sessionId, "Access-Control-Expose-Headers": SESSION_HEADER, "Content-Type": "text/html; charset=UTF-8" },
          unread(),
        );
      }
      const json = (status: number, value: unknown) =>
        send(status, JSON.stringify(value), { "Content-Type": "application/json; charset=UTF-8", [SESSION_HEADER]: this.sessionId });
      if (req.method !== "POST") return json(200, { result: "no method name", arguments: {} });
      readRequest(req, this.max)
        .then(async (body) => json(200, await handleRpc(body, this.opts.backend)))
        .catch((err: unknown) => {
          const [status, text] = err instanceof BodyError ? [err.status, err.message] : [500, "internal error"];
          send(
            status,
            JSON.stringify({ result: text, arguments: {} }),
            { "Content-Type": "application/json; charset=UTF-8", [SESSION_HEADER]: this.sessionId },
            unread(),
          );
        });
    } catch {
      send(500, JSON.stringify({ result: "internal error", arguments: {} }), { "Content-Type": "application/json" }, unread());
    }
  }
}
