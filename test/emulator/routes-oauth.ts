// Device (OOB) code flow, token validation, logout, and the offline /link page.
import * as crypto from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, notFound, readRaw } from "./http-util";
import { Ctx, Route, route, ServerInfo } from "./router";
import type { DeviceCode, EmulatorState } from "./state";

/** Code lifetime on put.io is unconfirmed; 10 minutes of emulator time here. */
export const DEVICE_CODE_TTL_MS = 10 * 60 * 1000;

function liveCode(state: EmulatorState, code: string): DeviceCode | undefined {
  const rec = state.deviceCodes.get(code.toUpperCase());
  if (!rec) return undefined;
  if (state.now() - rec.createdAt > DEVICE_CODE_TTL_MS) {
    state.deviceCodes.delete(rec.code);
    return undefined;
  }
  return rec;
}

/** What a user does at put.io/link: the code now yields a new token of that user for the code's app. */
export function approveCode(state: EmulatorState, code: string, userId: number): DeviceCode {
  const rec = liveCode(state, code);
  if (!rec) throw notFound("Code not found");
  if (!rec.token) rec.token = state.issueToken(userId, rec.appId);
  return rec;
}

function appJson(appId: number) {
  return { id: appId, name: `App ${appId}`, description: "", website: "", has_icon: false };
}

function getCode(ctx: Ctx) {
  const { state, params } = ctx;
  const appId = params.int("app_id");
  if (appId === undefined) throw badRequest("Missing required parameter: app_id");
  let code: string;
  do code = crypto.randomBytes(4).toString("hex").slice(0, 6).toUpperCase();
  while (state.deviceCodes.has(code));
  state.deviceCodes.set(code, { code, appId, createdAt: state.now(), token: null });
  return { code, qr_code_url: `${ctx.server.origin}/qrcode/${code}` };
}

function validate(ctx: Ctx) {
  // Invalid tokens answer 200 with result:false and nulls.
  const rec = ctx.state.tokenRecord(ctx.params.str("oauth_token") ?? ctx.tokenRecord?.token);
  return rec
    ? { result: true, token_id: rec.tokenId, token_scope: "default", user_id: rec.userId }
    : { result: false, token_id: null, token_scope: null, user_id: null };
}

export const oauthRoutes: Route[] = [
  route("GET", "/v2/oauth2/oob/code", getCode, false),
  route(
    "GET",
    "/v2/oauth2/oob/code/{key}",
    (ctx) => {
      const rec = liveCode(ctx.state, decodeURIComponent(ctx.match[1]));
      if (!rec) throw notFound("Code not found");
      return { oauth_token: rec.token };
    },
    false,
  ),
  route("POST", "/v2/oauth2/oob/code", (ctx) => {
    const rec = approveCode(ctx.state, ctx.params.requiredStr("code"), ctx.user.id);
    return { app: appJson(rec.appId) };
  }),
  route("GET", "/v2/oauth2/validate", validate, false),
  route("POST", "/v2/oauth/grants/logout", (ctx) => {
    ctx.state.tokenRecord(ctx.tokenRecord?.token)!.revoked = true;
    return {};
  }),
];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** GET/POST /link: a page where a human approves a device code for the default user, offline. */
export async function handleLinkPage(req: IncomingMessage, res: ServerResponse, server: ServerInfo, url: URL): Promise<void> {
  let message = "";
  let code = url.searchParams.get("code") ?? "";
  if (req.method === "POST") {
    code = new URLSearchParams((await readRaw(req)).toString()).get("code") ?? "";
    try {
      approveCode(server.state, code.trim(), server.state.defaultUserId);
      message = `<p id="result">Device linked. You can close this page.</p>`;
    } catch {
      message = `<p id="result">Unknown or expired code.</p>`;
    }
  }
  const html =
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>put.io emulator: link a device</title></head><body>` +
    `<h1>Link a device (put.io emulator)</h1>${message}` +
    `<form method="POST" action="/link"><label>Code <input name="code" value="${escapeHtml(code)}"></label>` +
    `<button type="submit">Approve</button></form></body></html>`;
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Length": String(Buffer.byteLength(html)) });
  res.end(html);
}
