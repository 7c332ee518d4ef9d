// Wire-level helpers shared by every route module: error envelopes, body parsing, parameter coercion.
import type { IncomingMessage, ServerResponse } from "node:http";

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorType: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, type = "BadRequest") => new ApiError(400, type, message);
export const notFound = (message = "Not found", type = "NotFound") => new ApiError(404, type, message);
export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized: invalid or missing oauth token");

// Canonical put.io error envelope.
export function errorEnvelope(err: ApiError): Record<string, unknown> {
  return {
    error_id: null,
    error_message: err.message,
    error_type: err.errorType,
    error_uri: "http://api.put.io/v2/docs",
    extra: err.extra,
    status: "ERROR",
    status_code: err.statusCode,
  };
}

// go-putio only parses error bodies when Content-Type is exactly application/json.
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, err.statusCode, errorEnvelope(err), { ...headers, ...err.headers });
}

export interface UploadedPart {
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  fields: Record<string, unknown>;
  files: Record<string, UploadedPart>;
}

export async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// put.io accepts urlencoded, JSON and multipart bodies on every route.
export function parseBody(raw: Buffer, contentType: string | undefined): ParsedBody {
  const ct = (contentType ?? "").toLowerCase();
  if (raw.length === 0) return { fields: {}, files: {} };
  if (ct.startsWith("application/json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      throw badRequest("Malformed JSON body");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw badRequest("JSON body must be an object");
    return { fields: parsed as Record<string, unknown>, files: {} };
  }
  if (ct.startsWith("multipart/form-data")) {
    const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? "");
    if (!m) throw badRequest("multipart body without boundary");
    return parseMultipart(raw, m[1] ?? m[2]);
  }
  // Default, like Flask's request.form: urlencoded.
  const fields: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw.toString("utf8"))) fields[k] = v;
  return { fields, files: {} };
}

function parseMultipart(raw: Buffer, boundary: string): ParsedBody {
  const fields: Record<string, unknown> = {};
  const files: Record<string, UploadedPart> = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = raw.indexOf(delimiter);
  if (pos < 0) throw badRequest("Malformed multipart body");
  while (true) {
    pos += delimiter.length;
    if (raw.subarray(pos, pos + 2).toString() === "--") break;
    pos += 2; // CRLF after the delimiter
    const headerEnd = raw.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw badRequest("Malformed multipart body");
    const headerText = raw.subarray(pos, headerEnd).toString("utf8");
    const next = raw.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    if (next < 0) throw badRequest("Malformed multipart body");
    const data = raw.subarray(headerEnd + 4, next);
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headerText)?.[1] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const partType = /content-type:\s*([^\r\n]*)/i.exec(headerText)?.[1]?.trim() ?? "application/octet-stream";
    if (name !== undefined) {
      if (filename !== undefined) files[name] = { filename, contentType: partType, data: Buffer.from(data) };
      else fields[name] = data.toString("utf8");
    }
    pos = next + 2;
  }
  return { fields, files };
}

/** Request parameters: body fields win over query parameters (clients put per_page in either). */
export class Params {
  constructor(
    readonly query: URLSearchParams,
    readonly body: Record<string, unknown>,
  ) {}

  raw(name: string): unknown {
    if (name in this.body && this.body[name] !== undefined && this.body[name] !== null) return this.body[name];
    return this.query.get(name) ?? undefined;
  }

  str(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    return JSON.stringify(v);
  }

  requiredStr(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw badRequest(`Missing required parameter: ${name}`);
    return v;
  }

  int(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === "") return undefined;
    const n = typeof v === "number" ? v : /^-?\d+$/.test(String(v).trim()) ? Number(String(v).trim()) : NaN;
    if (!Number.isSafeInteger(n)) throw badRequest(`Invalid integer for ${name}`);
    return n;
  }

  requiredInt(name: string): number {
    const v = this.int(name);
    if (v === undefined) throw badRequest(`Missing required parameter: ${name}`);
    return v;
  }

  // Booleans arrive as 1/0, true/false and Python's True/False.
  bool(name: string, fallback = false): boolean {
    const v = this.raw(name);
    if (v === undefined || v === "") return fallback;
    if (typeof v === "boolean") return v;
    const s = String(v).trim().toLowerCase();
    if (s === "1" || s === "true" || s === "on") return true;
    if (s === "0" || s === "false" || s === "off") return false;
    throw badRequest(`Invalid boolean for ${name}`);
  }

  // Id lists are CSV strings; putio-js File.Extract sends a JSON array instead.
  idList(name: string): number[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const items = Array.isArray(v) ? v.map(String) : String(v).split(",");
    const ids: number[] = [];
    for (const item of items) {
      const t = item.trim();
      if (t === "") continue;
      if (!/^-?\d+$/.test(t)) throw badRequest(`Invalid id list for ${name}`);
      ids.push(Number(t));
    }
    return ids;
  }

  /** Maximum page size is 1000 (transfers reject 1001); <= 0 is rejected like events' per_page=0. */
  perPage(): number {
    const n = this.int("per_page");
    if (n === undefined) return DEFAULT_PER_PAGE;
    if (n <= 0 || n > 1000) throw badRequest("per_page must be between 1 and 1000", "INVALID_PER_PAGE");
    return n;
  }
}

// The real default is unconfirmed. Defaulting to the maximum keeps single-page
// clients working on small folders while still forcing cursor handling for >1000 items.
export const DEFAULT_PER_PAGE = 1000;

/** put.io timestamps: YYYY-MM-DDTHH:MM:SS, UTC, no zone suffix. */
export function putioDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

export function putioDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
