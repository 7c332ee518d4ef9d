/**
 * The sync's steps on the local disk, all inside the target: folders checked to be real and inside
 * (made where asked), no-clobber moves, a finished download put in place, and the checks before a
 * file is touched (still as the sync left it; bytes that are put.io's, by CRC32).
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { PutioInputError } from "../core/errors";
import { crcHex, parseCrc } from "../core/crc";
import { t } from "../core/texts";
import { localClaims } from "../local/claims";
import { commitNoClobber, NameTakenError } from "../local/commit";
import { fileCrc, replaceOwnCopy } from "../local/conflict";
import { lstatOrNull, nodeFs } from "../local/fs";
import { assertInside } from "../local/names";
import type { ExpectedFile } from "./planner";

/**
 * Every folder from the target down to `dir` is a real folder (no link) inside the target;
 * `create`: missing ones are made, one level at a time.
 */
export async function checkFolders(realRoot: string, root: string, dir: string, create: boolean): Promise<void> {
  const rel = path.relative(root, dir);
  if (rel === "") return;
  assertInside(root, dir);
  let at = root;
  for (const part of rel.split(path.sep)) {
    at = path.join(at, part);
    let st = await fsp.lstat(at).catch(() => null);
    if (!st && create) {
      await fsp.mkdir(at).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "EEXIST") throw err;
      });
      st = await fsp.lstat(at);
    }
    if (!st) return; // nothing there: a move from inside it fails by itself
    if (st.isSymbolicLink() || !st.isDirectory()) throw new PutioInputError(t("op.sync-file", { path: rel }), t("sync.unsafe-folder", { path: at }));
  }
  const real = await fsp.realpath(dir);
  const r = path.relative(realRoot, real);
  if (r.startsWith("..") || path.isAbsolute(r)) throw new PutioInputError(t("op.sync-file", { path: rel }), t("sync.unsafe-folder", { path: dir }));
}

/**
 * Move inside the target, holding the destination's claim (no download of any node writes it
 * meanwhile), never over anything: what is at `from` is first renamed to a hidden name of ours
 * (a rename moves whatever is there, so a file the user saves meanwhile is never unlinked), then
 * committed no-clobber; when the destination is taken it goes back.
 */
export async function moveInside(realRoot: string, root: string, from: string, to: string, signal: AbortSignal): Promise<void> {
  assertInside(root, from);
  assertInside(root, to);
  await checkFolders(realRoot, root, path.dirname(to), true);
  const release = await localClaims.claim([to], { signal });
  try {
    const aside = path.join(path.dirname(from), `.putio-move-${process.pid}-${randomBytes(4).toString("hex")}`);
    await fsp.rename(from, aside);
    try {
      await commitNoClobber(nodeFs, aside, to);
    } catch (err) {
      await commitNoClobber(nodeFs, aside, from).catch(() => {});
      throw err instanceof NameTakenError ? changedMeanwhile(root, to) : err;
    }
  } finally {
    await release();
  }
}

/** `to` (under `root`) appeared, changed or went away while the run worked on it. */
export function changedMeanwhile(root: string, to: string): Error {
  const rel = path.relative(root, to).split(path.sep).join("/");
  return new PutioInputError(t("op.sync-file", { path: rel }), t("sync.changed-meanwhile", { path: rel }));
}

/**
 * Put a finished download at `dest`. `expect` undefined: `dest` must be free. Otherwise `dest`
 * holds the sync's earlier copy (as `expect` describes it; null: nothing known): replaced only
 * while it is still that file, checked right before (and again by the replace itself); any other
 * version there is the user's and is kept beside it as a copy, whose path is returned.
 */
export async function placeDownload(
  realRoot: string,
  root: string,
  from: string,
  dest: string,
  expect: ExpectedFile | null | undefined,
  signal: AbortSignal,
): Promise<string | null> {
  assertInside(root, dest);
  await checkFolders(realRoot, root, path.dirname(dest), true);
  const release = await localClaims.claim([dest], { signal });
  try {
    const commit = async () => {
      try {
        await commitNoClobber(nodeFs, from, dest);
      } catch (err) {
        throw err instanceof NameTakenError ? changedMeanwhile(root, dest) : err;
      }
    };
    if (expect === undefined) {
      await commit();
      return null;
    }
    const cur = await lstatOrNull(nodeFs, dest);
    if (cur && !cur.isFile()) throw changedMeanwhile(root, dest);
    try {
      return await replaceOwnCopy(nodeFs, from, dest, expect, signal);
    } catch (err) {
      throw err instanceof NameTakenError ? changedMeanwhile(root, dest) : err;
    }
  } finally {
    await release();
  }
}

/** The file at `file` is still the one the state describes (same inode, size, mtime, and ctime when recorded). */
export async function stillAsLeft(file: string, s: { ino?: number; size: number; mtimeMs: number; ctimeMs?: number }): Promise<boolean> {
  const st = await lstatOrNull(nodeFs, file);
  return (
    !!st &&
    st.isFile() &&
    (s.ino === undefined || st.ino === s.ino) &&
    st.size === s.size &&
    st.mtimeMs === s.mtimeMs &&
    (s.ctimeMs === undefined || st.ctimeMs === s.ctimeMs)
  );
}

/** The CRC32 the local bytes must have to be put.io's: put.io's own, else what the sync wrote when put.io's file kept its size. */
export function knownCrc(remote: string | null, expect: ExpectedFile | undefined, size: number): string | null {
  if (parseCrc(remote) !== null) return remote;
  return expect?.crc && expect.size === size ? expect.crc : null;
}

/** The local file has this size and this CRC32 (none known: never the same); a link never counts. */
export async function sameFile(file: string, size: number, crc: string | null, signal: AbortSignal): Promise<boolean> {
  const want = parseCrc(crc);
  if (want === null) return false;
  const st = await fsp.lstat(file);
  if (!st.isFile() || st.size !== size) return false;
  return (await fileCrc(nodeFs, file, signal)) === crcHex(want);
}

export async function removeEmptyUp(root: string, dir: string): Promise<void> {
  for (let d = dir; d !== root && path.relative(root, d) && !path.relative(root, d).startsWith(".."); d = path.dirname(d)) {
    try {
      await fsp.rmdir(d);
    } catch {
      return;
    }
  }
}
