/**
 * The editor's "Connect" button: put.io's device-code login, run server-side so every route can be
 * guarded with needsPermission and the token never travels to the browser. The dialog starts a
 * session, shows the code and link, and polls; on approval the token is stored as the account
 * node's credential (the user then deploys to save it).
 */
import { randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import { PutioClient } from "../../lib/client";
import { PutioError, redact } from "../../lib/core/errors";
import { getAccount, type AccountNode } from "./account";
import { textOf } from "./i18n";
import type { NodeAPI } from "./node-api";

interface LoginSession {
  nodeId: string;
  code: string;
  client: PutioClient;
  expiresAt: number;
}

/** put.io's own clients give up on a code after a few minutes; so do we. */
const SESSION_TTL_MS = 10 * 60_000;
const sessions = new Map<string, LoginSession>();
/** Apps that already have the routes: one set per admin app, however many account nodes. */
const registeredOn = new WeakSet<object>();

function endSession(id: string): void {
  const s = sessions.get(id);
  sessions.delete(id);
  void s?.client.close();
}

function sweep(now = Date.now()): void {
  for (const [id, s] of sessions) if (s.expiresAt < now) endSession(id);
}

/** The running account node of this id (none when not deployed, or another node's id). */
function deployedAccount(RED: NodeAPI, id: string): AccountNode | null {
  const found = getAccount(RED, id) as (AccountNode & { type?: string }) | null;
  return found?.type === "putio-account" ? found : null;
}

function fail(res: Response, status: number, message: string): void {
  res.status(status).json({ error: message });
}

export function registerLoginRoutes(RED: NodeAPI): void {
  if (registeredOn.has(RED.httpAdmin)) return;
  registeredOn.add(RED.httpAdmin);
  const write = RED.auth.needsPermission("putio-account.write");

  RED.httpAdmin.post("/putio-account/login", write, async (req: Request, res: Response) => {
    sweep();
    const body = (req.body ?? {}) as Record<string, unknown>;
    const nodeId = String(body.nodeId ?? "");
    if (!/^[\w.-]+$/.test(nodeId)) return fail(res, 400, textOf(RED, "putio-account.errors.no-node-id"));
    const deployed = deployedAccount(RED, nodeId);
    // The dialog's fields as written; one naming environment variables stands for the deployed value.
    const field = (name: string, deployedValue: string | undefined): string | undefined | null => {
      const v = typeof body[name] === "string" ? (body[name] as string).trim() : "";
      if (!v.includes("${")) return v || undefined;
      return deployed ? deployedValue : null;
    };
    const clientId = field("clientId", deployed?.clientId);
    const apiUrl = field("apiUrl", deployed?.client.transport.apiUrl);
    const webUrl = field("webUrl", deployed?.client.transport.webUrl);
    if (clientId === null || apiUrl === null || webUrl === null) return fail(res, 400, textOf(RED, "putio-account.errors.env-not-deployed"));
    if (!clientId) return fail(res, 400, textOf(RED, "putio-account.errors.no-client-id"));
    const client = new PutioClient({ apiUrl, webUrl, proxy: deployed?.client.transport.proxy });
    try {
      const code = await client.oauth.getDeviceCode(clientId, "Node-RED");
      const id = randomBytes(16).toString("hex");
      sessions.set(id, { nodeId, code: code.code, client, expiresAt: Date.now() + SESSION_TTL_MS });
      res.json({ session: id, code: code.code, linkUrl: code.linkUrl, expiresInSeconds: SESSION_TTL_MS / 1000 });
    } catch (err) {
      void client.close();
      fail(res, 502, (err as Error).message);
    }
  });

  RED.httpAdmin.get("/putio-account/login/:session", write, async (req: Request, res: Response) => {
    sweep();
    const id = String(req.params.session);
    const s = sessions.get(id);
    // The editor says "expired" in the user's language.
    if (!s) return res.json({ state: "expired" });
    try {
      const token = await s.client.oauth.checkDeviceCode(s.code);
      if (!token) return res.json({ state: "pending" });
      s.client.transport.setToken(token);
      const info = await s.client.account.info();
      RED.nodes.addCredentials(s.nodeId, { accessToken: token });
      endSession(id);
      res.json({ state: "approved", username: info.username, disk: info.disk });
    } catch (err) {
      // put.io answers 404 for an unknown or expired code: start over.
      if (err instanceof PutioError && err.statusCode === 404) {
        endSession(id);
        return res.json({ state: "expired" });
      }
      res.json({ state: "error", message: (err as Error).message });
    }
  });

  // Who a token belongs to: a token pasted in the dialog, or (none given) the one stored for the
  // node. The answer names the account and its disk, never the token. The stored token goes only to
  // the API URL the account was deployed with; a URL from the request is used only with a token
  // from the same request, taken as written (expanding `${VAR}` there would let a request read the
  // runtime's environment).
  RED.httpAdmin.post("/putio-account/check", write, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const nodeId = String(body.nodeId ?? "");
    if (!/^[\w.-]+$/.test(nodeId)) return fail(res, 400, textOf(RED, "putio-account.errors.no-node-id"));
    const pasted = typeof body.token === "string" && body.token.trim() && body.token !== "__PWRD__" ? body.token.trim() : undefined;
    const deployed = deployedAccount(RED, nodeId);
    let token: string | undefined;
    let apiUrl: string | undefined;
    if (pasted) {
      token = pasted;
      const asked = typeof body.apiUrl === "string" ? body.apiUrl.trim() : "";
      // A URL naming environment variables is resolved only by a deploy: check at the deployed one.
      apiUrl = asked && !asked.includes("${") ? asked : deployed?.client.transport.apiUrl;
    } else {
      token = (RED.nodes.getCredentials(nodeId) as { accessToken?: string } | undefined)?.accessToken;
      if (!token) return res.json({ state: "no-token" });
      // Stored by a login but never deployed: there is no deployed URL to send it to yet.
      if (!deployed) return res.json({ state: "not-deployed" });
      apiUrl = deployed.client.transport.apiUrl;
    }
    const client = new PutioClient({ token, apiUrl, proxy: deployed?.client.transport.proxy });
    try {
      const info = await client.account.info();
      res.json({ state: "ok", username: info.username, disk: info.disk });
    } catch (err) {
      const refused = err instanceof PutioError && err.isUnauthorized;
      res.json({ state: refused ? "refused" : "unreachable", message: redact((err as Error).message, token) });
    } finally {
      void client.close();
    }
  });

  RED.httpAdmin.delete("/putio-account/login/:session", write, (req: Request, res: Response) => {
    endSession(String(req.params.session));
    res.json({ state: "cancelled" });
  });
}
