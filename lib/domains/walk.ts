/**
 * Recursive walk of a put.io folder: every file with its path relative to the walked folder, so
 * a download can mirror the tree. One list request per folder (per 1,000 children: put.io's page
 * size), never more; folders named in `skipFolders` (e.g. sample, extras) are not entered (nor listed).
 */
import { checkName } from "../core/wire";
import type { FilesApi, PutioFile } from "./files";
import { folderSkipper } from "./filters";
import { collect } from "../core/paginate";

export interface WalkedFile {
  file: PutioFile;
  /** Relative to the walked folder, "/"-separated: "Season 1/E01.mkv". */
  path: string;
  depth: number;
  /** The folders from the walked folder (excluded) down to the file's parent. */
  folders: Array<{ id: number; name: string }>;
}

export interface WalkOptions {
  /** Folder names (any case) not to descend into (DEFAULT_SKIP_FOLDERS is the usual choice). */
  skipFolders?: string[] | string;
  /** Also yield the folders themselves (before their content). */
  includeFolders?: boolean;
  maxDepth?: number;
  /** Sibling folders listed ahead of the walk (default 4). */
  lookahead?: number;
  /**
   * Refuse names that cannot be a path segment as they are ("..", "a/b"; default true). A caller
   * that cleans every name for the local disk itself (the download planner) passes false.
   */
  checkNames?: boolean;
  /** Skip these files and folders (by id). */
  skipIds?: ReadonlySet<number>;
  signal?: AbortSignal;
}

export async function* walk(files: FilesApi, folderId: number, opts: WalkOptions = {}): AsyncGenerator<WalkedFile> {
  const skipped = folderSkipper(opts.skipFolders);
  const maxDepth = opts.maxDepth ?? 64;
  const ahead = Math.max(1, opts.lookahead ?? 4);
  const listing = (id: number): Promise<PutioFile[]> => {
    const pending = collect(files.list(id, { signal: opts.signal }));
    // Read later, in walk order; until then a failure must not count as unhandled.
    pending.catch(() => {});
    return pending;
  };
  const checkNames = opts.checkNames ?? true;
  async function* visit(children: Promise<PutioFile[]>, prefix: string, depth: number, chain: WalkedFile["folders"]): AsyncGenerator<WalkedFile> {
    const folders: PutioFile[] = [];
    for (const f of await children) {
      if (opts.skipIds?.has(f.id)) continue;
      // The path feeds local mirrors: a name like ".." or "a/b" must never become a path segment.
      if (checkNames) checkName(f.name, `walk into "${prefix}${f.name}"`);
      if (f.file_type !== "FOLDER") yield { file: f, path: prefix + f.name, depth, folders: chain };
      else if (!skipped(f.name)) folders.push(f);
    }
    // Sibling folders are listed a few ahead of the one being walked: the order stays depth-first and
    // the request count is unchanged, but round trips overlap (the transport caps what is in flight).
    const started: Array<Promise<PutioFile[]>> = [];
    const start = (i: number) => {
      const folder = folders[i];
      if (folder && depth < maxDepth && !started[i]) started[i] = listing(folder.id);
    };
    for (const [i, folder] of folders.entries()) {
      for (let j = i; j < i + ahead; j++) start(j);
      if (opts.includeFolders) yield { file: folder, path: prefix + folder.name, depth, folders: chain };
      if (depth < maxDepth) yield* visit(started[i]!, `${prefix}${folder.name}/`, depth + 1, [...chain, { id: folder.id, name: folder.name }]);
    }
  }
  yield* visit(listing(folderId), "", 0, []);
}
