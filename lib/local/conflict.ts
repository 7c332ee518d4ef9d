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
import { commitNoClobber, NameTakenError } from "./commit";
import type { LocalFs } from "./fs";

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
  const dir = path.dirname(file);
  const aside = path.join(dir, `.putio-keep-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await fs.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const stamp = stampOf(when);
  for (let n = 1; ; n++) {
    const to = path.join(dir, keptCopyName(path.basename(file), stamp, n));
    try {
      await commitNoClobber(fs, aside, to);
      return to;
    } catch (err) {
      if (!(err instanceof NameTakenError) || n >= 1000) {
        // Still ours under the hidden name: put it back if the name is free, so nothing is hidden from the user.
        await commitNoClobber(fs, aside, file).catch(() => {});
        throw err;
      }
    }
  }
}
