/**
 * Where a downloaded file lands when its name is taken: what is at a local path compared with the
 * remote file (by bytes, never by size alone), and the final path under the collision policy. The
 * rules of "the same file" and "ours" come from lib/local (places, the ownership ledger).
 */
import * as path from "node:path";
import { PutioInputError, PutioTransferIntegrityError } from "../core/errors";
import { crc32, crcHex, parseCrc } from "../core/crc";
import { t } from "../core/texts";
import { localClaims, type Release } from "../local/claims";
import { OPEN, lstatOrNull, type LocalFileHandle, type LocalStats } from "../local/fs";
import { numberedName } from "../local/names";
import type { OwnedFile } from "../local/ownership";
import { markOf, type FileMark } from "../local/place";
import { RemoteChangedError } from "./engine-errors";
import type { EngineContext, FileJobOptions, LocalProof, RemoteFile } from "./types";

const READ_CHUNK = 4 * 1024 * 1024;

/** CRC32 of [start, end) of an open file (seeds a resumed range, checks an existing local file). */
export async function crcOfRange(fh: LocalFileHandle, start: number, end: number, signal?: AbortSignal): Promise<number> {
  let crc = 0;
  const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, end - start)));
  for (let pos = start; pos < end;) {
    if (signal?.aborted) throw signal.reason;
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
    if (bytesRead === 0) throw new RemoteChangedError(t("storage.local-ended", { pos }));
    crc = crc32(buf.subarray(0, bytesRead), crc);
    pos += bytesRead;
  }
  return crc;
}

/** What is at a local path, compared with a remote file. */
export interface LocalLook {
  kind: "missing" | "identical" | "different" | "not-a-file";
  /** The file as it was looked at, and the CRC32 of its bytes when they were read. */
  mark?: FileMark;
  crc32?: string;
  /** This package's earlier copy of this very put.io file, unchanged since (ownership ledger). */
  owned?: OwnedFile | null;
  /** Why an "identical" file is the remote file's bytes (see LocalProof). */
  basis?: LocalProof["basis"];
}

/**
 * "identical" only with proof by bytes: the local bytes' CRC32 equals put.io's, or (put.io gave
 * none) the file is this package's unchanged copy of this very put.io file and its bytes still
 * have the CRC32 they were written with. A size match alone is never "identical".
 */
export async function compareLocal(ctx: EngineContext, localPath: string, file: RemoteFile, signal?: AbortSignal): Promise<LocalLook> {
  try {
    return await lookAt(ctx, localPath, file, signal);
  } catch (err) {
    // Gone between the look and the read (renamed or deleted by the user just then; a case-folding
    // FUSE share can also show a stale spelling): nothing is there now, and the commit never replaces.
    if ((err as NodeJS.ErrnoException)?.code === "ENOENT") return { kind: "missing" };
    throw err;
  }
}

async function lookAt(ctx: EngineContext, localPath: string, file: RemoteFile, signal?: AbortSignal): Promise<LocalLook> {
  const st = await lstatOrNull(ctx.fs, localPath);
  if (!st) return { kind: "missing" };
  // A link is never followed, compared or replaced: it could lead outside the target.
  if (st.isSymbolicLink()) throw new PutioInputError(t("op.download", { name: file.name }), t("input.local-symlink", { path: localPath }));
  if (!st.isFile()) return { kind: "not-a-file" };
  const mark = markOf(st);
  // A record is a claim, the bytes are the proof: inodes are reused (exFAT renumbers them at every
  // mount), so a file is ours only while its bytes still have the CRC32 they were written with.
  const rec = await ownedCopyOf(ctx, st, file);
  let hex = rec ? await localCrc(ctx, localPath, st, signal) : undefined;
  const owned = rec && hex === rec.crc32 ? rec : null;
  if (st.size !== file.size) return { kind: "different", mark, owned, ...(hex ? { crc32: hex } : {}) };
  const want = parseCrc(file.crc32);
  if (want === null && !owned) return { kind: "different", mark, owned, ...(hex ? { crc32: hex } : {}) };
  hex ??= await localCrc(ctx, localPath, st, signal);
  if (want !== null) return { kind: hex === crcHex(want) ? "identical" : "different", mark, crc32: hex, owned, basis: "crc" };
  return { kind: "identical", mark, crc32: hex, owned, basis: "owned" };
}

