/**
 * One way for a node to serve a route on Node-RED's httpNode and take it away again (the watch
 * callback, the Transmission RPC).
 *
 * Why more than `RED.httpNode.post(…)`:
 * - With the default settings the admin and node roots are both "/": the editor API's JSON and
 *   urlencoded parsers (5 MB, HTML error pages) run before httpNode's routes on every request and
 *   consume any body they recognise (transmission-remote sends its JSON as a form). A route that
 *   reads its own body (`ownBody`) gets a guard at the front of the server's root app that marks its
 *   requests as parsed (`req._body`, the flag every body-parser checks before reading) and `UNREAD`
 *   (lib/server/body.ts), so the endpoint reads the exact bytes with its own limits and answers.
 * - Express cannot remove a route: `remove()` drops exactly the layers this call added (by their
 *   handler, never by path: another node may serve the same path after a redeploy).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { UNREAD, type BodyRequest } from "../../lib/server/body";
import type { NodeAPI } from "./node-api";

type Handler = (req: IncomingMessage & { params?: Record<string, string> }, res: ServerResponse, next: () => void) => void;

interface Layer {
  handle?: unknown;
  name?: string;
  route?: { path: string; stack?: Array<{ handle?: unknown }> };
}
interface App {
  (req: IncomingMessage, res: ServerResponse, next?: () => void): void;
  use(fn: unknown): unknown;
  get(path: string, fn: Handler): unknown;
  post(path: string, fn: Handler): unknown;
  on?(event: "mount", fn: (parent: App) => void): unknown;
  off?(event: "mount", fn: (parent: App) => void): unknown;
  removeListener?(event: "mount", fn: (parent: App) => void): unknown;
  parent?: App;
  mountpath?: string | string[];
  _router?: { stack: Layer[] };
}

export interface RouteOptions {
  /** Express path (`/putio-cb/:secret`), relative to httpNode. */
  path: string;
  methods: Array<"get" | "post">;
  handler: Handler;
  /** The handler reads the body itself: no parser in front of it may. */
  ownBody?: boolean;
}

export interface ServedRoute {
  remove(): void;
}

/** Express 4 keeps the router in `_router`; 5 in `router` (4's `router` getter throws). */
function stackOf(app: App): Layer[] | null {
  try {
    if (app._router?.stack) return app._router.stack;
    const r = (app as unknown as { router?: { stack?: Layer[] } }).router;
    return Array.isArray(r?.stack) ? r.stack : null;
  } catch {
    return null;
  }
}

const trim = (p: string) => p.replace(/\/+$/, "");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The full path of `route` under httpNode as the root app sees it, as a regex (express: case-insensitive, optional trailing slash). */
function fullPathPattern(httpNode: App, route: string): RegExp {
  let prefix = "";
  for (let app: App | undefined = httpNode; app?.parent; app = app.parent) {
    const m = Array.isArray(app.mountpath) ? (app.mountpath[0] ?? "/") : (app.mountpath ?? "/");
    prefix = trim(m) + prefix;
  }
  const parts = (trim(prefix) + "/" + route.replace(/^\/+/, "")).split("/").map((s) => (s.startsWith(":") ? "[^/]+" : escape(s)));
  return new RegExp(`^${parts.join("/")}/?$`, "i");
}

/** Adds `opts.handler` for each method on `RED.httpNode`; `remove()` takes exactly that away. */
export function serveRoute(RED: NodeAPI, opts: RouteOptions): ServedRoute {
  const httpNode = RED.httpNode as unknown as App;
  // Our layers are recognised by this wrapper: unique to this call.
  const handler: Handler = (req, res, next) => opts.handler(req, res, next);
  for (const m of opts.methods) httpNode[m](opts.path, handler);

  let guardOn: { root: App; guard: (req: BodyRequest, res: ServerResponse, next: () => void) => void } | null = null;
  const installGuard = () => {
    if (guardOn || !opts.ownBody || !httpNode.parent) return;
    let root: App = httpNode;
    while (root.parent) root = root.parent;
    const pattern = fullPathPattern(httpNode, opts.path);
    const methods = new Set(opts.methods.map((m) => m.toUpperCase()));
    const guard = (req: BodyRequest, _res: ServerResponse, next: () => void) => {
      const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "";
      if (methods.has(req.method ?? "") && !req._body && pattern.test(url.split("?")[0]!)) {
        req._body = true;
        req[UNREAD] = true;
      }
      next();
    };
    root.use(guard);
    const stack = stackOf(root);
    if (!stack) return;
    const i = stack.findIndex((l) => l.handle === guard);
    if (i < 0) return;
    const [layer] = stack.splice(i, 1);
    // After express's own request set-up (query, expressInit in express 4), before anything else.
    let at = 0;
    while (at < stack.length && (stack[at]!.name === "query" || stack[at]!.name === "expressInit")) at++;
    stack.splice(at, 0, layer!);
    guardOn = { root, guard };
  };
  // Installed once httpNode is served by the server's app (in a running Node-RED it already is).
  const onMount = () => installGuard();
  if (opts.ownBody) {
    if (httpNode.parent) installGuard();
    else httpNode.on?.("mount", onMount);
  }

  return {
    remove() {
      httpNode.removeListener?.("mount", onMount);
      const stack = stackOf(httpNode);
      if (stack) {
        for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.route?.stack?.some((s) => s.handle === handler)) stack.splice(i, 1);
      }
      if (guardOn) {
        const rootStack = stackOf(guardOn.root);
        const g = guardOn.guard;
        if (rootStack) for (let i = rootStack.length - 1; i >= 0; i--) if (rootStack[i]!.handle === g) rootStack.splice(i, 1);
        guardOn = null;
      }
    },
  };
}
