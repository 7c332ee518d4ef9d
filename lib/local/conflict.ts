/**
 * Keeping the user's version of a file an engine has to write: when the file at a path the engine
 * owns turns out to hold the user's bytes (edited in place, or replaced, since the engine wrote
 * it), those bytes move beside it as "<name> (local copy <time>).<ext>" and the engine's new file
 * takes the name. Nothing is overwritten and nothing is deleted: the move is a rename to a hidden
 * name of ours (it moves whatever is there at that instant, also a file the user saves again
 * meanwhile), then a no-clobber commit to the visible name.
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { crc32, crcHex, parseCrc } from "../core/crc";
import { commitNoClobber, NameTakenError } from "./commit";
import { OPEN, lstatOrNull, removeIfPresent, type LocalFs } from "./fs";

/** Room within the 255-byte name limit, as for every name this package makes. */
const MAX_NAME_BYTES = 240;
const STAMP = /^\d{4}-\d{2}-\d{2} \d{2}-\d{2}-\d{2}$/;
const KEPT = / \(local copy \d{4}-\d{2}-\d{2} \d{2}-\d{2}-\d{2}(?: \d+)?\)(?:\.[^./]{1,15})?$/;

/** "2026-12-06 07-12-30" (UTC): sortable, no character Windows refuses. */
function stampOf(when: Date): string {
  return when.toISOString().slice(0, 19).replace("T", " ").replace(/:/g, "-");
}

/** "name (local copy <stamp>[ n]).ext", cut to the name limit on the base's side. */
export function keptCopyName(name: string, stamp: string, n = 1): string {
  if (!STAMP.test(stamp)) throw new RangeError(`bad stamp ${stamp}`);
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && dot < name.length - 1 && name.length - dot <= 16 ? name.slice(dot) : "";
  const suffix = ` (local copy ${stamp}${n > 1 ? ` ${n}` : ""})`;
  const chars = Array.from(name.slice(0, name.length - ext.length));
  while (chars.length && Buffer.byteLength(chars.join("") + suffix + ext) > MAX_NAME_BYTES) chars.pop();
  return chars.join("") + suffix + ext;
}

/** Whether a path's last name is one keptCopyName makes (such a copy is never an engine's to remove). */
export function isKeptCopyName(p: string): boolean {
  return KEPT.test(p.slice(p.lastIndexOf("/") + 1));
}

/**
 * Move what is at `file` beside it as a kept copy; returns the copy's path, or null when nothing
 * was at `file` any more. Never replaces anything: a taken copy name gets the next number.
 */
export async function keepAsCopy(fs: LocalFs, file: string, when: Date = new Date()): Promise<string | null> {
  const aside = asideOf(file);
  try {
    await fs.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  return commitAsCopy(fs, aside, file, when);
}

/** A hidden name of ours beside `file` (the `.putio-` namespace, which no remote name enters). */
function asideOf(file: string): string {
  return path.join(path.dirname(file), `.putio-keep-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** Commit the file at the hidden name `aside` as the kept copy of `file`. */
async function commitAsCopy(fs: LocalFs, aside: string, file: string, when: Date): Promise<string> {
  const stamp = stampOf(when);
  for (let n = 1; ; n++) {
    const to = path.join(path.dirname(file), keptCopyName(path.basename(file), stamp, n));
    try {
      await commitNoClobber(fs, aside, to);
      return to;
    } catch (err) {
      if (!(err instanceof NameTakenError) || n >= 1000) {
        // Still under the hidden name: put it back if the name is free, so nothing is hidden from the user.
        await commitNoClobber(fs, aside, file).catch(() => {});
        throw err;
      }
    }
  }
}

/** The engine's own earlier copy as it left it: which file, and the CRC32 of its bytes when known. */
export interface OwnCopy {
  dev?: number;
  ino?: number;
  size: number;
  mtimeMs: number;
  crc?: string;
}

/**
 * Put `from` at `to`, where the engine's own earlier copy (`own`; null: none known) is. What is at
 * `to` is first renamed to a hidden name (whatever is there at that instant), then checked: the
 * same file (device, inode, size, mtime) with the same bytes (CRC32 when known: some file systems
 * keep mtime in whole seconds, so an edit right after the write keeps it) is the engine's and is
 * removed once `from` is in place; anything else is the user's version, kept beside as a copy
 * whose path is returned. Throws NameTakenError when `to` was taken again before the commit
 * (the user's file there stays; nothing is lost).
 */
export async function replaceOwnCopy(fs: LocalFs, from: string, to: string, own: OwnCopy | null, signal?: AbortSignal): Promise<string | null> {
  const aside = asideOf(to);
  try {
    await fs.rename(to, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await commitNoClobber(fs, from, to);
    return null;
  }
  let ours: boolean;
  try {
    const st = await fs.lstat(aside);
    if (!st.isFile()) {
      // A folder or a link appeared there: not a file anyone edits; it goes back as it was.
      if (!(await lstatOrNull(fs, to))) await fs.rename(aside, to);
      throw new NameTakenError(to);
    }
    ours =
      !!own &&
      (own.dev === undefined || st.dev === own.dev) &&
      (own.ino === undefined || st.ino === own.ino) &&
      st.size === own.size &&
      st.mtimeMs === own.mtimeMs &&
      (parseCrc(own.crc) === null || (await fileCrc(fs, aside, signal)) === crcHex(parseCrc(own.crc)!));
  } catch (err) {
    if (err instanceof NameTakenError) throw err;
    await commitNoClobber(fs, aside, to).catch(() => commitAsCopy(fs, aside, to, new Date()).catch(() => {}));
    throw err;
  }
  const keptAs = ours ? null : await commitAsCopy(fs, aside, to, new Date());
  try {
    await commitNoClobber(fs, from, to);
  } catch (err) {
    // Ours goes back if the name is free; if it is not, the file there is the user's and ours is not needed.
    if (ours) await commitNoClobber(fs, aside, to).catch(() => removeIfPresent(fs, aside));
    throw err;
  }
  if (ours) await removeIfPresent(fs, aside);
  return keptAs;
}

/** CRC32 (8 hex digits) of a file's bytes, never following a link. */
export async function fileCrc(fs: LocalFs, file: string, signal?: AbortSignal): Promise<string> {
  const fh = await fs.open(file, OPEN.readOnly);
  try {
    let c = 0;
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    for (let pos = 0; ;) {
      if (signal?.aborted) throw signal.reason;
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return crcHex(c);
      c = crc32(buf.subarray(0, bytesRead), c);
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
