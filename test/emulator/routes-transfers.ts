// /v2/transfers/*.
import { ApiError, badRequest } from "./http-util";
import { Ctx, Route, route } from "./router";
import { TERMINAL_STATUSES, TransferRecord, User } from "./state";
import type { Content } from "./content";
import { storageMac } from "./storage";
import { trashSize } from "./routes-trash";

/** Newest first. */
function orderedTransfers(ctx: Ctx, user: User): TransferRecord[] {
  return ctx.state.userTransfers(user).sort((a, b) => b.id - a.id);
}

function list(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const perPage = params.perPage();
  const ids = orderedTransfers(ctx, user).map((t) => t.id);
  const body: Record<string, unknown> = {
    transfers: ids.slice(0, perPage).map((id) => state.transferJson(state.transferMap.get(id)!)),
    cursor: state.newCursor({ kind: "transfers", userId: user.id, ids, offset: perPage, extra: {} }),
  };
  if (params.bool("total")) body.total = ids.length;
  return body;
}

function listContinue(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const rec = state.takeCursor(params.str("cursor"), "transfers", user);
  const perPage = params.perPage();
  const transfers = rec.ids
    .slice(rec.offset, rec.offset + perPage)
    .map((id) => state.transferMap.get(id))
    .filter((t): t is TransferRecord => !!t)
    .map((t) => state.transferJson(t));
  return { transfers, cursor: state.newCursor({ ...rec, offset: rec.offset + perPage }) };
}

interface AddInput {
  url?: string;
  saveParentId?: number;
  callbackUrl?: string;
}

/** Adds one transfer; throws ApiError for the whole request or one add-multi item. */
function addOne(ctx: Ctx, user: User, input: AddInput): Record<string, unknown> {
  const { state } = ctx;
  const url = input.url?.trim();
  if (!url) throw badRequest("URL is empty", "EMPTY_URL");
  const saveParentId = input.saveParentId ?? (user.settings.default_download_folder as number);
  state.requireFolder(user, saveParentId);
  // put.io de-duplicates: adding a source that is already an active transfer returns that same transfer
  // (ptheofan/putiorr README, wouterdebie/putioarr#20).
  const duplicate = state.userTransfers(user).find((t) => t.source === url && !TERMINAL_STATUSES.has(t.status));
  if (duplicate) return state.transferJson(duplicate);
  const limit = ctx.server.knobs.maxActiveTransfers;
  if (limit !== null && state.userTransfers(user).filter((x) => !TERMINAL_STATUSES.has(x.status)).length >= limit) {
    // put.io limits active transfers; its error for this is unpublished (lib/core/quirks.ts).
    throw new ApiError(403, "TOO_MANY_ACTIVE_TRANSFERS", "Too many active transfers");
  }
  const diskSize = ctx.tokenRecord ? ctx.server.knobs.diskSize[ctx.tokenRecord.token] : undefined;
  if (diskSize !== undefined && state.sizeOf(user.root) + trashSize(ctx, user) + (ownStorageSize(ctx, url) ?? 1) > diskSize) {
    // What put.io answers for a full disk on add is unpublished (lib/core/quirks.ts): a 403, as for
    // its other quota refusals, under a type of our own.
    throw new ApiError(403, "NOT_ENOUGH_DISK_SPACE", "Not enough disk space");
  }
  const t = state.newTransfer(user, { url, saveParentId, callbackUrl: input.callbackUrl || undefined });
  t.fetchSource = ownStorageFetch(ctx, url);
  // Its outcome is what the read finds, not the made-up "fail" rule of other URLs.
  if (t.fetchSource) t.willFail = false;
  const json = state.transferJson(t);
  state.push(user.id, "transfer_create", json);
  state.push(user.id, "transfers_count", state.userTransfers(user).length);
  return json;
}

/** The size of the file one of our own storage URLs serves, or null (another URL, or gone). */
function ownStorageSize(ctx: Ctx, url: string): number | null {
  try {
    const u = new URL(url);
    const m = /^\/download\/(\d+)$/.exec(u.pathname);
    if (u.origin !== ctx.server.origin || !m) return null;
    return ctx.state.files.get(Number(m[1]))?.content?.size ?? null;
  } catch {
    return null;
  }
}

/**
 * A URL transfer of one of our own storage URLs (any account's, as /v2/files/{id}/url gives it) gets
 * that file's served bytes, read when the download starts; the signature is checked as storage checks
 * it (storage.ts). Other URLs keep the made-up content.
 */
function ownStorageFetch(ctx: Ctx, url: string): (() => Content | string) | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const m = /^\/download\/(\d+)$/.exec(u.pathname);
  if (u.origin !== ctx.server.origin || !m) return undefined;
  const server = ctx.server;
  return () => {
    const fileId = Number(m[1]);
    const [encoded, signature] = (u.searchParams.get("u") ?? "").split(".");
    const payload = Buffer.from(encoded ?? "", "base64url").toString();
    const [sigFile, sigUser, sigExpires] = payload.split(".").map(Number);
    if (!signature || signature !== storageMac(server, payload) || sigFile !== fileId) return "HTTP 403 Forbidden";
    if (sigExpires !== 0 && server.state.now() > sigExpires) return "HTTP 410 Link expired";
    const owner = server.state.users.get(sigUser!);
    const node = owner && server.state.liveNode(owner, fileId);
    if (!node || !node.content) return "HTTP 404 Not Found";
    return node.content.servedCopy();
  };
}

