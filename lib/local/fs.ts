/**
 * The file-system calls the engines make on the local disk, as an interface so tests can inject
 * failures (a disk that fills up, a file system without hard links) without a real tmpfs.
 * node:fs/promises satisfies it.
 */
import { constants } from "node:fs";
import * as fsp from "node:fs/promises";

export interface LocalFileHandle {
  write(buffer: Buffer, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }>;
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