/** The ledger's record when the file is this package's copy of this very put.io file (and variant). */
async function ownedCopyOf(ctx: EngineContext, st: LocalStats, file: RemoteFile): Promise<OwnedFile | null> {
  const rec = await ctx.ledger.lookupStat(st);
  return rec && rec.fileId === file.id && (rec.variant ?? null) === (file.variant ?? null) ? rec : null;
}

/** CRC32 of a local file's bytes, cached by the file's identity and its marks. */
async function localCrc(ctx: EngineContext, localPath: string, st: LocalStats, signal?: AbortSignal): Promise<string> {
  const key = `${st.dev}:${st.ino}|${st.size}|${st.mtimeMs}|${st.ctimeMs}`;
  let hex = ctx.localCrcCache.get(key);
  if (hex === undefined) {
    const fh = await ctx.fs.open(localPath, OPEN.readOnly);
    try {
      hex = crcHex(await crcOfRange(fh, 0, st.size, signal));
    } finally {
      await fh.close();
    }
    ctx.localCrcCache.set(key, hex);
  }
  return hex;
}

/** Where a file goes and what is there now. */
export interface FinalChoice {
  path: string;
  look: LocalLook;
  /** Replace the file there (overwrite of this package's earlier copy of the same put.io file). */
  replace: boolean;
  /** A file that is not ours was at the planned name and is kept: its path. */
  kept?: string;
  release: Release;
}

/**
 * The final local path under the collision policy. skip-identical: identical → skip, different →
 * keep both ("name (1).ext"). overwrite: identical → skip; different → replaced only when it is
 * this package's unchanged earlier copy of the same put.io file, else both are kept (a user's
 * file, or one a case-folding share maps onto the name, is never replaced). keep-both: always a
 * new copy under a free name. A numbered name is taken only when no other download holds it and
 * no other file of the job planned it; the returned `release` frees it.
 */
export async function chooseFinalPath(ctx: EngineContext, dir: string, file: RemoteFile, name: string, opts: FileJobOptions): Promise<FinalChoice> {
  const { ifExists: policy, signal } = opts;
  const none: Release = async () => {};
  const first = path.join(dir, name);
  const look = await compareLocal(ctx, first, file, signal);
  if (look.kind === "missing") return { path: first, look, replace: false, release: none };
  if (policy !== "keep-both" && look.kind === "identical") return { path: first, look, replace: false, release: none };
  if (policy === "overwrite" && look.kind === "different" && look.owned) return { path: first, look, replace: true, release: none };
  // Overwrite replaces only our own copy, never a folder or a user's file: those get a numbered name.
  const kept = look.kind === "different" && policy === "overwrite" ? first : undefined;
  return freeNumbered(ctx, dir, file, name, opts, kept);
}

/** The first numbered name ("name (n).ext") that is free or holds this very file, claimed. */
export async function freeNumbered(
  ctx: EngineContext,
  dir: string,
  file: RemoteFile,
  name: string,
  opts: FileJobOptions,
  kept: string | undefined,
): Promise<FinalChoice> {
  const { ifExists: policy, signal } = opts;
  for (let n = 1; n < 10_000; n++) {
    const candidate = path.join(dir, numberedName(name, n));
    if (opts.reserved?.(candidate)) continue;
    const release = await localClaims.tryClaim(candidate, { fs: ctx.fs, signal });
    if (!release) continue;
    try {
      const c = await compareLocal(ctx, candidate, file, signal);
      if (c.kind === "missing") return { path: candidate, look: c, replace: false, kept, release };
      // Overwrite updates the package's own copy of this file wherever an earlier run put it.
      if (c.kind === "different" && c.owned && policy === "overwrite") return { path: candidate, look: c, replace: true, kept, release };
      if (c.kind === "identical" && policy !== "keep-both" && !(c.basis === "owned" && opts.needProof))
        return { path: candidate, look: c, replace: false, kept, release };
    } catch (err) {
      await release();
      throw err;
    }
    await release();
  }
  throw new PutioTransferIntegrityError(t("op.download", { name: file.name }), t("download.no-free-name", { name, dir }));
}
