/**
 * The one way a put.io node is defined. A node gives its config parser and its per-msg work; the
 * kernel owns the rest, the same for every node:
 * - the account: attach on start, detach on close, and the client only once the token is good
 *   (a missing or refused token fails the msg with a catchable 401, it never reaches `input`);
 * - a per-msg AbortSignal that fires when the node closes, so every call it passes the signal to
 *   stops on a redeploy (a folder walk no longer runs on after the node is gone);
 * - close: abort, then wait for the msgs in flight within Node-RED's close timeout;
 * - done() exactly once per msg, red status + done(err) on any failure (never an unhandled
 *   rejection), the token never in an error text, and an in-flight count so overlapping msgs do
 *   not leave a stale status.
 */
import { setMaxListeners } from "node:events";
import type { PutioClient } from "../../lib/client";
import { PutioAbortError, PutioBaseError } from "../../lib/core/errors";
import { t, type TextOrString } from "../../lib/core/texts";
import { useAccount, type AccountNode, type AccountState } from "./account";
import { localizeError, statusTextOf, toError } from "./errors";
import { sidebarError } from "./sidebar";
import { textOf, type TextParams } from "./i18n";
import { STATUS, shortText, type Done, type Msg, type Node, type NodeAPI, type NodeDef, type Send } from "./node-api";

/** Node-RED's default close timeout is 15 s: leave it room. */
export const CLOSE_WAIT_MS = 10_000;

export interface NodeContext<C> {
  RED: NodeAPI;
  node: Node;
  config: C;
  /** Null only when no account is configured (every msg then fails before `input`). */
  account: AccountNode | null;
  /** Fires when the node closes. */
  closing: AbortSignal;
  /**
   * The client once the token is known good, for work of the node's own (a start-up read, a
   * watcher's check): rejects when no account is configured, and when the node closes first.
   */
  ready(): Promise<PutioClient>;
  /** A runtime text from the catalogs (`putio-files.status.found`, `common.status.connected`). */
  text(key: string, params?: TextParams): string;
}

export interface InputContext<C> extends NodeContext<C> {
  msg: Msg;
  send: Send;
  /** Set the node status while this msg is worked on. */
  status(s: object): void;
  /** The account's client; the token was accepted by put.io (or not yet refused). */
  client: PutioClient;
  account: AccountNode;
  /** Fires when the node closes: pass it to every long call. */
  signal: AbortSignal;
}

export interface Disposer {
  /** Called on close after the msgs in flight ended (or the wait ran out). */
  close(removed: boolean): void | Promise<void>;
}

export interface PutioNodeSpec<D extends NodeDef, C> {
  type: string;
  /** Read the node's settings once per deploy. A throw marks the node red and fails every msg with it. */
  config(def: D, RED: NodeAPI, node: Node): C;
  /** Long-lived work (subscriptions, timers, routes) started with the node; its disposer runs on close. */
  start?(ctx: NodeContext<C>): Disposer | void;
  /** The work for one msg: resolve when done, throw to fail it. Omit for nodes without an input. */
  input?(ctx: InputContext<C>): Promise<void>;
  /** Status when a msg ended well: text, or null to keep what `input` set (default: clear). */
  doneStatus?: ((msg: Msg, config: C) => string) | null;
  /** Handle the account's readiness in `input` itself (the client is given without waiting). */
  lazyAccount?: boolean;
  /**
   * Show the account's state (connected, no token, unauthorized, unreachable) while no msg is
   * worked on (default). Nodes that keep a status of their own (a watch) say false.
   */
  accountStatus?: boolean;
  /** Passed to registerType (credentials, settings). */
  registerOptions?: Record<string, unknown>;
}

/** Wait for `p`, or reject with the signal's reason when it fires first. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal, attempted: TextOrString): Promise<T> {
  if (signal.aborted) return Promise.reject(new PutioAbortError(attempted, signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new PutioAbortError(attempted, signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** The status a node shows for its account's state while it has nothing else to say. */
export function accountStatusOf(RED: NodeAPI, state: AccountState | null): object {
  switch (state) {
    case null:
      return STATUS.error(textOf(RED, "common.status.no-account"));
    case "no-token":
      return STATUS.error(textOf(RED, "common.status.no-token"));
    case "unauthorized":
      return STATUS.error(textOf(RED, "common.status.unauthorized"));
    case "unreachable":
      return STATUS.warn(textOf(RED, "common.status.unreachable"));
    case "validating":
      return STATUS.idle(textOf(RED, "common.status.connecting"));
    case "ready":
      return STATUS.ok(textOf(RED, "common.status.connected"));
  }
}

