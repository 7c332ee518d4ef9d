/**
 * The error kinds inside the engine: they decide between another attempt from where the bytes
 * stopped, starting over, one stream instead of ranges, and failing the file.
 */
import { PutioBaseError, PutioError } from "../core/errors";

/** Worth another attempt from where the bytes stopped. */
export class RetriableError extends Error {
  constructor(
    message: string,
    readonly expiredUrl = false,
  ) {
    super(message);
  }
}
/** The remote file is not the one the part was started from. */
export class RemoteChangedError extends Error {}
/** The storage answered a range that does not start at 0 with the whole file. */
export class RangesRefusedError extends Error {}
/** A local write failed: nothing to retry. */
export class LocalWriteError extends Error {
  constructor(
    readonly errno: NodeJS.ErrnoException,
    readonly at: string,
  ) {
    super(errno.message);
  }
}

/** Ends a body read when a write failed (the write's own error is what gets reported). */
export class LocalWriteErrorSignal extends Error {}

/** Network trouble (not an HTTP answer): worth another attempt. */
export function isTransient(err: unknown): boolean {
  if (err instanceof PutioError) return err.statusCode >= 500 || err.statusCode === 429;
  if (err instanceof PutioBaseError) return (err as { name: string }).name === "PutioNetworkError" || (err as { name: string }).name === "PutioTimeoutError";
  if (err instanceof RemoteChangedError || err instanceof LocalWriteError || err instanceof RangesRefusedError) return false;
  const code = (err as { code?: string })?.code ?? "";
  return /^(UND_ERR|ECONN|EPIPE|EPROTO|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ERR_STREAM_PREMATURE_CLOSE)/.test(code);
}
