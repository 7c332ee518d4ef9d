/**
 * What a request to put.io is and what comes back, apart from how it is sent: the spec a domain
 * module writes, the raw answer, and the reading of both on the wire (parameters, headers, JSON,
 * put.io's error envelope). transport.ts sends them.
 */
import type { Dispatcher, FormData } from "undici";
import { PutioSchemaError, type PutioErrorEnvelope } from "./errors";
import type { Validator } from "./schema";
import { t, type TextOrString } from "./texts";

export type Primitive = string | number | boolean | null | undefined;
export type Params = Record<string, Primitive | Primitive[]>;

export interface RequestSpec<T> {
  method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD";
  path: string;
  /** Which host: the API (default) or the upload host. */
  host?: "api" | "upload";
  query?: Params;
  form?: Params;
  json?: unknown;
  multipart?: FormData;
  /** Raw body (tus PATCH). */
  body?: Dispatcher.DispatchOptions["body"];
  headers?: Record<string, string>;
  /** Safe to repeat after a network error or 5xx. Defaults to true for GET/HEAD/PUT/DELETE. */
  idempotent?: boolean;
  /** Send the token (default true; the OOB code endpoints must go without it). */
  auth?: boolean;
  schema?: Validator<T>;
  /** Set by requestRaw: 4xx answers (other than 401 and 429) are returned, not thrown. */
  raw?: boolean;
  /** What this call does, for error messages: "list folder 12". */
  attempted: TextOrString;
  signal?: AbortSignal;
}

/** A request whose answer the caller reads itself (requestRaw): no schema, no JSON parse. */
export type RawRequestSpec = Omit<RequestSpec<never>, "schema" | "raw">;

export interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function appendParams(target: URLSearchParams, params?: Params): void {
  if (!params) return;
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    // put.io takes id lists as comma-separated strings (file_ids=1,2,3).
    target.append(k, Array.isArray(v) ? v.filter((x) => x !== undefined && x !== null).join(",") : String(v));
  }
}

export function header(headers: RawResponse["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function parseJson(body: Buffer, attempted: TextOrString): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new PutioSchemaError(attempted, "", t("schema.not-json", { bytes: body.length }));
  }
}

/** put.io's error envelope, or a synthetic one when the body is not an envelope (a proxy's 502 page). */
export function toEnvelope(res: RawResponse): PutioErrorEnvelope {
  try {
    const data = JSON.parse(res.body.toString("utf8")) as Partial<PutioErrorEnvelope> & { error?: string };
    if (data && typeof data === "object" && (data.error_type || data.error)) {
      return {
        status_code: res.statusCode, // putio-js also trusts the HTTP status over the body's copy
        error_type: String(data.error_type ?? data.error),
        error_message: String(data.error_message ?? data.error_type ?? data.error),
        error_id: data.error_id ?? null,
        error_uri: data.error_uri,
        extra: typeof data.extra === "object" && data.extra ? data.extra : {},
      };
    }
  } catch {
    /* not JSON: fall through */
  }
  return { status_code: res.statusCode, error_type: `HTTP_${res.statusCode}`, error_message: "", error_id: null, extra: {} };
}
