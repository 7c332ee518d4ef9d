/**
 * Any put.io route (subtitles, mp4, shares, friends, …) through the same pipeline as the typed
 * domains: auth, the shared per-token queue, rate-limit holds, retries and the error envelope.
 */
import { PutioInputError, PutioSchemaError } from "../core/errors";
import type { Params, Primitive, RawResponse, RequestSpec, Transport } from "../core/transport";
import { header } from "../core/transport";
import { describeValue } from "../core/describe";

export const API_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"] as const;
export type ApiMethod = (typeof API_METHODS)[number];

export interface ApiCall {
  method?: string;
  /** `/v2/files/list`, `/files/list` or `files/list` (put.io's API host only; never a full URL). */
  path: string;
  /** Query parameters for GET/HEAD/DELETE, the body for the others. */
  params?: Record<string, unknown>;
  /** Body encoding: `auto` sends JSON when a value is an object (or for PUT), else a form. */
  encoding?: "auto" | "form" | "json";
  signal?: AbortSignal;
}

export interface ApiAnswer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON answer; a Buffer when put.io answered something else (a .torrent, a redirect page). */
  body: unknown;
}

/** `files/list` → `/v2/files/list`; rejects anything that could leave the API host or climb paths. */
export function apiPath(path: unknown, attempted: string): string {
  if (typeof path !== "string" || !path.trim()) throw new PutioInputError(attempted, "no API path given (e.g. /v2/account/info)");
  const p = path.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(p) || p.startsWith("//"))
    throw new PutioInputError(attempted, "the path must be a put.io API path like /v2/files/list, not a URL");
  const [pathname = "", query] = p.split("?", 2);
  if (query !== undefined) throw new PutioInputError(attempted, "put the query parameters in msg.payload, not in the path");
  const parts = pathname.split("/").filter(Boolean);
  if (parts[0] === "v2") parts.shift();
  if (!parts.length) throw new PutioInputError(attempted, "no API path given (e.g. /v2/account/info)");
  const decoded = parts.map((part) => {
    let d: string;
    try {
      d = decodeURIComponent(part);
    } catch {
      // decodeURIComponent throws a bare "URIError: URI malformed"; say which segment and why instead.
      throw new PutioInputError(
        attempted,
        `the path segment "${part.slice(0, 40)}" has a "%" that is not a complete UTF-8 escape (like %C3%A9): write a literal "%" as %25`,
      );
    }
    if (d === "." || d === ".." || /[\\\u0000-\u001f]/.test(d) || d.includes("/")) {
      throw new PutioInputError(attempted, `"${part.slice(0, 40)}" is not allowed in an API path`);
    }
    return d;
  });
  return "/v2/" + decoded.map((s) => encodeURIComponent(s)).join("/");
}

function isPrimitive(v: unknown): v is Primitive {
  return v === null || v === undefined || ["string", "number", "boolean"].includes(typeof v);
}

/** Form/query values: primitives and lists of primitives (put.io takes lists comma-separated). */
function toParams(params: Record<string, unknown>, attempted: string): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) {
    if (isPrimitive(v)) out[k] = v;
    else if (Array.isArray(v) && v.every(isPrimitive)) out[k] = v as Primitive[];
    else if (v && typeof v === "object") throw new PutioInputError(attempted, `parameter "${k}" is an object: send it as JSON (encoding "json") or as text`);
    else throw new PutioInputError(attempted, `parameter "${k}" is a ${typeof v} (${describeValue(v, 30)}): send text, a number or true/false`);
  }
  return out;
}

export class GenericApi {
  constructor(private readonly t: Transport) {}

  async call(call: ApiCall): Promise<ApiAnswer> {
    const method =
      String(call.method ?? "GET")
        .trim()
        .toUpperCase() || "GET";
    const attempted0 = `call the put.io API (${method.slice(0, 10)} ${typeof call.path === "string" ? call.path.slice(0, 100) : describeValue(call.path, 40)})`;
    if (!(API_METHODS as readonly string[]).includes(method))
      throw new PutioInputError(attempted0, `"${String(call.method).slice(0, 20)}" is not an HTTP method (${API_METHODS.join(", ")})`);
    const path = apiPath(call.path, attempted0);
    // put.io's own errors say "POST /v2/… failed"; input errors say what was being attempted.
    const attempted = `${method} ${path}`;
    const inputAttempted = `call the put.io API (${attempted})`;
    const params = call.params ?? {};
    if (typeof params !== "object" || Array.isArray(params) || Buffer.isBuffer(params))
      throw new PutioInputError(inputAttempted, "the parameters must be an object");
    const spec: RequestSpec<unknown> = { method: method as ApiMethod, path, attempted, signal: call.signal };
    if (method === "GET" || method === "HEAD" || method === "DELETE") {
      spec.query = toParams(params, inputAttempted);
    } else {
      const nested = Object.values(params).some((v) => !isPrimitive(v) && !(Array.isArray(v) && v.every(isPrimitive)));
      const json = call.encoding === "json" || (call.encoding !== "form" && (nested || method === "PUT"));
      if (json) {
        // The transport would fail later with a bare TypeError (circular structure, BigInt): check here.
        try {
          JSON.stringify(params);
        } catch (err) {
          throw new PutioInputError(
            inputAttempted,
            `the parameters cannot be sent as JSON (${/circular/i.test(String(err)) ? "it refers to itself" : /bigint/i.test(String(err)) ? "it holds a BigInt" : "a value cannot be read"}): ${describeValue(params, 60)}`,
          );
        }
        spec.json = params;
      } else spec.form = toParams(params, inputAttempted);
    }
    const res: RawResponse = await this.t.send(spec);
    return { statusCode: res.statusCode, headers: res.headers, body: parseBody(res, attempted) };
  }
}

function parseBody(res: RawResponse, attempted: string): unknown {
  const type = header(res.headers, "content-type") ?? "";
  if (!/json/i.test(type)) return res.body;
  try {
    return res.body.length ? JSON.parse(res.body.toString("utf8")) : null;
  } catch {
    throw new PutioSchemaError(attempted, "", `is not JSON (${res.body.length} bytes)`);
  }
}
