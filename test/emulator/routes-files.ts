// /v2/files/*: listing, search, lookup, folders, rename, move, delete, storage links (extraction: routes-extract.ts).
import { ApiError, badRequest, notFound } from "./http-util";
import type { ListingGlitch } from "./knobs";
import { Ctx, HANDLED, Route, route } from "./router";
import { storageUrl } from "./storage";
import { FileNode, ROOT_ID, User } from "./state";

const SORTS = new Set([
  "NAME_ASC",
  "NAME_DESC",
  "SIZE_ASC",
  "SIZE_DESC",
  "DATE_ASC",
  "DATE_DESC",
  "MODIFIED_ASC",
  "MODIFIED_DESC",
  "TYPE_ASC",
  "TYPE_DESC",
  "WATCH_ASC",
  "WATCH_DESC",
]);

function sortNodes(ctx: Ctx, nodes: FileNode[], sortBy: string): FileNode[] {
  const [key, dir] = sortBy.split("_");
  const sign = dir === "DESC" ? -1 : 1;
  const byName = (a: FileNode, b: FileNode) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.id - b.id;
  const cmp = (a: FileNode, b: FileNode): number => {
    switch (key) {
      case "SIZE":
        return ctx.state.sizeOf(a) - ctx.state.sizeOf(b) || a.id - b.id;
      case "DATE":
        return a.createdAt - b.createdAt || a.id - b.id;
      case "MODIFIED":
        return a.updatedAt - b.updatedAt || a.id - b.id;
      case "TYPE":
        return a.fileType.localeCompare(b.fileType) || byName(a, b);
      default:
        return byName(a, b);
    }
  };
  return [...nodes].sort((a, b) => sign * cmp(a, b));
}

function breadcrumbs(ctx: Ctx, user: User, node: FileNode): [number, string][] {
  const crumbs: [number, string][] = [];
  let cur: FileNode | undefined = node;
  while (cur && cur.id !== ROOT_ID) {
    crumbs.unshift([cur.id, cur.name]);
    cur = cur.parentId === null ? undefined : ctx.state.liveNode(user, cur.parentId);
  }
  return crumbs;
}

/** Continues any id-snapshot cursor, skipping items that disappeared meanwhile. */
function pageFromCursor(ctx: Ctx, kind: "files" | "search", cursor: string | undefined) {
  const user = ctx.user;
  const rec = ctx.state.takeCursor(cursor, kind, user);
  const perPage = ctx.params.perPage();
  const pageIds = rec.ids.slice(rec.offset, rec.offset + perPage);
  const files = pageIds
    .map((id) => ctx.state.liveNode(user, id))
    .filter((n): n is FileNode => !!n)
    .map((n) => ctx.state.fileJson(user, n));
  const next = ctx.state.newCursor({ ...rec, offset: rec.offset + perPage });
  return { files, cursor: next };
}

/** The children a glitched listing of `folder` keeps (undefined: this listing is right); the glitch is used up. */
function takeListingGlitch(glitches: ListingGlitch[], folder: number, children: number): number | undefined {
  const keepOf = (g: ListingGlitch) => (g.keep === "half" ? Math.ceil(children / 2) : g.keep);
  const i = glitches.findIndex((g) => (g.folder === undefined ? keepOf(g) < children : g.folder === folder));
  if (i < 0) return undefined;
  const [g] = glitches.splice(i, 1);
  return keepOf(g!);
}

function listFiles(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const parentId = params.int("parent_id") ?? ROOT_ID;
  const perPage = params.perPage();
  const sortBy = params.str("sort_by") ?? String(user.settings.sort_by);
  if (!SORTS.has(sortBy)) throw badRequest("Invalid sort_by");
  const parent = state.requireLive(user, parentId);
  // A file id is allowed as parent_id: files is then empty.
  let children = parent.isFolder ? state.childrenOf(user, parent) : [];
  const fileTypes = params
    .str("file_type")
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (fileTypes?.length) children = children.filter((c) => fileTypes.includes(c.fileType));
  const contentType = params.str("content_type");
  if (contentType) children = children.filter((c) => c.contentType === contentType);
  const ids = sortNodes(ctx, children, sortBy).map((c) => c.id);
  const glitch = takeListingGlitch(ctx.server.knobs.listingGlitches, parentId, ids.length);
  const body: Record<string, unknown> = {
    files: ids
      .slice(0, glitch ?? perPage)
      .slice(0, perPage)
      .map((id) => state.fileJson(user, state.files.get(id)!)),
    parent: state.fileJson(user, parent),
    cursor: glitch !== undefined ? null : state.newCursor({ kind: "files", userId: user.id, ids, offset: perPage, extra: {} }),
  };
  if (params.bool("total")) body.total = ids.length;
  if (params.bool("breadcrumbs")) body.breadcrumbs = breadcrumbs(ctx, user, parent);
  return body;
}

