// Route table types shared by the per-domain route modules.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmulatorState, TokenRecord, User } from "./state";
import type { Knobs } from "./knobs";
import { Params, UploadedPart, unauthorized } from "./http-util";

/** Returned by a handler that wrote the response itself. */
export const HANDLED = Symbol("handled");

export interface ServerInfo {
  origin: string;
  state: EmulatorState;
  knobs: Knobs;
}

export class Ctx {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly url: URL,
    readonly params: Params,
    readonly files: Record<string, UploadedPart>,
    readonly match: string[],
    readonly tokenRecord: TokenRecord | undefined,
    readonly server: ServerInfo,
  ) {}

  get state(): EmulatorState {
    return this.server.state;
  }

  get user(): User {
    const id = this.tokenRecord?.userId;
    const user = id === undefined ? undefined : this.state.users.get(id);
    if (!user) throw unauthorized();
    return user;
  }

  /** Integer path segment n (1-based capture group). */
  pathInt(n: number): number {
    return Number(this.match[n]);
  }
}

export type Handler = (ctx: Ctx) => unknown | Promise<unknown>;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
  /** Most routes need a valid token; the device-code and validate routes do not. */
  auth?: boolean;
}

export function route(method: string, path: string, handler: Handler, auth = true): Route {
  // "{id}" matches a (possibly negative) integer, "{key}" any single segment.
  const source = path.replace(/\{id\}/g, "(-?\\d+)").replace(/\{key\}/g, "([^/]+)");
  return { method, pattern: new RegExp(`^${source}/?$`), handler, auth };
}