export function definePutioNode<D extends NodeDef & { account?: string }, C>(RED: NodeAPI, spec: PutioNodeSpec<D, C>): void {
  const text = (key: string, params?: TextParams) => textOf(RED, key, params);
  function PutioNode(this: Node, def: D): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);
    const closing = new AbortController();
    // One signal for every msg in flight (each call adds a listener while it runs): no leak warning at 11.
    setMaxListeners(0, closing.signal);
    const inFlight = new Set<Promise<void>>();
    const showsAccount = spec.accountStatus !== false;
    let working = 0;
    let config: C | null = null;
    let configError: Error | null = null;
    const showError = (e: Error) => {
      node.status(STATUS.error(shortText(statusTextOf(RED, e))));
      sidebarError(account, node, e);
    };
    const showAccount = () => {
      if (showsAccount && working === 0 && !configError) node.status(accountStatusOf(RED, account ? account.state : null));
    };
    try {
      config = spec.config(def, RED, node);
    } catch (err) {
      configError = localizeError(RED, toError(err));
      showError(configError);
      node.error(configError.message);
    }
    showAccount();
    const offState = account && showsAccount ? account.onStateChange(() => showAccount()) : () => {};
    const noAccount = () => new PutioBaseError(t("common.op.use-account"), t("common.messages.no-account"));
    // Its refusals are shown in the user's language also where start() work reports them itself.
    const ready = (): Promise<PutioClient> =>
      (account ? untilAborted(account.ready(), closing.signal, t("common.op.use-account")) : Promise.reject(noAccount())).catch((err: unknown) => {
        throw localizeError(RED, toError(err, account?.tokenForRedaction()));
      });
    const base = (): NodeContext<C> => ({ RED, node, config: config as C, account, closing: closing.signal, ready, text });
    let disposer: Disposer | void = undefined;
    if (config !== null && spec.start) {
      try {
        disposer = spec.start(base());
      } catch (err) {
        const e = localizeError(RED, toError(err, account?.tokenForRedaction()));
        showError(e);
        node.error(e.message);
      }
    }

    if (spec.input) {
      const input = spec.input;
      node.on("input", (raw: unknown, send: Send, done: Done) => {
        const msg = raw as Msg;
        let ended = false;
        const end = (err?: Error) => {
          if (ended) return;
          ended = true;
          done(err);
        };
        working++;
        const status = (s: object) => node.status(s);
        const run = (async () => {
          if (configError) throw configError;
          if (!account) throw noAccount();
          // A lazy node decides itself what a msg arriving during the close means (download keeps it).
          if (closing.signal.aborted && !spec.lazyAccount) throw new PutioAbortError(t("common.op.run", { type: spec.type }), closing.signal.reason);
          const client = spec.lazyAccount ? account.client : await ready();
          await input({ ...base(), account, msg, send, status, client, signal: closing.signal });
        })();
        const tracked = run.then(
          () => {
            working--;
            account?.reportOutcome();
            if (working === 0 && spec.doneStatus !== null) {
              if (spec.doneStatus) node.status(STATUS.ok(shortText(spec.doneStatus(msg, config as C))));
              else if (showsAccount) showAccount();
              else node.status(STATUS.clear);
            }
            end();
          },
          (err: unknown) => {
            working--;
            account?.reportOutcome(err);
            const error = localizeError(RED, toError(err, account?.tokenForRedaction()));
            showError(error);
            end(error);
          },
        );
        inFlight.add(tracked);
        void tracked.finally(() => inFlight.delete(tracked));
      });
    }

    node.on("close", (removed: boolean, done: () => void) => {
      closing.abort(new PutioAbortError(t("common.op.close-node")));
      offState();
      let timer: NodeJS.Timeout | undefined;
      const waitedEnough = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          node.warn(text("common.warn.close-timeout", { count: inFlight.size, seconds: CLOSE_WAIT_MS / 1000 }));
          resolve();
        }, CLOSE_WAIT_MS);
      });
      Promise.race([Promise.allSettled([...inFlight]), waitedEnough])
        .then(() => (disposer ? disposer.close(removed) : undefined))
        .catch((err: unknown) => node.warn(text("common.warn.close-failed", { message: (err as Error)?.message ?? String(err) })))
        .finally(() => {
          clearTimeout(timer);
          done();
        });
    });
  }
  RED.nodes.registerType(spec.type, PutioNode, spec.registerOptions as never);
}
