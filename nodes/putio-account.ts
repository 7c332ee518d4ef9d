/**
 * putio-account: the config node every put.io node points at. It owns the one shared client of
 * the account (and its socket and shared services), validates the token once at deploy, fans its
 * state out to the nodes that use it, and serves the editor's device-code login.
 */
import { PutioClient } from "../lib/client";
import { PutioError, PutioNetworkError, PutioTimeoutError } from "../lib/core/errors";
import { t } from "../lib/core/texts";
import { PutioSocket, type SocketState } from "../lib/core/socket";
import { proxySettingsFromEnv, PutioProxyError, type ProxySettings } from "../lib/core/proxy";
import type { AccountInfo } from "../lib/domains/account";
import { expandEnv, type AccountDef, type AccountNode, type AccountState, type SharedService } from "./common/account";
import { textOf } from "./common/i18n";
import { type Node, type NodeAPI } from "./common/node-api";
import { registerLoginRoutes } from "./common/login-routes";
import { registerFolderRoutes } from "./common/folder-routes";
import { registerLocalFolderRoutes } from "./common/local-folder-routes";
import { startSidebar } from "./common/sidebar";

/** While put.io cannot be reached, the account asks again after these waits (the last repeats). */
const RECHECK_MS = [15_000, 30_000, 60_000, 120_000, 300_000];

/** Core's `http proxy` config node, as the runtime holds it. */
interface HttpProxyNode {
  type?: string;
  url?: string;
  noproxy?: string[];
  credentials?: { username?: string; password?: string };
}

/**
 * The account's proxy: core's `http proxy` node when one is chosen (its URL for every scheme, its
 * no-proxy list, its credentials, as core's http request uses it), else the environment's.
 */
function proxySettings(RED: NodeAPI, id: string | undefined, node: AccountNode): ProxySettings {
  if (!id) return proxySettingsFromEnv();
  const p = RED.nodes.getNode(id) as unknown as HttpProxyNode | null;
  if (!p || p.type !== "http proxy" || !p.url) {
    // A proxy the user chose but the runtime does not have: say so, and keep to the environment's.
    node.warn(textOf(RED, "putio-account.warn.no-proxy-node"));
    return proxySettingsFromEnv();
  }
  return {
    httpProxy: p.url,
    httpsProxy: p.url,
    noProxy: p.noproxy ?? [],
    username: p.credentials?.username || undefined,
    password: p.credentials?.password || undefined,
  };
}

