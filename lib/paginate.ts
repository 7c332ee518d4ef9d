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
