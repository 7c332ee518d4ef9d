/** Error texts as nodes show them: in the runtime's language, never the token, short for the status. */
import { PutioBaseError, redact, redactError } from "../../lib/core/errors";
import { INVALID_SCOPE } from "../../lib/core/quirks";
import { isText, render, type Text } from "../../lib/core/texts";
import { lookupText, textOf } from "./i18n";
import type { NodeAPI } from "./node-api";

/** An Error whose text is safe to show: never the token, in its message nor in its text's parameters. */
export function toError(err: unknown, token?: string): Error {
  const e = redactError(err instanceof Error ? err : new Error(String(err)), token);
  // The engines' internal errors carry a text without being a PutioBaseError.
  const text = (e as { text?: unknown }).text;
  if (!(e instanceof PutioBaseError) && isText(text)) (e as { text?: Text }).text = redact(text, token);
  return e;
}

/** A text of lib/ or of a node in the runtime's language (English where a catalog lacks it). */
export function renderText(RED: NodeAPI, text: Text): string {
  // Node texts are catalog keys ("putio-files.errors.no-query", "common.op.use-account"); lib/'s codes live under common.errors.
  return render(text, (code, params) => lookupText(RED, /^(putio-[a-z-]+|common)\./.test(code) ? code : `common.errors.${code}`, params));
}

/**
 * The error as the flow sees it: its message in the runtime's language (lib/ errors carry their
 * text as a code and parameters), and `msg.error.message` without a class name in front (Node-RED
 * fills it from toString()).
 */
export function localizeError(RED: NodeAPI, err: Error): Error {
  const text = (err as { text?: unknown }).text;
  if (isText(text)) {
    const localized = renderText(RED, text);
    if (localized) err.message = redact(localized);
  }
  if (!Object.prototype.hasOwnProperty.call(err, "toString")) Object.defineProperty(err, "toString", { value: () => err.message, enumerable: false });
  return err;
}

/** put.io error types whose name does not read as a status ("feed cannot fetched"): said in words. */
const TYPE_STATUS: Record<string, string> = {
  FEED_CANNOT_FETCHED: "common.status.feed-unreachable",
  FEED_CANNOT_PARSED: "common.status.feed-unreadable",
  NotFound: "common.status.not-found",
};

/** Short status text for an error: "unauthorized: reconnect the account" for 401s, put.io's error type where it has one. */
export function statusTextOf(RED: NodeAPI, err: Error): string {
  const status = (err as { statusCode?: number }).statusCode;
  const type = (err as { errorType?: string }).errorType;
  if (status === 401 && type !== INVALID_SCOPE) return textOf(RED, "common.status.unauthorized");
  const known = type ? TYPE_STATUS[type] : undefined;
  if (known) return textOf(RED, known);
  // put.io's types are CamelCase ("NotFile") or SNAKE_CASE: shown as words ("not file"), never run together.
  if (type)
    return type
      .replace(/([a-z])([A-Z])/g, "$1 $2")
      .replace(/_/g, " ")
      .toLowerCase();
  return err.message.replace(/^put\.io: /, "");
}
