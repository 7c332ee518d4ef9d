/**
 * putio-account: the config node every put.io node points at. It owns the one shared client of
 * the account (and its socket and shared services), validates the token once at deploy, fans its
 * state out to the nodes that use it, and serves the editor's device-code login.
 */
import { PutioClient } from "../lib/client";
import { PutioError } from "../lib/core/errors";
import { PutioSocket, type SocketState } from "../lib/core/socket";
import type { AccountInfo } from "../lib/domains/account";
import { expandEnv, type AccountDef, type AccountNode, type AccountState, type SharedService } from "./common/account";
import { STATUS, type Node, type NodeAPI } from "./common/node-api";
import { registerLoginRoutes } from "./common/login-routes";

const UNAUTHORIZED_TEXT = "unauthorized: reconnect the account";

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
      apiUrl: expandEnv(def.apiUrl),
      uploadUrl: expandEnv(def.uploadUrl),
      socketUrl: expandEnv(def.socketUrl),
      webUrl: expandEnv(def.webUrl),
      maxConcurrent: Number(expandEnv(String(def.maxConcurrent ?? ""))) || 4,
      onUnauthorized: () => setState("unauthorized"),
    });

    function userStatus(): object | null {
      if (state === "no-token") return STATUS.error("no token: connect the account");
      if (state === "unauthorized") return STATUS.error(UNAUTHORIZED_TEXT);
      return null;
    }

    function setState(next: AccountState): void {
      if (state === next) return;
      state = next;
      const s = userStatus();
      if (s) for (const u of users.values()) u.status(s);
      for (const l of stateListeners) l(next);
      if (next === "unauthorized") socket?.stop(); // never retry a refused token in a loop
    }

    // Validate once at deploy. A network failure is not a verdict on the token: stay usable.
    const validation: Promise<void> = token
      ? client.account.info(client.transport.closeSignal).then(
          (i) => {
            info = i;
            setState("ready");
          },
          (err: unknown) => {
            if (err instanceof PutioError && err.isUnauthorized) setState("unauthorized");
            else if (state === "validating") {
              setState("unreachable");
              node.warn(`put.io could not be reached to check the token: ${(err as Error).message}`);
            }
          },
        )
      : Promise.resolve();
    if (!token) node.warn("put.io account has no access token: open it and press Connect (or paste a token), then Deploy.");

    Object.defineProperties(node, {
      client: { get: () => client },
      state: { get: () => state },
      info: { get: () => info },
    });

    node.ready = async () => {
      await validation;
      if (state === "no-token") {
        throw new PutioError("use the put.io account", {
          status_code: 401,
          error_type: "Unauthorized",
          error_message: "the account node has no access token",
        });
      }
      if (state === "unauthorized") {
        throw new PutioError("use the put.io account", { status_code: 401, error_type: "Unauthorized", error_message: "put.io refused the access token" });
      }
      return client;
    };

    node.register = (user: Node) => {
      users.set(user.id, user);
      (node as unknown as { users: Record<string, Node> }).users[user.id] = user;
      const s = userStatus();
      if (s) user.status(s);
    };
    node.deregister = (user: Node) => {
      users.delete(user.id);
      delete (node as unknown as { users: Record<string, Node> }).users[user.id];
    };

    node.socket = () => {
      if (!socket) {
        socket = new PutioSocket({ url: client.socketUrl, token: () => client.transport.accessToken });
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
      }
      return s;
    };

    node.dropShared = (key: string) => {
      const s = services.get(key);
      services.delete(key);
      if (s)
        void Promise.resolve()
          .then(() => s.close())
          .catch(() => {});
    };

    node.tokenForRedaction = () => client.transport.accessToken;
    node.onStateChange = (listener) => {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    };

    (node as unknown as Node).on("close", (_removed: boolean, done: () => void) => {
      const closing = [...services.values()].map((s) =>
        Promise.resolve()
          .then(() => s.close())
          .catch(() => {}),
      );
      services.clear();
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
};
