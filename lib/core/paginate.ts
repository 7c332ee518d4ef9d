import type { Params } from "./request";
import type { Transport } from "./transport";
import type { Validator } from "./schema";
import type { TextOrString } from "./texts";

/** Cursor pagination as an async iterator: follows put.io's `cursor` until it is null. */
export async function* paginate<P extends { cursor?: string | null }, T>(
  first: () => Promise<P>,
  next: (cursor: string) => Promise<P>,
  items: (page: P) => T[],
): AsyncGenerator<T> {
  let page = await first();
  for (;;) {
    yield* items(page);
    if (!page.cursor) return;
    page = await next(page.cursor);
  }
}

/** Collect an async iterator into an array (for callers that want everything at once). */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * put.io's list routes: `GET <path>?per_page=N`, then `POST <path>/continue` with `cursor` (form)
 * and per_page in the query (as the official TS SDK sends it), until the cursor is null.
 * The continuation only reads, so it is safe to repeat after a network error.
 */
export function cursorList<P extends { cursor?: string | null }, T>(
  t: Transport,
  spec: { path: string; query?: Params; perPage: number; schema: Validator<P>; attempted: TextOrString; signal?: AbortSignal },
  items: (page: P) => T[],
): AsyncGenerator<T> {
  const { path, perPage, schema, attempted, signal } = spec;
  return paginate(
    () => t.request({ method: "GET", path, query: { ...spec.query, per_page: perPage }, schema, attempted, signal }),
    (cursor) =>
      t.request({ method: "POST", path: `${path}/continue`, query: { per_page: perPage }, form: { cursor }, idempotent: true, schema, attempted, signal }),
    items,
  );
}
