/** Error texts as nodes show them: never the token, and short for the status. */
import { redact } from "../../lib/core/errors";
import { INVALID_SCOPE } from "../../lib/core/quirks";

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
