// /v2/account/*.
import * as crypto from "node:crypto";
import { badRequest, putioDate } from "./http-util";
import { Ctx, Route, route } from "./router";
import { DISK_SIZE, defaultSettings } from "./state";
import { trashSize } from "./routes-trash";

function info(ctx: Ctx) {
  const { state } = ctx;
  const user = ctx.user;
  const used = state.sizeOf(user.root) + trashSize(ctx, user);
  const size = (ctx.tokenRecord && ctx.server.knobs.diskSize[ctx.tokenRecord.token]) ?? DISK_SIZE;
  // Field set of TS AccountInfoBaseSchema; types follow the newest real recording (putiosharp2020).
  return {
    info: {
      account_active: true,
      account_status: "active",
      avatar_url: "https://www.gravatar.com/avatar/00000000000000000000000000000000.jpg?s=50",
      can_create_sub_account: false,
      disk: { avail: Math.max(0, size - used), size, used },
      family_owner: null,
      files_will_be_deleted_at: null,
      is_eligible_for_friend_invitation: false,
      is_sub_account: false,
      mail: user.mail,
      monthly_bandwidth_usage: 0,
      password_last_changed_at: null,
      private_download_host_ip: null,
      settings: { ...user.settings },
      trash_size: trashSize(ctx, user),
      user_id: user.id,
      username: user.username,
      warnings: { ...user.warnings },
      oauth_token_id: ctx.tokenRecord?.tokenId ?? null,
      plan_expiration_date: putioDate(state.now() + 365 * 24 * 3600 * 1000),
      is_admin: false,
      ...infoFlagFields(ctx),
    },
  };
}

/** Query flags (value 1) each add one field to info. */
function infoFlagFields(ctx: Ctx): Record<string, unknown> {
  const p = ctx.params;
  const userHash = crypto.createHash("sha256").update(`hash:${ctx.user.id}`).digest("hex");
  const extra: Record<string, unknown> = {};
  if (p.bool("download_token")) extra.download_token = ctx.tokenRecord?.token;
  if (p.bool("features")) extra.features = {};
  if (p.bool("intercom")) extra.user_hash = userHash;
  if (p.bool("pas")) extra.pas = { user_hash: userHash };
  if (p.bool("push_token")) extra.push_token = crypto.createHash("md5").update(`push:${ctx.user.id}`).digest("hex");
  return extra;
}

function saveSettings(ctx: Ctx) {
  const { state, params } = ctx;
  const user = ctx.user;
  const known = defaultSettings();
  const updates: Record<string, unknown> = {};
  for (const key of Object.keys(known)) {
    const value = params.raw(key);
    if (value !== undefined) updates[key] = value;
  }
  if ("callback_url" in updates) {
    const url = updates.callback_url;
    if (url === "" || url === null) updates.callback_url = null;
    else if (typeof url !== "string" || !/^https?:\/\/[^\s]+$/i.test(url)) throw badRequest("Invalid callback URL", "INVALID_CALLBACK_URL");
  }
  if ("default_download_folder" in updates) {
    const id = params.requiredInt("default_download_folder");
    state.requireFolder(user, id);
    updates.default_download_folder = id;
  }
  for (const key of ["trash_enabled", "start_from", "history_enabled", "is_invisible", "next_episode", "dark_theme"]) {
    if (key in updates) updates[key] = params.bool(key);
  }
  Object.assign(user.settings, updates);
  if ("callback_url" in updates) delete user.warnings.callback_url_has_failed;
  return {};
}

export const accountRoutes: Route[] = [
  route("GET", "/v2/account/info", info),
  route("GET", "/v2/account/settings", (ctx) => ({ settings: { ...ctx.user.settings } })),
  route("POST", "/v2/account/settings", saveSettings),
];
