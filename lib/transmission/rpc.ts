/**
 * Transmission's RPC methods (JSON over HTTP, docs/rpc-spec.md of the Transmission project, as
 * version 4.0 speaks it): a request `{method, arguments, tag}` in, `{result, arguments, tag}` out.
 * `result` is "success" or an error text; an unknown method, bad arguments or a failing backend is
 * an error result, never a thrown exception. The torrents themselves live in the backend.
 */
import { normalHash } from "./sources";

/** What the protocol needs from the torrents' owner. */
export interface RpcBackend {
  /** Session values (session-get); `fields` limits them when given. */
  session(): Record<string, unknown>;
  /** session-set: keep what is given; throws a RpcError for a value it refuses. */
  setSession(args: Record<string, unknown>): Promise<void>;
  stats(): Record<string, unknown>;
  freeSpace(path: string): Promise<{ path: string; "size-bytes": number; total_size: number }>;
  add(args: AddArgs): Promise<{ duplicate: boolean; torrent: { id: number; name: string; hashString: string } }>;
  /** Torrents matching `ids` (all when null), as field getters. */
  select(ids: IdSelector): Array<Record<string, () => unknown>>;
  /** Ids removed within the "recently active" window. */
  recentlyRemoved(): number[];
  remove(ids: IdSelector, deleteLocalData: boolean): Promise<void>;
  start(ids: IdSelector): Promise<void>;
  stop(ids: IdSelector): Promise<void>;
  verify(ids: IdSelector): Promise<void>;
  set(ids: IdSelector, args: Record<string, unknown>): Promise<void>;
  /** Called for each request (the node's "last call" status). */
  touched?(method: string): void;
}

export interface AddArgs {
  filename: string | null;
  /** Decoded bytes of `metainfo`. */
  metainfo: Buffer | null;
  downloadDir: string | null;
  paused: boolean;
  labels: string[];
}

/** null = every torrent; "recent" = recently active; else numeric ids and lower-case hashes. */
export type IdSelector = null | "recent" | { ids: Set<number>; hashes: Set<string> };

/** An error whose text is the RPC `result`. */
export class RpcError extends Error {
  override name = "TransmissionRpcError";
}

export interface RpcResponse {
  result: string;
  arguments: Record<string, unknown>;
  tag?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** `ids` as the spec allows: absent, one number, one hash, "recently-active", or a list of numbers and hashes. */
export function parseIds(raw: unknown): IdSelector {
  if (raw === undefined || raw === null) return null;
  if (raw === "recently-active") return "recent";
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length > 100_000) throw new RpcError("too many ids");
  const ids = new Set<number>();
  const hashes = new Set<string>();
  for (const v of list) {
    if (typeof v === "number" && Number.isSafeInteger(v) && v > 0) ids.add(v);
    else if (typeof v === "string" && normalHash(v)) hashes.add(normalHash(v)!);
    else if (typeof v === "string" && /^[1-9]\d{0,14}$/.test(v)) ids.add(Number(v));
    // Anything else names no torrent (as Transmission ignores what it cannot read).
  }
  return { ids, hashes };
}

const bool = (v: unknown): boolean => v === true || v === 1 || v === "true";

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > 100 || !v.every((s) => typeof s === "string" && s.length <= 256))
    throw new RpcError(`${what} must be a list of short strings`);
  return v as string[];
}

/** Largest .torrent accepted (decoded); the HTTP layer caps the body as well. */
export const MAX_METAINFO_BYTES = 20 * 1024 * 1024;

function addArgs(a: Record<string, unknown>): AddArgs {
  const filename = typeof a.filename === "string" && a.filename.trim() ? a.filename.trim() : null;
  let metainfo: Buffer | null = null;
  if (typeof a.metainfo === "string" && a.metainfo.length) {
    if (a.metainfo.length > (MAX_METAINFO_BYTES * 4) / 3 + 4) throw new RpcError("metainfo is too large");
    if (!/^[A-Za-z0-9+/=\s_-]*$/.test(a.metainfo)) throw new RpcError("invalid or corrupt torrent file (metainfo is not base64)");
    metainfo = Buffer.from(a.metainfo, "base64");
  }
  if (!filename && !metainfo) throw new RpcError("no filename or metainfo specified");
  const dir = a["download-dir"];
  if (dir !== undefined && dir !== null && typeof dir !== "string") throw new RpcError("download-dir must be a string");
  return {
    filename: metainfo ? null : filename,
    metainfo,
    downloadDir: typeof dir === "string" && dir.trim() ? dir : null,
    paused: bool(a.paused),
    labels: stringList(a.labels, "labels"),
  };
}

