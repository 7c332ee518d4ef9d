/**
 * A persistent context store that only answers asynchronously (like localfilesystem without cache)
 * and survives the test helper's unload, as a store on disk survives a Node-RED restart.
 */
export function diskStore(disk: Map<string, unknown>) {
  return () => ({
    open: () => Promise.resolve(),
    close: () => Promise.resolve(),
    get(scope: string, key: string, cb?: (err: Error | null, v?: unknown) => void) {
      if (typeof cb !== "function") throw new Error("this store is asynchronous only");
      setImmediate(() => cb(null, disk.get(`${scope}/${key}`)));
    },
    set(scope: string, key: string, value: unknown, cb?: (err: Error | null) => void) {
      if (typeof cb !== "function") throw new Error("this store is asynchronous only");
      disk.set(`${scope}/${key}`, value);
      setImmediate(() => cb(null));
    },
    keys(scope: string, cb: (err: Error | null, keys?: string[]) => void) {
      setImmediate(() =>
        cb(
          null,
          [...disk.keys()].filter((k) => k.startsWith(scope + "/")).map((k) => k.slice(scope.length + 1)),
        ),
      );
    },
    delete: () => Promise.resolve(),
    clean: () => Promise.resolve(),
  });
}
