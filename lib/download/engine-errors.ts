/**
 * The error kinds inside the engine: they decide between another attempt from where the bytes
 * stopped, starting over, one stream instead of ranges, and failing the file.
 */
import { PutioBaseError, PutioError } from "../core/errors";
import { ProxyFailure, PutioProxyError } from "../core/proxy";
import { isText, render, t, type Text } from "../core/texts";

/** An engine error whose message is a text by code (a `storage.*` reason), like the package's errors. */
class TextError extends Error {
  constructor(readonly text: Text) {
    super(render(text));
  }
}

/** Worth another attempt from where the bytes stopped. */
export class RetriableError extends TextError {
  constructor(
    text: Text,
    readonly expiredUrl = false,
  ) {
    super(text);
  }
}
/** The remote file is not the one the part was started from. */
export class RemoteChangedError extends TextError {}
/** The storage answered a range that does not start at 0 with the whole file. */
export class RangesRefusedError extends TextError {}
/** A local write failed: nothing to retry. `at` is the path, or a text naming the file. */
export class LocalWriteError extends Error {
  constructor(
    readonly errno: NodeJS.ErrnoException,
    readonly at: string | Text,
  ) {
    super(errno.message);
  }
}

/** Why an attempt failed, as a text: the error's own text, or its message as it is (a system error). */
export function reasonOf(err: unknown): Text {
  const text = (err as { text?: unknown })?.text;
  if (isText(text)) return text;
  return t("plain", { text: String((err as Error)?.message ?? err) });
}

/** Ends a body read when a write failed (the write's own error is what gets reported). */
export class LocalWriteErrorSignal extends Error {}

/** Network trouble (not an HTTP answer): worth another attempt. */
export function isTransient(err: unknown): boolean {
  // The proxy's own failures say themselves whether another try may help (core/proxy.ts).
  if (err instanceof ProxyFailure || err instanceof PutioProxyError) return err.retriable;
  if (err instanceof PutioError) return err.statusCode >= 500 || err.statusCode === 429;
  if (err instanceof PutioBaseError) return (err as { name: string }).name === "PutioNetworkError" || (err as { name: string }).name === "PutioTimeoutError";
  if (err instanceof RemoteChangedError || err instanceof LocalWriteError || err instanceof RangesRefusedError) return false;
  const code = (err as { code?: string })?.code ?? "";
  return /^(UND_ERR|ECONN|EPIPE|EPROTO|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ERR_STREAM_PREMATURE_CLOSE)/.test(code);
}
