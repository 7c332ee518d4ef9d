/**
 * Recursive walk of a put.io folder: every file with its path relative to the walked folder, so
 * a download can mirror the tree. One list request per folder (per 1,000 children: put.io's page
 * size), never more; folders named in `skipFolders` (e.g. sample, extras) are not entered.
 */
import { checkName, type FilesApi, type PutioFile } from "./domains/files";
import { folderSkipper } from "./filters";

export interface WalkedFile {
  file: PutioFile;
  /** Relative to the walked folder, "/"-separated: "Season 1/E01.mkv". */
  path: string;
  depth: number;
}

export interface WalkOptions {
  /** Folder names (any case) not to descend into (DEFAULT_SKIP_FOLDERS is the usual choice). */
  skipFolders?: string[] | string;
  /** Also yield the folders themselves (before their content). */
  includeFolders?: boolean;
  maxDepth?: number;
  signal?: AbortSignal;
}

export async function* walk(files: FilesApi, folderId: number, opts: WalkOptions = {}): AsyncGenerator<WalkedFile> {
  const skipped = folderSkipper(opts.skipFolders);
  const maxDepth = opts.maxDepth ?? 64;
  async function* visit(id: number, prefix: string, depth: number): AsyncGenerator<WalkedFile> {
    const folders: PutioFile[] = [];
    for await (const f of files.list(id, { signal: opts.signal })) {
      // The path feeds local mirrors: a name like ".." or "a/b" must never become a path segment.
      checkName(f.name, `walk into "${prefix}${f.name}"`);
      if (f.file_type === "FOLDER") folders.push(f);
      else yield { file: f, path: prefix + f.name, depth };
    }
    for (const folder of folders) {
      if (skipped(folder.name)) continue;
      if (opts.includeFolders) yield { file: folder, path: prefix + folder.name, depth };
      if (depth < maxDepth) yield* visit(folder.id, `${prefix}${folder.name}/`, depth + 1);
    }
  }
  yield* visit(folderId, "", 0);
}
