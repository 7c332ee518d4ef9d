/**
 * The one input handler every put.io node uses: runs the async work, keeps an in-flight counter
 * so overlapping messages don't leave a stale status, and turns every failure into a red status
 * plus done(err) (so Catch nodes see it), never an unhandled rejection.
 */
import { PutioBaseError, redact } from "../../lib/core/errors";
import { INVALID_SCOPE } from "../../lib/core/quirks";
import type { AccountNode } from "./account";
import { STATUS, shortText, type Done, type Msg, type Node, type Send } from "./node-api";

export interface InputContext {
  msg: Msg;
  send: Send;
  /** Set the node status while this message is being worked on. */
  status(s: object): void;
}

export interface InputHandlerOptions {
  /** Status text when the work ends well; null keeps whatever the handler set. */
  doneText?: ((msg: Msg) => string) | null;
}

/** Register `work` as the input handler of `node`. */
export function onInput(node: Node, account: AccountNode | null, work: (ctx: InputContext) => Promise<void>, opts: InputHandlerOptions = {}): void {
  let inFlight = 0;
  node.on("input", (msg: unknown, send: Send, done: Done) => {
    inFlight++;
    const ctx: InputContext = { msg: msg as Msg, send, status: (s) => node.status(s) };
    const token = account?.tokenForRedaction();
    (async () => {
      if (!account) throw new PutioBaseError("use put.io", "No put.io account is configured: open the node and pick or add an account.");
      await work(ctx);
    })()
      .then(() => {
        inFlight--;
        if (inFlight === 0 && opts.doneText !== null) node.status(opts.doneText ? STATUS.ok(shortText(opts.doneText(ctx.msg))) : STATUS.clear);
        done();
      })
      .catch((err: unknown) => {
        inFlight--;
        const error = toError(err, token);
        node.status(STATUS.error(shortText(statusTextOf(error))));
        done(error);
      });
  });
}

/** An Error whose text is safe to show: never the token. */
export function toError(err: unknown, token?: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const clean = redact(e.message, token);
  if (clean !== e.message) e.message = clean;
  return e;
}

/** Short status text for an error: "unauthorized: reconnect the account" for 401s. */
export function statusTextOf(err: Error): string {
  const status = (err as { statusCode?: number }).statusCode;
  const type = (err as { errorType?: string }).errorType;
  if (status === 401 && type !== INVALID_SCOPE) return "unauthorized: reconnect the account";
  if (type) return type.toLowerCase().replace(/_/g, " ");
  return err.message.replace(/^put\.io: /, "");
}