export = function (RED: NodeAPI): void {
  function PutioAccountNode(this: AccountNode, def: AccountDef): void {
    RED.nodes.createNode(this as unknown as Node, def);
    const node = this;
    const token = node.credentials?.accessToken?.trim() || undefined;
    const users = new Map<string, Node>();
    const services = new Map<string, SharedService>();
    const stateListeners = new Set<(s: AccountState) => void>();
    let state: AccountState = token ? "validating" : "no-token";
    let info: AccountInfo | null = null;
    let socket: PutioSocket | null = null;
    // Users may still hold the node's users map (the runtime routes a config node's errors and
    // statuses to the flows of its users through it).
    (node as unknown as { users: Record<string, Node> }).users = {};

    const client = new PutioClient({
      token,
      proxy: proxySettings(RED, def.proxy, node),
      apiUrl: expandEnv(def.apiUrl),
      uploadUrl: expandEnv(def.uploadUrl),
      socketUrl: expandEnv(def.socketUrl),
      webUrl: expandEnv(def.webUrl),
      maxConcurrent: Number(expandEnv(String(def.maxConcurrent ?? ""))) || 4,
      onUnauthorized: () => setState("unauthorized"),
    });

    let closed = false;
    let recheckTimer: NodeJS.Timeout | null = null;
    let rechecks = 0;

    function setState(next: AccountState): void {
      if (state === next) return;
      state = next;
      for (const l of stateListeners) l(next);
      if (next === "unauthorized") socket?.stop(); // never retry a refused token in a loop
      if (next === "unreachable") scheduleRecheck();
      else {
        rechecks = 0;
        if (recheckTimer) clearTimeout(recheckTimer);
        recheckTimer = null;
      }
    }

    /** The token's verdict from put.io: ready, unauthorized, or (no answer) unreachable. */
    function check(): Promise<void> {
      return client.account.info(client.transport.closeSignal).then(
        (i) => {
          info = i;
          setState("ready");
        },
        (err: unknown) => {
          if (err instanceof PutioError && err.isUnauthorized) setState("unauthorized");
          else if (!closed && state !== "unreachable") {
            setState("unreachable");
            node.warn(textOf(RED, "putio-account.warn.unreachable", { message: (err as Error).message }));
          }
        },
      );
    }

    function scheduleRecheck(): void {
      if (closed || recheckTimer) return;
      const wait = RECHECK_MS[Math.min(rechecks++, RECHECK_MS.length - 1)]!;
      recheckTimer = setTimeout(() => {
        recheckTimer = null;
        void check().then(() => {
          if (state === "unreachable") scheduleRecheck();
        });
      }, wait);
      recheckTimer.unref?.();
    }

    // Validate once at deploy. A network failure is not a verdict on the token: stay usable.
    const validation: Promise<void> = token ? check() : Promise.resolve();
    if (!token) node.warn(textOf(RED, "putio-account.warn.no-token"));

    Object.defineProperties(node, {
      client: { get: () => client },
      state: { get: () => state },
      info: { get: () => info },
      clientId: { value: expandEnv(def.clientId) },
    });

    node.ready = async () => {
      await validation;
      if (state === "no-token") {
        throw new PutioError(t("common.op.use-account"), {
          status_code: 401,
          error_type: "Unauthorized",
          error_message: textOf(RED, "putio-account.errors.no-token"),
        });
      }
      if (state === "unauthorized") {
        throw new PutioError(t("common.op.use-account"), {
          status_code: 401,
          error_type: "Unauthorized",
          error_message: textOf(RED, "putio-account.errors.refused"),
        });
      }
      return client;
    };

    node.register = (user: Node) => {
      users.set(user.id, user);
      (node as unknown as { users: Record<string, Node> }).users[user.id] = user;
    };
    node.deregister = (user: Node) => {
      users.delete(user.id);
      delete (node as unknown as { users: Record<string, Node> }).users[user.id];
    };

    node.socket = () => {
      if (!socket) {
        socket = new PutioSocket({ url: client.socketUrl, token: () => client.transport.accessToken, proxy: client.transport.proxy });
        socket.on("state", (s: SocketState) => {
          if (s === "unauthorized" && client.transport.hasToken) setState("unauthorized");
        });
      }
      if (state !== "unauthorized") socket.start();
      return socket;
    };

    node.shared = <T extends SharedService>(key: string, create: () => T): T => {
      let s = services.get(key) as T | undefined;
      if (!s) {
        s = create();
        services.set(key, s);
        sidebar.attach(s);
      }
      return s;
    };

    node.dropShared = (key: string) => {
      const s = services.get(key);
      services.delete(key);
      if (s) sidebar.detach(s);
      if (s)
        void Promise.resolve()
          .then(() => s.close())
          .catch(() => {});
    };

    node.tokenForRedaction = () => client.transport.accessToken;
    node.reportOutcome = (err?: unknown) => {
      if (err === undefined) {
        if (state === "unreachable") setState("ready");
      } else if (
        err instanceof PutioNetworkError ||
        (err instanceof PutioTimeoutError && err.phase === "connect") ||
        (err instanceof PutioProxyError && err.retriable)
      ) {
        if (state === "ready") setState("unreachable");
      }
    };
    node.onStateChange = (listener) => {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    };
    // The editor's put.io tab: what this account's services already know, at no request of its own.
    const sidebar = startSidebar(RED, node);

    (node as unknown as Node).on("close", (_removed: boolean, done: () => void) => {
      sidebar.close();
      const closing = [...services.values()].map((s) =>
        Promise.resolve()
          .then(() => s.close())
          .catch(() => {}),
      );
      services.clear();
      closed = true;
      if (recheckTimer) clearTimeout(recheckTimer);
      socket?.stop();
      socket = null;
      users.clear();
      stateListeners.clear();
      Promise.all(closing)
        .then(() => client.close())
        .catch(() => {})
        .then(() => done());
    });
  }

  RED.nodes.registerType("putio-account", PutioAccountNode as never, {
    credentials: { accessToken: { type: "password" } },
  });

  registerLoginRoutes(RED);
  registerFolderRoutes(RED);
  registerLocalFolderRoutes(RED);
};