function add(ctx: Ctx) {
  const { params } = ctx;
  return {
    transfer: addOne(ctx, ctx.user, {
      url: params.str("url"),
      saveParentId: params.int("save_parent_id"),
      callbackUrl: params.str("callback_url"),
    }),
  };
}

function addMulti(ctx: Ctx) {
  const user = ctx.user;
  let items: unknown;
  try {
    items = JSON.parse(ctx.params.requiredStr("urls"));
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest("urls must be a JSON array");
  }
  if (!Array.isArray(items)) throw badRequest("urls must be a JSON array");
  const transfers: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  for (const raw of items) {
    const item = (typeof raw === "string" ? { url: raw } : raw) as Record<string, unknown>;
    try {
      const saveParentId = item.save_parent_id === undefined || item.save_parent_id === null ? undefined : Number(item.save_parent_id);
      if (saveParentId !== undefined && !Number.isSafeInteger(saveParentId)) throw badRequest("Invalid save_parent_id");
      transfers.push(addOne(ctx, user, { url: item.url as string | undefined, saveParentId, callbackUrl: item.callback_url as string | undefined }));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // Partial success with per-url errors, HTTP 200.
      errors.push({ url: item.url ?? null, error_type: e.errorType, status_code: e.statusCode });
    }
  }
  return { transfers, errors };
}

function retry(ctx: Ctx) {
  const { state } = ctx;
  const t = state.requireTransfer(ctx.user, ctx.params.requiredInt("id"));
  // Retrying a healthy transfer returns it unchanged (seen live).
  if (t.status === "ERROR") {
    t.errorMessage = null;
    t.finishedAt = null;
    t.percentDone = 0;
    t.downloaded = 0;
    t.phaseStartedAt = state.now();
    state.changeStatus(t, "IN_QUEUE");
  }
  return { transfer: state.transferJson(t) };
}

function cancel(ctx: Ctx) {
  const { state } = ctx;
  const user = ctx.user;
  const ids = ctx.params.idList("transfer_ids");
  if (ids === undefined) throw badRequest("Missing required parameter: transfer_ids");
  for (const id of ids) {
    const t = state.transferMap.get(id);
    // Unknown ids are ignored: cancel is idempotent (live test).
    if (!t || t.ownerId !== user.id) continue;
    if (t.status === "SEEDING") state.stopSeeding(t);
    else state.removeTransfer(t);
  }
  return {};
}

const isFinished = (t: TransferRecord) => t.status === "COMPLETED" || t.status === "ERROR";

function clean(ctx: Ctx) {
  const { state } = ctx;
  const user = ctx.user;
  const ids = ctx.params.idList("transfer_ids");
  const wanted = ids && ids.length ? new Set(ids) : null;
  const deleted: number[] = [];
  for (const t of state.userTransfers(user)) {
    if (isFinished(t) && (!wanted || wanted.has(t.id))) {
      state.removeTransfer(t);
      deleted.push(t.id);
    }
  }
  return { deleted_ids: deleted };
}

function remove(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const ids = params.idList("transfer_ids");
  const filter = params.str("remove_filter");
  let victims: TransferRecord[];
  if (ids && ids.length) victims = ids.map((id) => state.transferMap.get(id)).filter((t): t is TransferRecord => !!t && t.ownerId === user.id);
  else if (filter === "all") victims = state.userTransfers(user);
  else if (filter === "completed") victims = state.userTransfers(user).filter(isFinished);
  else throw badRequest("Missing required parameter: transfer_ids");
  victims.forEach((t) => state.removeTransfer(t));
  return {};
}

export const transferRoutes: Route[] = [
  route("GET", "/v2/transfers/list", list),
  route("POST", "/v2/transfers/list/continue", listContinue),
  route("GET", "/v2/transfers/count", (ctx) => ({ count: ctx.state.userTransfers(ctx.user).length })),
  route("POST", "/v2/transfers/add", add),
  route("POST", "/v2/transfers/add-multi", addMulti),
  route("POST", "/v2/transfers/retry", retry),
  route("POST", "/v2/transfers/cancel", cancel),
  route("POST", "/v2/transfers/clean", clean),
  route("POST", "/v2/transfers/remove", remove),
  // Reannounce currently always fails on put.io (seen live).
  route("POST", "/v2/transfers/reannounce", () => {
    throw badRequest("Bad Request");
  }),
  route("GET", "/v2/transfers/{id}", (ctx) => ({ transfer: ctx.state.transferJson(ctx.state.requireTransfer(ctx.user, ctx.pathInt(1))) })),
];
