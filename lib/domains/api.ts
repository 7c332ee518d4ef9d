/**
 * Any put.io route (subtitles, mp4, shares, friends, …) through the same pipeline as the typed
 * domains: auth, the shared per-token queue, rate-limit holds, retries and the error envelope.
 */
import { PutioInputError, PutioSchemaError } from "../core/errors";
import { header, type Params, type Primitive, type RawResponse, type RequestSpec } from "../core/request";
import type { Transport } from "../core/transport";
import { describeValue } from "../core/describe";
import { t, type TextOrString } from "../core/texts";

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
export function apiPath(path: unknown, attempted: TextOrString): string {
  if (typeof path !== "string" || !path.trim()) throw new PutioInputError(attempted, t("input.no-api-path"));
  const p = path.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(p) || p.startsWith("//")) throw new PutioInputError(attempted, t("input.api-path-is-url"));
  const [pathname = "", query] = p.split("?", 2);
  if (query !== undefined) throw new PutioInputError(attempted, t("input.api-query-in-path"));
  const parts = pathname.split("/").filter(Boolean);
  if (parts[0] === "v2") parts.shift();
  if (!parts.length) throw new PutioInputError(attempted, t("input.no-api-path"));
  const decoded = parts.map((part) => {
    let d: string;
    try {
      d = decodeURIComponent(part);
    } catch {
      // decodeURIComponent throws a bare "URIError: URI malformed"; say which segment and why instead.
      throw new PutioInputError(attempted, t("input.api-bad-escape", { segment: part.slice(0, 40) }));
    }
    if (d === "." || d === ".." || /[\\\u0000-\u001f]/.test(d) || d.includes("/")) {
      throw new PutioInputError(attempted, t("input.api-segment-not-allowed", { segment: part.slice(0, 40) }));
    }
    return d;
  });
  return "/v2/" + decoded.map((s) => encodeURIComponent(s)).join("/");
}

function isPrimitive(v: unknown): v is Primitive {
  return v === null || v === undefined || ["string", "number", "boolean"].includes(typeof v);
}

/** Form/query values: primitives and lists of primitives (put.io takes lists comma-separated). */
function toParams(params: Record<string, unknown>, attempted: TextOrString): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) {
    if (isPrimitive(v)) out[k] = v;
    else if (Array.isArray(v) && v.every(isPrimitive)) out[k] = v as Primitive[];
    else if (v && typeof v === "object") throw new PutioInputError(attempted, t("input.api-param-is-object", { key: k }));
    else throw new PutioInputError(attempted, t("input.api-param-wrong-type", { key: k, type: typeof v, value: describeValue(v, 30) }));
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
    const attempted0 = t("op.call-api", {
      method: method.slice(0, 10),
      path: typeof call.path === "string" ? call.path.slice(0, 100) : describeValue(call.path, 40),
    });
    if (!(API_METHODS as readonly string[]).includes(method))
      throw new PutioInputError(attempted0, t("input.api-not-a-method", { method: String(call.method).slice(0, 20), methods: API_METHODS.join(", ") }));
    const path = apiPath(call.path, attempted0);
    // put.io's own errors say "POST /v2/… failed"; input errors say what was being attempted.
    const attempted = t("op.api-request", { method, path });
    const inputAttempted = t("op.call-api", { method, path });
    const params = call.params ?? {};
    if (typeof params !== "object" || Array.isArray(params) || Buffer.isBuffer(params))
      throw new PutioInputError(inputAttempted, t("input.api-params-not-object"));
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
          const why = String(err);
          throw new PutioInputError(
            inputAttempted,
            t(/circular/i.test(why) ? "input.api-params-circular" : /bigint/i.test(why) ? "input.api-params-bigint" : "input.api-params-unreadable", {
              value: describeValue(params, 60),
            }),
          );
        }
        spec.json = params;
      } else spec.form = toParams(params, inputAttempted);
    }
    const res: RawResponse = await this.t.send(spec);
    return { statusCode: res.statusCode, headers: res.headers, body: parseBody(res, attempted) };
  }
}

function parseBody(res: RawResponse, attempted: TextOrString): unknown {
  const type = header(res.headers, "content-type") ?? "";
  if (!/json/i.test(type)) return res.body;
  try {
    return res.body.length ? JSON.parse(res.body.toString("utf8")) : null;
  } catch {
    throw new PutioSchemaError(attempted, "", t("schema.not-json", { bytes: res.body.length }));
  }
}
