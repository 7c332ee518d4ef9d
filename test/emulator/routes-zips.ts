// /v2/zips/*: zips built on the emulator clock, NEW → PROCESSING → DONE,
// served at /zipstream/<id>.zip with a signed URL, like put.io's storage hosts.
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildZip } from "./archives";
import { Content } from "./content";
import { ApiError, badRequest, putioDate } from "./http-util";
import { Ctx, Route, route, type ServerInfo } from "./router";
import { recordEvent } from "./routes-events";
import type { EmulatorState, FileNode, User } from "./state";
import { storageMac } from "./storage";

/** Emulator-clock durations: a zip is NEW for 1 s, then PROCESSING until 3 s after its creation. */
export const ZIP_NEW_MS = 1000;
export const ZIP_DONE_MS = 3000;
/** Zips up to this total size get real zip bytes; bigger ones a deterministic blob of their size. */
const REAL_ZIP_LIMIT = 64 * 1024 * 1024;
const STREAM_CHUNK = 64 * 1024;

interface ZipRecord {
  id: number;
  ownerId: number;
  fileIds: number[];
  /** Names at creation, to name files deleted before the zip is done. */
  names: Map<number, string>;
  createdAt: number;
  status: "NEW" | "PROCESSING" | "DONE";
  missing: { id: number; name: string; missing: true }[];
  /** Set when DONE. */
  content: Content | null;
}

interface ZipStore {
  zips: Map<number, ZipRecord>;
  nextId: number;
}

const stores = new WeakMap<EmulatorState, ZipStore>();

function storeOf(state: EmulatorState): ZipStore {
  let s = stores.get(state);
  if (!s) {
    stores.set(state, (s = { zips: new Map(), nextId: 24_010_881 }));
    const store = s;
    state.on("tick", () => tickZips(state, store));
  }
  return s;
}

/** Forget a zip as put.io does after a while (its id then answers 410 LINK_EXPIRED). */
export function expireZip(state: EmulatorState, id: number): void {
  storeOf(state).zips.delete(id);
}

function expired(): ApiError {
  return new ApiError(410, "LINK_EXPIRED", "Link expired");
}

function requireZip(ctx: Ctx, id: number): ZipRecord {
  const zip = storeOf(ctx.state).zips.get(id);
  // Unknown and foreign ids look the same as expired ones (live test).
  if (!zip || zip.ownerId !== ctx.user.id) throw expired();
  return zip;
}

/** Every file under the given nodes, with its path inside the zip. */
function entriesOf(state: EmulatorState, user: User, nodes: FileNode[]): { name: string; content: Content }[] {
  const out: { name: string; content: Content }[] = [];
  const walk = (node: FileNode, prefix: string) => {
    if (!node.isFolder) {
      if (node.content) out.push({ name: prefix + node.name, content: node.content });
      return;
    }
    for (const child of state.childrenOf(user, node)) walk(child, prefix + node.name + "/");
  };
  for (const n of nodes) walk(n, "");
  return out;
}

/** A stored (uncompressed) zip of the entries, with the CRCs put.io advertises for them. */
function zipOf(entries: { name: string; content: Content }[]): Buffer {
  return buildZip(entries.map((e) => ({ name: e.name, data: e.content.read(0, e.content.size), crc: parseInt(e.content.crc32(), 16) })));
}

function finish(state: EmulatorState, zip: ZipRecord): void {
  const user = state.users.get(zip.ownerId)!;
  const present: FileNode[] = [];
  for (const id of zip.fileIds) {
    const node = state.liveNode(user, id);
    if (node) present.push(node);
    else {
      // Deleted since the zip was asked for: put.io leaves it out and lists it.
      zip.missing.push({ id, name: zip.names.get(id) ?? String(id), missing: true });
    }
  }
  const entries = entriesOf(state, user, present);
  const total = entries.reduce((s, e) => s + e.content.size, 0);
  zip.content = total <= REAL_ZIP_LIMIT ? Content.from(zipOf(entries), 0) : Content.from({ size: total, seed: zip.id }, 0);
  zip.status = "DONE";
  state.push(user.id, "zip_created", { id: zip.id });
  recordEvent(state, user.id, "zip_created", { zip_id: zip.id, zip_size: zip.content.size });
}

