/**
 * The file-system calls the engines make on the local disk, as an interface so tests can inject
 * failures (a disk that fills up, a file system without hard links) without a real tmpfs.
 * node:fs/promises satisfies it.
 */
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { PutioInputError } from "../core/errors";
import { t, type TextOrString } from "../core/texts";

export interface LocalFileHandle {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  truncate(len: number): Promise<void>;
  sync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface LocalStats {
  size: number;
  mtimeMs: number;
  /** Device and inode: which real file this is, whatever path reached it. */
  dev: number;
  ino: number;
  /** Changes with every write, rename, link or chmod of the inode; a user cannot set it. */
  ctimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface LocalFs {
  /** `flags` as a string ("r") or O_* numbers (O_NOFOLLOW needs the numeric form). */
  open(path: string, flags: string | number, mode?: number): Promise<LocalFileHandle>;
  readFile(path: string, encoding: "utf8"): Promise<string>;
  rename(from: string, to: string): Promise<void>;
  /** A second name for a file; fails with EEXIST when anything is at `to` (the no-clobber commit). */
  link(existing: string, to: string): Promise<void>;
  /** Set access and modification times (a lock file's heartbeat). */
  utimes(path: string, atime: Date, mtime: Date): Promise<void>;
  readdir(path: string): Promise<string[]>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, opts?: { recursive?: boolean }): Promise<unknown>;
  stat(path: string): Promise<LocalStats>;
  lstat(path: string): Promise<LocalStats>;
  realpath(path: string): Promise<string>;
  access(path: string, mode: number): Promise<void>;
  /** Free bytes for the target folder's file system (optional: skipped when missing). */
  statfs?(path: string): Promise<{ bavail: number; bsize: number }>;
}

export const nodeFs: LocalFs = {
  open: (p, flags, mode) => fsp.open(p, flags, mode),
  readFile: (p, enc) => fsp.readFile(p, enc),
  rename: fsp.rename,
  link: fsp.link,
  utimes: (p, a, m) => fsp.utimes(p, a, m),
  readdir: (p) => fsp.readdir(p),
  rmdir: (p) => fsp.rmdir(p),
  unlink: fsp.unlink,
  mkdir: fsp.mkdir,
  stat: fsp.stat,
  lstat: fsp.lstat,
  realpath: fsp.realpath,
  access: fsp.access,
  statfs: typeof fsp.statfs === "function" ? (p) => fsp.statfs(p) : undefined,
};

/** Open flags that never follow a symbolic link at the last component. */
export const OPEN = {
  /** Create; fail if anything (a file, a link) is there. */
  createNew: constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
  /** An existing file, read and write. */
  readWrite: constants.O_RDWR | constants.O_NOFOLLOW,
  readOnly: constants.O_RDONLY | constants.O_NOFOLLOW,
  /** Create or replace the contents (our own small state files only). */
  replace: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
};

/** unlink that ignores a missing file. */
export async function removeIfPresent(fs: LocalFs, path: string): Promise<void> {
  await fs.unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err?.code !== "ENOENT") throw err;
  });
}

/** lstat, or null when nothing is there. */
export async function lstatOrNull(fs: LocalFs, p: string): Promise<LocalStats | null> {
  try {
    return await fs.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Write a small text file through a temp name and a rename, never following a link. */
export async function writeFileAtomic(fs: LocalFs, file: string, tmp: string, text: string): Promise<void> {
  const fh = await fs.open(tmp, OPEN.replace, 0o644);
  try {
    const buf = Buffer.from(text);
    for (let off = 0; off < buf.length;) off += (await fh.write(buf, off, buf.length - off, off)).bytesWritten;
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

/**
 * Make sure `target` is a writable folder, creating missing folders one level at a time. Every
 * answer is a clear error: a missing parent, a file in the way, no permission, or a pseudo file
 * system that refuses (a recursive mkdir under /proc never returned; one level at a time fails).
 */
export async function ensureTargetFolder(fs: LocalFs, target: string, attempted: TextOrString = t("op.download-job")): Promise<string> {
  if (!path.isAbsolute(target)) throw new PutioInputError(attempted, t("input.not-absolute-target", { path: String(target) }));
  const full = path.resolve(target);
  const missing: string[] = [];
  let at = full;
  for (;;) {
    let st: LocalStats | null;
    try {
      st = await fs.stat(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR")
        throw new PutioInputError(attempted, t("input.target-unreachable", { path: full, at, detail: String(code ?? (err as Error).message) }));
      st = null;
    }
    if (st) {
      if (!st.isDirectory()) throw new PutioInputError(attempted, t("input.target-part-not-folder", { path: full, at }));
      break;
    }
    const parent = path.dirname(at);
    if (parent === at) throw new PutioInputError(attempted, t("input.target-nothing-exists", { path: full }));
    missing.unshift(at);
    at = parent;
  }
  for (const dir of missing) {
    try {
      await fs.mkdir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (
        code === "EEXIST" &&
        (await fs.stat(dir).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      )
        continue;
      throw new PutioInputError(attempted, t("input.target-not-created", { path: full, at: dir, detail: String(code ?? (err as Error).message) }));
    }
  }
  try {
    await fs.access(full, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new PutioInputError(
      attempted,
      t("input.target-not-writable", { path: full, detail: String((err as NodeJS.ErrnoException).code ?? (err as Error).message) }),
    );
  }
  return full;
}
