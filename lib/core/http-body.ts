/**
 * A request body read with a size limit, for the endpoints the package serves itself (the watch
 * callback, the Transmission RPC): refused as soon as it is known to be too big (by its
 * Content-Length or while it arrives), without reading the rest.
 */
import type { IncomingMessage } from "node:http";

export class BodyTooLarge extends Error {
  readonly status = 413;
}

export function readLimitedBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(new BodyTooLarge(`the body is over ${maxBytes} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        reject(new BodyTooLarge(`the body is over ${maxBytes} bytes`));
      } else chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}
