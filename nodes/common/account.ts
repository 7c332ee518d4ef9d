/** The account config node's interface, as the other nodes see it, and how they attach to it. */
import type { PutioClient } from "../../lib/client";
import type { AccountInfo } from "../../lib/domains/account";
import type { PutioSocket } from "../../lib/core/socket";
import type { Node, NodeAPI, NodeDef } from "./node-api";

export type AccountState = "no-token" | "validating" | "ready" | "unauthorized" | "unreachable";

export interface AccountDef extends NodeDef {
  clientId?: string;
  apiUrl?: string;
  uploadUrl?: string;
  socketUrl?: string;
  /** Where the user enters the login code (put.io's web app; the emulator in the sandbox). */
  webUrl?: string;
  maxConcurrent?: string | number;
  /** Id of a core `http proxy` config node; none: the http_proxy/https_proxy/no_proxy environment. */
  proxy?: string;
}

export interface Credentials {
  accessToken?: string;
}

/** Something shared by every node of an account (a socket hub, a poller); disposed at close. */
export interface SharedService {
  close(): void | Promise<void>;
}

export interface AccountNode extends Omit<Node<Credentials>, "on"> {
  readonly client: PutioClient;
  readonly state: AccountState;
  readonly info: AccountInfo | null;
  /** The OAuth app id as deployed (environment variables read). */
  readonly clientId: string | undefined;
  /** Resolves with the client once the token is known good; rejects (catchable) when it is not. */
  ready(): Promise<PutioClient>;
  register(user: Node): void;
  deregister(user: Node): void;
  /** The account's one realtime socket, started on first use. */
  socket(): PutioSocket;
  /** Get or create a service shared by all users of this account (closed with the account). */
  shared<T extends SharedService>(key: string, create: () => T): T;
  /** Close and forget a shared service (its last user left). */
  dropShared(key: string): void;
  tokenForRedaction(): string | undefined;
  /**
   * A node's call ended: an error that says put.io cannot be reached marks the account unreachable
   * (it rechecks until put.io answers), a success marks it reachable again.
   */
  reportOutcome(err?: unknown): void;
  /** Listen to state changes; returns the unsubscribe function. */
  onStateChange(listener: (state: AccountState) => void): () => void;
}

/** `${VAR}` inside a value (Node-RED only substitutes whole-value `${VAR}` itself). */
export function expandEnv(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const out = value.replace(/\$\{(\w+)\}/g, (_m, name: string) => process.env[name] ?? "").trim();
  return out || undefined;
}

/** Look up the account config node of a node; null when missing or disabled. */
export function getAccount(RED: NodeAPI, id: string | undefined): AccountNode | null {
  if (!id) return null;
  return (RED.nodes.getNode(id) as unknown as AccountNode | null) ?? null;
}

/**
 * Attach a node to its account: registers it (the runtime routes the account's errors to the flows
 * of its users) and deregisters it on close. Returns null when no account is configured; the
 * node's inputs then fail with a clear error.
 */
export function useAccount(RED: NodeAPI, node: Node, accountId: string | undefined): AccountNode | null {
  const account = getAccount(RED, accountId);
  if (!account) return null;
  account.register(node);
  node.on("close", (_removed: boolean, done: () => void) => {
    account.deregister(node);
    done();
  });
  return account;
}