/** Build torrent-get's answer: objects (default) or the "table" format. */
function torrentsAnswer(rows: Array<Record<string, () => unknown>>, fields: string[], table: boolean): unknown[] {
  if (table) {
    const known = fields.filter((f) => rows.length === 0 || f in rows[0]!);
    return [known, ...rows.map((g) => known.map((f) => g[f]!()))];
  }
  return rows.map((g) => {
    const out: Record<string, unknown> = {};
    for (const f of fields) if (Object.prototype.hasOwnProperty.call(g, f)) out[f] = g[f]!();
    return out;
  });
}

/** Methods accepted with nothing to do on put.io (queues, trackers, bandwidth groups, blocklist). */
const NO_EFFECT = new Set(["queue-move-top", "queue-move-up", "queue-move-down", "queue-move-bottom", "torrent-reannounce", "session-close", "group-set"]);

/** Run one parsed request body; always resolves. */
export async function handleRpc(body: unknown, backend: RpcBackend): Promise<RpcResponse> {
  const tag = isObject(body) && typeof body.tag === "number" && Number.isFinite(body.tag) ? body.tag : undefined;
  const answer = (result: string, args: Record<string, unknown> = {}): RpcResponse =>
    tag === undefined ? { result, arguments: args } : { result, arguments: args, tag };
  if (!isObject(body)) return answer("no method name");
  const method = body.method;
  if (typeof method !== "string" || !method) return answer("no method name");
  const a = body.arguments === undefined || body.arguments === null ? {} : body.arguments;
  if (!isObject(a)) return answer("arguments must be an object");
  try {
    backend.touched?.(method);
    switch (method) {
      case "session-get": {
        const all = backend.session();
        if (Array.isArray(a.fields) && a.fields.length) {
          const picked: Record<string, unknown> = {};
          for (const f of a.fields) if (typeof f === "string" && f in all) picked[f] = all[f];
          return answer("success", picked);
        }
        return answer("success", all);
      }
      case "session-set":
        await backend.setSession(a);
        return answer("success");
      case "session-stats":
        return answer("success", backend.stats());
      case "free-space": {
        if (typeof a.path !== "string" || !a.path) throw new RpcError("directory path argument is missing");
        return answer("success", await backend.freeSpace(a.path));
      }
      case "port-test":
        return answer("success", { "port-is-open": false });
      case "blocklist-update":
        return answer("success", { "blocklist-size": 0 });
      case "group-get":
        return answer("success", { group: [] });
      case "torrent-add": {
        const { duplicate, torrent } = await backend.add(addArgs(a));
        return answer("success", duplicate ? { "torrent-duplicate": torrent } : { "torrent-added": torrent });
      }
      case "torrent-get": {
        if (!Array.isArray(a.fields) || !a.fields.every((f) => typeof f === "string")) throw new RpcError("no fields specified");
        const selector = parseIds(a.ids);
        const rows = backend.select(selector);
        const out: Record<string, unknown> = { torrents: torrentsAnswer(rows, a.fields as string[], a.format === "table") };
        if (selector === "recent") out.removed = backend.recentlyRemoved();
        return answer("success", out);
      }
      case "torrent-remove":
        await backend.remove(parseIds(a.ids), bool(a["delete-local-data"]));
        return answer("success");
      case "torrent-start":
      case "torrent-start-now":
        await backend.start(parseIds(a.ids));
        return answer("success");
      case "torrent-stop":
        await backend.stop(parseIds(a.ids));
        return answer("success");
      case "torrent-verify":
        await backend.verify(parseIds(a.ids));
        return answer("success");
      case "torrent-set":
        await backend.set(parseIds(a.ids), a);
        return answer("success");
      case "torrent-set-location":
      case "torrent-rename-path":
        throw new RpcError(`${method} is not supported: the files are placed by put.io and the download node`);
      default:
        if (NO_EFFECT.has(method)) return answer("success");
        return answer("method name not recognized");
    }
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return answer(text || "error");
  }
}
