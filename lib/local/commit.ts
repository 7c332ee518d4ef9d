/**
 * Putting a finished file at its final name without ever replacing what appeared there meanwhile.
 *
 * `lstat` then `rename` is a race: two commits (or a user saving a file) between the two calls
 * both see "missing", and the second rename silently replaces the first. A hard link fails with
 * EEXIST when anything is at the name, atomically; the temp name is then unlinked. File systems
 * without hard links (exFAT, FAT, some SMB/FUSE mounts: EPERM, ENOTSUP, ENOSYS, EXDEV) reserve the
 * name with an O_EXCL placeholder instead and rename over that placeholder only while it is still
 * the empty file we created.
 */
import * as path from "node:path";
import { crc32, crcHex } from "../core/crc";
import { OPEN, lstatOrNull, removeIfPresent, type LocalFs } from "./fs";
import { sameContent, markOf, type FileMark } from "./place";

/** Something is at the final name that this commit must not replace. */
export class NameTakenError extends Error {
  readonly code = "EEXIST";
  constructor(readonly at: string) {
    super(`${at} exists`);
  }
}

const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV", "EMLINK", "EINVAL"]);

/**
 * Move `from` to `to` if and only if nothing is at `to`. Throws NameTakenError when something is
 * (a file, a folder, a link: all left as they are, and `from` too).
 */
export async function commitNoClobber(fs: LocalFs, from: string, to: string): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") throw new NameTakenError(to);
    if (!NO_HARD_LINKS.has(code)) throw err;
    return commitByPlaceholder(fs, from, to);
  }
  await fs.unlink(from);
}

async function commitByPlaceholder(fs: LocalFs, from: string, to: string): Promise<void> {
  let fh;
  try {
    fh = await fs.open(to, OPEN.createNew, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new NameTakenError(to);
    throw err;
  }
  await fh.close();
  const placeholder = await fs.lstat(to);
  // Between the placeholder and the rename, only a program that replaced our new empty file could
  // lose its bytes: look once more, right before.
  const now = await lstatOrNull(fs, to);
  if (!now || !now.isFile() || now.size !== 0 || !sameContent(markOf(now), markOf(placeholder))) throw new NameTakenError(to);
  await fs.rename(from, to);
}

/**
 * Replace the file at `to` with `from`, only while `to` is still the file `expect` describes
 * (same device, inode, size and mtime, and, when given, the CRC32 of its bytes: an edit within the
 * same second keeps a whole-second mtime, as on exFAT): the earlier copy this package wrote.
 * Whatever is at `to` is first moved aside, checked, and put back untouched if it is not that file.
 */
export async function commitReplacing(fs: LocalFs, from: string, to: string, expect: Omit<FileMark, "ctimeMs"> & { crc32?: string }): Promise<void> {
  const aside = path.join(path.dirname(to), `.putio-replaced-${process.pid}-${Date.now().toString(36)}`);
  try {
    await fs.rename(to, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return commitNoClobber(fs, from, to);
    throw err;
  }
  const moved = await fs.lstat(aside);
  if (
    !moved.isFile() ||
    !sameContent(markOf(moved), expect) ||
    (expect.crc32 !== undefined && (await fileCrc(fs, aside, moved.size)) !== expect.crc32.toLowerCase())
  ) {
    await putBack(fs, aside, to);
    throw new NameTakenError(to);
  }
  try {
    await commitNoClobber(fs, from, to);
  } catch (err) {
    // Something took the name while ours was aside: ours goes back only if the name is free.
    await putBack(fs, aside, to).catch(() => {});
    throw err;
  }
  await removeIfPresent(fs, aside);
}

/** CRC32 (8 hex digits) of a file's first `size` bytes, never through a link. */
async function fileCrc(fs: LocalFs, file: string, size: number): Promise<string> {
  const fh = await fs.open(file, OPEN.readOnly);
  try {
    let c = 0;
    const buf = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(1, size)));
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) break;
      c = crc32(buf.subarray(0, bytesRead), c);
      pos += bytesRead;
    }
    return crcHex(c);
  } finally {
    await fh.close();
  }
}

/** Put a file moved aside back at its name without replacing anything; if the name was taken, it stays aside. */
async function putBack(fs: LocalFs, aside: string, to: string): Promise<void> {
  try {
    await commitNoClobber(fs, aside, to);
  } catch (err) {
    if (!(err instanceof NameTakenError)) throw err;
  }
}
