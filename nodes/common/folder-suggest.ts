/**
 * Folder suggestions for a path being typed ("/Movies/Sh" → the folders of /Movies whose name
 * starts with "sh", any case). Built on the files domain only; listings are cached for a few
 * seconds so that typing a path costs one listing per folder entered, not one per keystroke.
 */
import { PutioInputError } from "../../lib/core/errors";
import { t } from "../../lib/core/texts";
import { checkName } from "../../lib/core/wire";
import type { FilesApi } from "../../lib/domains/files";
import { ROOT_ID, splitPath } from "../../lib/domains/paths";

export interface FolderSuggestion {
  id: number;
  name: string;
  /** The full put.io path, as a node's folder field takes it. */
  path: string;
}

export interface FolderSuggestions {
  /** The deepest folder of the typed path that exists ("/" for the root). */
  folder: string;
  /** Its sub-folders whose name starts with the segment typed after it (case-insensitive), sorted by name. */
  folders: FolderSuggestion[];
  /** More matched than `folders` holds, or the folder has more sub-folders than were read. */
  truncated: boolean;
  /** The typed path is itself an existing folder. */
  exists: boolean;
}

export interface FolderSuggesterOptions {
  /** How long a listing or a name lookup is reused. */
  ttlMs?: number;
  /** Sub-folders read per folder (one page of put.io's listing). */
  maxListed?: number;
  /** Suggestions answered at most. */
  maxSuggestions?: number;
  now?: () => number;
}

interface Listing {
  folders: Array<{ id: number; name: string }>;
  truncated: boolean;
}

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

/** Entries kept at most per cache; a sweep drops expired ones first, then the oldest. */
const MAX_ENTRIES = 500;

const byName = new Intl.Collator("en", { sensitivity: "base", numeric: true });

export class FolderSuggester {
  readonly ttlMs: number;
  readonly maxListed: number;
  readonly maxSuggestions: number;
  private readonly now: () => number;
  private readonly listings = new Map<number, Entry<Listing>>();
  /** A name that is no sub-folder of a listing: a file, or nothing (looked up once per ttl). */
  private readonly lookups = new Map<string, Entry<"file" | "missing" | number>>();

  constructor(
    private readonly files: FilesApi,
    opts: FolderSuggesterOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5_000;
    this.maxListed = opts.maxListed ?? 1_000;
    this.maxSuggestions = opts.maxSuggestions ?? 50;
    this.now = opts.now ?? Date.now;
  }

  clear(): void {
    this.listings.clear();
    this.lookups.clear();
  }

  /**
   * The suggestions for `typed`. Bad input (a ".." segment, a NUL, a name put.io refuses, a file
   * used as a folder) is a PutioInputError before or instead of any listing. The caller bounds the
   * length of `typed`.
   */
  async suggest(typed: string, signal?: AbortSignal): Promise<FolderSuggestions> {
    const attempted = t("op.find-folder", { path: String(typed).slice(0, 200) });
    if (typeof typed !== "string") throw new PutioInputError(attempted, t("input.not-a-path", { value: typeof typed }));
    const cut = typed.lastIndexOf("/");
    // Everything before the last "/" names folders that must exist; after it is a name being typed.
    const complete = splitPath(cut < 0 ? "" : typed.slice(0, cut), attempted);
    const partial = typed.slice(cut + 1);
    // "." alone may start a name (".hidden"); ".." never does: a path cannot climb.
    if (partial !== "" && partial !== ".") checkName(partial, attempted);
    this.sweep();

    let id = ROOT_ID;
    let folder = "";
    let listing = await this.listing(id, signal);
    let prefix = partial;
    let reached = true;
    for (let i = 0; i < complete.length; i++) {
      const name = complete[i]!;
      const found = listing.folders.find((f) => f.name === name)?.id ?? (await this.lookup(id, name, folder + "/" + name, signal));
      if (found === undefined) {
        // Deepest existing folder reached: the missing name is what to complete there.
        prefix = name;
        reached = false;
        break;
      }
      id = found;
      folder += "/" + name;
      listing = await this.listing(id, signal);
    }
    const lower = prefix.toLowerCase();
    const matching = listing.folders
      .filter((f) => f.name.toLowerCase().startsWith(lower))
      .sort((a, b) => byName.compare(a.name, b.name) || (a.name < b.name ? -1 : 1));
    const exists = reached && (partial === "" || matching.some((f) => f.name === partial));
    return {
      folder: folder || "/",
      folders: matching.slice(0, this.maxSuggestions).map((f) => ({ id: f.id, name: f.name, path: `${folder}/${f.name}` })),
      truncated: listing.truncated || matching.length > this.maxSuggestions,
      exists,
    };
  }

  /** The sub-folders of a folder: cached, one put.io request per folder and ttl. */
  private listing(id: number, signal?: AbortSignal): Promise<Listing> {
    return this.cached(this.listings, id, async () => {
      const folders: Listing["folders"] = [];
      let truncated = false;
      for await (const f of this.files.list(id, { fileType: "FOLDER", perPage: this.maxListed, signal })) {
        if (folders.length === this.maxListed) {
          truncated = true;
          break;
        }
        folders.push({ id: f.id, name: f.name });
      }
      return { folders, truncated };
    });
  }

  /**
   * A name not among a folder's listed sub-folders: a file (an error: the path goes through it),
   * a folder beyond a truncated listing, or missing (undefined).
   */
  private async lookup(parentId: number, name: string, path: string, signal?: AbortSignal): Promise<number | undefined> {
    const found = await this.cached(this.lookups, `${parentId}/${name}`, async () => {
      const child = await this.files.child(parentId, name, signal);
      if (!child) return "missing" as const;
      return child.file_type === "FOLDER" ? child.id : ("file" as const);
    });
    if (found === "file") throw new PutioInputError(t("op.find-folder", { path }), t("input.is-a-file", { path }));
    return found === "missing" ? undefined : found;
  }

  private cached<K, T>(map: Map<K, Entry<T>>, key: K, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = load();
    map.set(key, { at: this.now(), value });
    // A failure is not remembered: the next keystroke asks again.
    value.catch(() => {
      if (map.get(key)?.value === value) map.delete(key);
    });
    return value;
  }

  private sweep(): void {
    for (const map of [this.listings, this.lookups] as Array<Map<unknown, Entry<unknown>>>) {
      const now = this.now();
      for (const [k, e] of map) if (now - e.at >= this.ttlMs) map.delete(k);
      // Insertion order is age order: drop the oldest beyond the bound.
      for (const k of map.keys()) {
        if (map.size <= MAX_ENTRIES) break;
        map.delete(k);
      }
    }
  }
}