function search(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const query = params.str("query")?.trim();
  if (!query) throw badRequest("Missing required parameter: query");
  // A 300-character query fails in put.io's live tests; shorter limits are unknown.
  if (query.length >= 300) throw badRequest("Search query is too long", "SEARCH_TOO_LONG_QUERY");
  const perPage = params.perPage();
  const needle = query.toLowerCase();
  // The backend ignores any type filter, so "type" is deliberately not read.
  const matches = [...state.files.values()].filter((n) => n.ownerId === user.id && n.name.toLowerCase().includes(needle) && state.liveNode(user, n.id));
  const ids = sortNodes(ctx, matches, "NAME_ASC").map((n) => n.id);
  return {
    files: ids.slice(0, perPage).map((id) => state.fileJson(user, state.files.get(id)!)),
    total: ids.length,
    cursor: state.newCursor({ kind: "search", userId: user.id, ids, offset: perPage, extra: {} }),
  };
}

function createFolder(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const path = params.str("path");
  if (params.raw("name") === undefined && path !== undefined) {
    // path form: walk from the root, creating missing intermediate folders; the last segment must be new.
    const segments = path.split("/").filter((s) => s !== "");
    if (!segments.length) throw badRequest("Name cannot be empty", "EMPTY_NAME");
    let parent = user.root;
    for (const [i, segment] of segments.entries()) {
      const name = state.validateName(segment);
      const existing = state.childrenOf(user, parent).find((c) => c.name === name);
      if (i === segments.length - 1) {
        if (existing) throw badRequest("Name already exist", "NAME_ALREADY_EXIST");
        return { file: state.fileJson(user, state.createNode(user, parent, name, null)) };
      }
      if (existing && !existing.isFolder) throw badRequest("Parent is not a folder");
      parent = existing ?? state.createNode(user, parent, name, null);
    }
  }
  const name = state.validateName(params.str("name"));
  const parent = state.requireFolder(user, params.int("parent_id") ?? ROOT_ID);
  state.assertNameFree(user, parent, name);
  return { file: state.fileJson(user, state.createNode(user, parent, name, null)) };
}

function rename(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const node = state.requireLive(user, params.requiredInt("file_id"));
  if (node.id === ROOT_ID) throw badRequest("Cannot rename the root folder");
  const name = state.validateName(params.str("name"));
  state.assertNameFree(user, state.requireLive(user, node.parentId!), name, node.id);
  node.name = name;
  node.updatedAt = state.now();
  state.push(user.id, "file_update", state.fileJson(user, node));
  return {};
}

function isSelfOrAncestor(ctx: Ctx, user: User, maybeAncestor: FileNode, node: FileNode): boolean {
  let cur: FileNode | undefined = node;
  while (cur) {
    if (cur.id === maybeAncestor.id) return true;
    cur = cur.parentId === null ? undefined : ctx.state.liveNode(user, cur.parentId);
  }
  return false;
}

/** Ids from file_ids (CSV), or from a listing cursor minus exclude_ids (cursor-as-selection). */
export function selectedIds(ctx: Ctx, field: string, kind: "files" | "trash"): number[] | undefined {
  const ids = ctx.params.idList(field);
  if (ids && ids.length) return ids;
  const cursor = ctx.params.str("cursor");
  if (!cursor) return ids;
  const rec = ctx.state.takeCursor(cursor, kind, ctx.user);
  const exclude = new Set(ctx.params.idList("exclude_ids") ?? []);
  return rec.ids.filter((id) => !exclude.has(id));
}

function moveOne(ctx: Ctx, user: User, node: FileNode | undefined, id: number, dest: FileNode, newName?: string): ApiError | null {
  const { state } = ctx;
  if (!node) return new ApiError(404, "NotFound", "File not found");
  if (node.id === ROOT_ID || isSelfOrAncestor(ctx, user, node, dest)) return badRequest("Cannot move a folder into itself");
  const name = newName === undefined ? node.name : state.validateName(newName);
  try {
    state.assertNameFree(user, dest, name, node.id);
  } catch (e) {
    return e as ApiError;
  }
  state.detach(user, node);
  node.parentId = dest.id;
  node.name = name;
  (dest.id === ROOT_ID ? user.root : dest).children.push(id);
  // Server-side moves do not preserve modification times.
  node.updatedAt = state.now();
  state.push(user.id, "file_move", state.fileJson(user, node));
  return null;
}

