// /v2/trash/*: only top-level deleted items are listed and addressable.
import { ApiError, badRequest } from "./http-util";
import { Ctx, Route, route } from "./router";
import { selectedIds, takeTrashLock } from "./routes-files";
import { FileNode, ROOT_ID, User } from "./state";

function trashSize(ctx: Ctx, user: User): number {
  return user.trash.reduce((sum, id) => sum + ctx.state.sizeOf(ctx.state.files.get(id)!), 0);
}

function list(ctx: Ctx) {
  const { state } = ctx;
  const user = ctx.user;
  const perPage = ctx.params.perPage();
  const ids = [...user.trash].reverse(); // most recently deleted first
  return {
    files: ids.slice(0, perPage).map((id) => state.trashJson(user, state.files.get(id)!)),
    cursor: state.newCursor({ kind: "trash", userId: user.id, ids, offset: perPage, extra: {} }),
    total: ids.length,
    trash_size: trashSize(ctx, user),
  };
}

function listContinue(ctx: Ctx) {
  const { state } = ctx;
  const user = ctx.user;
  const rec = state.takeCursor(ctx.params.str("cursor"), "trash", user);
  const perPage = ctx.params.perPage();
  const files = rec.ids
    .slice(rec.offset, rec.offset + perPage)
    .filter((id) => user.trash.includes(id))
    .map((id) => state.trashJson(user, state.files.get(id)!));
  return { files, cursor: state.newCursor({ ...rec, offset: rec.offset + perPage }) };
}

/** Top-level trashed nodes for the selection; a child of a trashed folder or an unknown id is 404. */
function trashSelection(ctx: Ctx, user: User): FileNode[] {
  const ids = selectedIds(ctx, "file_ids", "trash");
  if (!ids || !ids.length) throw badRequest("Missing required parameter: file_ids");
  return ids.map((id) => {
    if (!user.trash.includes(id)) throw new ApiError(404, "TRASH_FILE_NOT_FOUND", "File not found in trash");
    return ctx.state.files.get(id)!;
  });
}

function restore(ctx: Ctx) {
  const { state } = ctx;
  const user = ctx.user;
  takeTrashLock(ctx);
  for (const node of trashSelection(ctx, user)) {
    user.trash = user.trash.filter((id) => id !== node.id);
    node.trashedAt = null;
    // Restored items keep their ids; if the old parent is gone, fall back to the root (unconfirmed).
    if (!state.liveNode(user, node.parentId ?? ROOT_ID)) {
      state.detach(user, node);
      node.parentId = ROOT_ID;
      user.root.children.push(node.id);
    }
    state.push(user.id, "file_create", state.fileJson(user, node));
  }
  return {};
}

function deleteForever(ctx: Ctx) {
  const user = ctx.user;
  takeTrashLock(ctx);
  for (const node of trashSelection(ctx, user)) ctx.state.destroy(user, node);
  return {};
}

function empty(ctx: Ctx) {
  const user = ctx.user;
  takeTrashLock(ctx);
  for (const id of [...user.trash]) ctx.state.destroy(user, ctx.state.files.get(id)!);
  return {};
}

export { trashSize };

export const trashRoutes: Route[] = [
  route("GET", "/v2/trash/list", list),
  route("POST", "/v2/trash/list/continue", listContinue),
  route("POST", "/v2/trash/restore", restore),
  route("POST", "/v2/trash/delete", deleteForever),
  route("POST", "/v2/trash/empty", empty),
];
