/**
 * What "the same place" and "the same file" mean on the local disk, for every engine.
 *
 * A path string is not an identity: a folder link inside a target (`Movies -> Films`), a target
 * reached by two paths, or a share that folds case makes two strings name one file. A place is
 * the real parent folder (device + inode) and the name folded as the most forgiving file system
 * would fold it (foldName); a file is its device + inode, with size, mtime and ctime telling
 * whether its bytes may have changed since we last looked.
 */
import * as path from "node:path";
import { foldName } from "./names";
import type { LocalFs, LocalStats } from "./fs";

/** The place a path names: one key for every path that reaches the same name in the same real folder. */
export interface Place {
  key: string;
  /** The real folder (links resolved). */
  realDir: string;
  name: string;
}

/** Key of a place from its folder's stat and a name. */
export function placeKey(dirStat: Pick<LocalStats, "dev" | "ino">, name: string): string {
  return `${dirStat.dev}:${dirStat.ino}/${foldName(name)}`;
}

/**
 * The place of `p`. Its folder must exist (it is resolved through links); the name itself is not
 * followed. A folder that cannot be read gives a key of its resolved path, so a claim still works.
 */
export async function placeOf(fs: LocalFs, p: string): Promise<Place> {
  const full = path.resolve(p);
  const name = path.basename(full);
  const dir = path.dirname(full);
  try {
    const realDir = await fs.realpath(dir);
    const st = await fs.stat(realDir);
    return { key: placeKey(st, name), realDir, name };
  } catch {
    return { key: `path:${foldName(full)}`, realDir: dir, name };
  }
}

/** Which file this is and how it looked: compared field by field to tell "unchanged since". */
export interface FileMark {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function markOf(st: LocalStats): FileMark {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/** The same file with the same bytes as far as the file system can tell (ctime: nothing touched it at all). */
export function sameMark(a: FileMark, b: FileMark): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** The same file, its contents not written since (a rename or link, which change ctime, are allowed). */
export function sameContent(a: Omit<FileMark, "ctimeMs">, b: Omit<FileMark, "ctimeMs">): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