function tickZips(state: EmulatorState, store: ZipStore): void {
  const now = state.now();
  for (const zip of store.zips.values()) {
    if (zip.status === "DONE") continue;
    const age = now - zip.createdAt;
    if (age >= ZIP_DONE_MS) finish(state, zip);
    else if (age >= ZIP_NEW_MS) zip.status = "PROCESSING";
  }
}

function create(ctx: Ctx) {
  const { state, params, knobs } = { state: ctx.state, params: ctx.params, knobs: ctx.server.knobs };
  const user = ctx.user;
  let ids = params.idList("file_ids") ?? [];
  const cursor = params.str("cursor");
  if (cursor) {
    // Cursor-as-selection: everything in that listing except exclude_ids.
    const rec = state.takeCursor(cursor, "files", user);
    const exclude = new Set(params.idList("exclude_ids") ?? []);
    ids = [...ids, ...rec.ids.filter((id) => !exclude.has(id))];
  }
  if (!ids.length) throw badRequest("Missing required parameter: file_ids");
  const nodes = ids.map((id) => state.requireLive(user, id));
  const total = nodes.reduce((s, n) => s + state.sizeOf(n), 0);
  if (knobs.zipMaxTotalSize !== null && total > knobs.zipMaxTotalSize) {
    throw new ApiError(403, "ZIP_TOTAL_SIZE_EXCEEDED", "Total size of the files exceeds the zip limit");
  }
  const store = storeOf(state);
  const zip: ZipRecord = {
    id: store.nextId++,
    ownerId: user.id,
    fileIds: ids,
    names: new Map(nodes.map((n) => [n.id, n.name])),
    createdAt: state.now(),
    status: "NEW",
    missing: [],
    content: null,
  };
  store.zips.set(zip.id, zip);
  return { zip_id: zip.id };
}

function zipUrl(server: ServerInfo, zip: ZipRecord): string {
  const payload = `zip.${zip.id}.${zip.ownerId}`;
  return `${server.origin}/zipstream/${zip.id}.zip?u=${Buffer.from(payload).toString("base64url")}.${storageMac(server, payload)}`;
}

function get(ctx: Ctx) {
  const zip = requireZip(ctx, ctx.pathInt(1));
  if (zip.status !== "DONE") return { id: zip.id, zip_status: zip.status, url: null, size: null, missing_files: [] };
  return { id: zip.id, zip_status: "DONE", url: zipUrl(ctx.server, zip), size: zip.content!.size, missing_files: zip.missing };
}

/** The zip's bytes at its signed URL (no token needed, as on put.io's storage hosts). */
export async function serveZip(req: IncomingMessage, res: ServerResponse, server: ServerInfo, url: URL): Promise<void> {
  const id = Number(/^\/zipstream\/(\d+)\.zip$/.exec(url.pathname)?.[1]);
  const [encoded, signature] = (url.searchParams.get("u") ?? "").split(".");
  const payload = Buffer.from(encoded ?? "", "base64url").toString();
  const zip = stores.get(server.state)?.zips.get(id);
  const plain = (status: number, text: string) => {
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(Buffer.byteLength(text)) });
    res.end(text);
  };
  if (!signature || signature !== storageMac(server, payload) || payload.split(".")[1] !== String(id)) return plain(403, "Forbidden");
  if (!zip || !zip.content) return plain(410, "Link expired");
  const content = zip.content;
  res.writeHead(200, {
    "Content-Type": "application/zip",
    "Content-Length": String(content.size),
    "Content-Disposition": `attachment; filename="${zip.id}.zip"`,
  });
  if (req.method === "HEAD") return void res.end();
  for (let pos = 0; pos < content.size && !res.destroyed; pos += STREAM_CHUNK) {
    if (!res.write(content.read(pos, Math.min(content.size, pos + STREAM_CHUNK)))) await new Promise((resolve) => res.once("drain", resolve));
  }
  res.end();
}

export const zipRoutes: Route[] = [
  route("POST", "/v2/zips/create", create),
  route("GET", "/v2/zips/list", (ctx) => ({
    zips: [...storeOf(ctx.state).zips.values()].filter((z) => z.ownerId === ctx.user.id).map((z) => ({ id: z.id, created_at: putioDate(z.createdAt) })),
  })),
  route("GET", "/v2/zips/{id}", get),
  // put.io cancels with a GET.
  route("GET", "/v2/zips/{id}/cancel", (ctx) => {
    storeOf(ctx.state).zips.delete(requireZip(ctx, ctx.pathInt(1)).id);
    return {};
  }),
];
