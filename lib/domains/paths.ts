/**
 * Folder paths ("/Movies/2026") resolved to put.io ids, optionally created (mkdir -p).
 * Cached per client; any move, rename or delete made through the client clears the cache.
 */
import { describeValue } from "../core/describe";
import { PutioInputError } from "../core/errors";
import { t, type TextOrString } from "../core/texts";
import type { FilesApi } from "./files";
import { checkName } from "../core/wire";

export const ROOT_ID = 0;

/** Split a put.io path into names; rejects "." and ".." so a path cannot climb. */
export function splitPath(path: string, attempted: TextOrString): string[] {
  if (typeof path !== "string") throw new PutioInputError(attempted, t("input.not-a-path", { value: describeValue(path) }));
  const parts = path.split("/").filter((p) => p !== "");
  for (const p of parts) {
    if (p === "." || p === "..") throw new PutioInputError(attempted, t("input.path-climbs", { path, part: p }));
    checkName(p, attempted);
  }
  return parts;
}

export class PathResolver {
  private readonly cache = new Map<string, number>();
  /** One creation at a time per path, so two nodes creating /A/B at once don't race into NAME_ALREADY_EXIST. */
  private readonly pending = new Map<string, Promise<number>>();

  constructor(private readonly files: FilesApi) {}

  /**
   * Forget what a change may have made wrong: everything, or only if one of `ids` is a folder the
   * cache holds. Every prefix of a cached path is cached too, so a change to ids none of which is
   * cached (a file deleted, a folder that was never looked up by path) leaves every cached path true.
   */
  invalidate(ids?: number[]): void {
    if (ids && this.cache.size) {
      const cached = new Set(this.cache.values());
      if (!ids.some((id) => cached.has(id))) return;
    }
    this.cache.clear();
  }

  /** The path of a folder this resolver has found (or made) by path, or null: saves a lookup of its names. */
  knownPath(id: number): string | null {
    for (const [key, known] of this.cache) if (known === id) return key;
    return null;
  }

  /** The id of the folder at `path`; null when missing and `create` is false. */
  async resolve(path: string, opts: { create?: boolean; signal?: AbortSignal } = {}): Promise<number | null> {
    const attempted = t("op.find-folder", { path: String(path) });
    const parts = splitPath(path, attempted);
    let parentId = ROOT_ID;
    let key = "";
    for (const name of parts) {
      key += "/" + name;
      const cached = this.cache.get(key);
      if (cached !== undefined) {
        parentId = cached;
        continue;
      }
      const id = await this.step(key, parentId, name, !!opts.create, opts.signal);
      if (id === null) return null;
      parentId = id;
    }
    return parentId;
  }

  private step(key: string, parentId: number, name: string, create: boolean, signal?: AbortSignal): Promise<number | null> {
    const running = this.pending.get(key);
    if (running) return running;
    const work = (async () => {
      let found = await this.files.child(parentId, name, signal);
      if (found && found.file_type !== "FOLDER") {
        throw new PutioInputError(t("op.find-folder", { path: key }), t("input.is-a-file", { path: key }));
      }
      if (!found) {
        if (!create) return null;
        try {
          found = await this.files.createFolder(parentId, name, signal);
        } catch (err) {
          // Someone else created it meanwhile: use theirs.
          if ((err as { errorType?: string }).errorType !== "NAME_ALREADY_EXIST") throw err;
          found = await this.files.child(parentId, name, signal);
          if (!found) throw err;
          // What was made meanwhile may be a file: not a folder to go into.
          if (found.file_type !== "FOLDER") throw new PutioInputError(t("op.find-folder", { path: key }), t("input.is-a-file", { path: key }));
        }
      }
      this.cache.set(key, found.id);
      return found.id;
    })();
    if (!create) return work;
    const shared = work.finally(() => this.pending.delete(key)) as Promise<number>;
    this.pending.set(key, shared);
    return shared;
  }
}
