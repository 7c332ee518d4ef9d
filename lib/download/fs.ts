/**
 * The file-system calls the download engine makes, as an interface so tests can inject failures
 * (a disk that fills up) without a real tmpfs. node:fs/promises satisfies it.
 */
import * as fsp from "node:fs/promises";

export interface DownloadFileHandle {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  truncate(len: number): Promise<void>;
  sync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface DownloadFs {
  open(path: string, flags: string): Promise<DownloadFileHandle>;
  readFile(path: string, encoding: "utf8"): Promise<string>;
  writeFile(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, opts: { recursive: true }): Promise<unknown>;
  stat(path: string): Promise<{ size: number; mtimeMs: number; isFile(): boolean; isDirectory(): boolean }>;
  realpath(path: string): Promise<string>;
  /** Free bytes for the target folder's file system (optional: skipped when missing). */
  statfs?(path: string): Promise<{ bavail: number; bsize: number }>;
}

export const nodeFs: DownloadFs = {
  open: (p, flags) => fsp.open(p, flags),
  readFile: (p, enc) => fsp.readFile(p, enc),
  writeFile: (p, data) => fsp.writeFile(p, data),
  rename: fsp.rename,
  unlink: fsp.unlink,
  mkdir: fsp.mkdir,
  stat: fsp.stat,
  realpath: fsp.realpath,
  statfs: typeof fsp.statfs === "function" ? (p) => fsp.statfs(p) : undefined,
};

/** unlink that ignores a missing file. */
export async function removeIfPresent(fs: DownloadFs, path: string): Promise<void> {
  await fs.unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err?.code !== "ENOENT") throw err;
  });
}