function move(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const dest = state.requireFolder(user, params.requiredInt("parent_id"));
  const ids = selectedIds(ctx, "file_ids", "files");
  if (!ids) {
    // putio-sync/rclone form: file_id + parent_id + name moves and renames one file; failures are plain errors.
    const id = params.requiredInt("file_id");
    const err = moveOne(ctx, user, state.liveNode(user, id), id, dest, params.str("name"));
    if (err) throw err;
    return { errors: [] };
  }
  if (!ids.length) throw badRequest("Missing required parameter: file_ids");
  const errors: Record<string, unknown>[] = [];
  for (const id of ids) {
    const node = state.liveNode(user, id);
    const err = moveOne(ctx, user, node, id, dest);
    // Per-item errors with HTTP 200.
    if (err) errors.push({ error_type: err.errorType, id, name: node?.name ?? null, status_code: err.statusCode });
  }
  return { errors };
}

export function takeTrashLock(ctx: Ctx): void {
  // put.io serialises trash operations per account; concurrent ones fail transiently.
  if (ctx.server.knobs.trashLockNext > 0) {
    ctx.server.knobs.trashLockNext--;
    throw badRequest("There is an ongoing blocking trash operation", "TRASH_LOCK_TIMEOUT");
  }
}

function deleteFiles(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  takeTrashLock(ctx);
  let ids = selectedIds(ctx, "file_ids", "files");
  if (!ids || !ids.length) {
    const single = params.int("file_id");
    if (single === undefined) throw badRequest("Missing required parameter: file_ids");
    ids = [single];
  }
  if (ids.includes(ROOT_ID)) throw badRequest("Cannot delete the root folder");
  const nodes = ids.map((id) => state.liveNode(user, id));
  const skipped = nodes.filter((n) => !n).length;
  if (skipped && !params.bool("skip_nonexistents")) throw notFound("File not found");
  const toTrash = Boolean(user.settings.trash_enabled) && !params.bool("skip_trash");
  for (const node of nodes) {
    // A node may have left the live tree with an ancestor deleted earlier in this same request.
    if (!node || !state.liveNode(user, node.id)) continue;
    const json = state.fileJson(user, node);
    // Listeners see the file still in place (its bytes readable), at the very moment of deletion.
    state.emit("file-deleting", node.id, json);
    state.deletionLog.push({ id: node.id, name: node.name, at: state.now() });
    if (toTrash) state.moveToTrash(user, node);
    else state.destroy(user, node);
    state.push(user.id, "file_delete", json);
  }
  return { skipped, cursor: null };
}

function fileForLink(ctx: Ctx): FileNode {
  const node = ctx.state.requireLive(ctx.user, ctx.pathInt(1));
  if (node.isFolder) throw badRequest("Not a file", "NotFile");
  return node;
}

function redirectToStorage(ctx: Ctx): typeof HANDLED {
  const node = fileForLink(ctx);
  const location = storageUrl(ctx.server, ctx.user, node);
  // Werkzeug-style redirect body as recorded (GET_files_id_download__vcr2012).
  const body =
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n' +
    `<p>You should be redirected automatically to target URL: <a href="${location}">${location}</a>.  If not click the link.`;
  ctx.res.writeHead(302, {
    Location: location,
    "Content-Type": "text/html; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
  });
  ctx.res.end(ctx.req.method === "HEAD" ? undefined : body);
  return HANDLED;
}

export const fileRoutes: Route[] = [
  route("GET", "/v2/files/list", listFiles),
  route("POST", "/v2/files/list/continue", (ctx) => ({ ...pageFromCursor(ctx, "files", ctx.params.str("cursor")) })),
  route("GET", "/v2/files/search", search),
  route("POST", "/v2/files/search/continue", (ctx) => {
    const { files, cursor } = pageFromCursor(ctx, "search", ctx.params.str("cursor"));
    return { files, cursor };
  }),
  route("POST", "/v2/files/create-folder", createFolder),
  route("POST", "/v2/files/rename", rename),
  route("POST", "/v2/files/move", move),
  route("POST", "/v2/files/delete", deleteFiles),
  route("GET", "/v2/files/{id}", (ctx) => ({ file: ctx.state.fileJson(ctx.user, ctx.state.requireLive(ctx.user, ctx.pathInt(1))) })),
  route("GET", "/v2/files/{id}/child", (ctx) => {
    const user = ctx.user;
    const parent = ctx.state.requireFolder(user, ctx.pathInt(1));
    const name = ctx.params.requiredStr("name");
    const child = ctx.state.childrenOf(user, parent).find((c) => c.name === name);
    if (!child) throw notFound("File not found");
    return { file: ctx.state.fileJson(user, child) };
  }),
  route("GET", "/v2/files/{id}/url", (ctx) => ({ url: storageUrl(ctx.server, ctx.user, fileForLink(ctx)) })),
  route("GET", "/v2/files/{id}/download", redirectToStorage),
  route("HEAD", "/v2/files/{id}/download", redirectToStorage),
  route("GET", "/v2/files/{id}/download/{key}", redirectToStorage),
  route("GET", "/v2/files/{id}/stream", redirectToStorage),
];
