/**
 * Downloads one put.io file into a local folder so that it cannot be lost or corrupted:
 * bytes go to a hidden temp file named by the put.io id (names.ts tempPaths; state beside it),
 * never to the final name, and no link is followed at either; cut or stalled
 * connections resume with Range from what is on disk; on success size and CRC32 are verified, the
 * file is fsynced and committed under its name without replacing anything (local/commit.ts), or
 * replacing only this package's own earlier copy. Above a size threshold N ranges are fetched at
 * once with positional writes into the preallocated part file.
 *
 * This file is the order of the safety steps (claim, collision policy, fetch into the part file,
 * verify, re-check the final name, commit, record ownership), which reads best in one place; the
 * part file itself (state before temp file, resume, ranges, CRC32, commit or discard) is part.ts,
 * the range fetch and writer are range-fetch.ts and range-writer.ts.
 */
import * as path from "node:path";
import { PutioInputError, PutioTransferIntegrityError } from "../core/errors";
import { crcHex, parseCrc } from "../core/crc";
import { t, type Text } from "../core/texts";
import { MP4_STATUS } from "../core/quirks";
import { localClaims } from "../local/claims";
import { NameTakenError } from "../local/commit";
import { markOf, sameMark } from "../local/place";
import { shortPath } from "../local/folders";
import { LocalWriteError, RangesRefusedError, RemoteChangedError } from "./engine-errors";
import { lstatOrNull, removeIfPresent } from "../local/fs";
import { sanitizeName, tempPaths } from "../local/names";
import { chooseFinalPath, freeNumbered, type LocalLook } from "./collisions";
import { removeOwnLeftovers } from "./segments";
import type { EngineContext, FileJobOptions, FileResult, LocalProof, RemoteFile } from "./types";
import { fetchIntoPart, io } from "./part";

export * from "./types";
export { writePlan } from "./range-writer";

/**
 * Download one file into `dir` (which exists and is inside the target). Its final and temp places
 * are claimed first (in this process and, by lock files, in others): another download of the same
 * place waits for this one.
 */
export async function downloadFile(ctx: EngineContext, file: RemoteFile, dir: string, opts: FileJobOptions): Promise<FileResult> {
  const name = opts.localName ?? sanitizeName(file.name);
  const temp = tempPaths(dir, file.id);
  const final = path.join(dir, name);
  try {
    const release = await localClaims.claim([final, temp.part], { fs: ctx.fs, signal: opts.signal });
    try {
      return await downloadClaimed(ctx, file, dir, name, opts);
    } finally {
      await release();
    }
  } catch (err) {
    // A name the file system finds too long, wherever it shows (a look, a claim, a write): said in words.
    if ((err as NodeJS.ErrnoException)?.code === "ENAMETOOLONG")
      throw new PutioInputError(
        t("op.download", { name: shortPath(opts.putioPath, 80) }),
        t("local.path-too-long", { path: shortPath(final), length: Buffer.byteLength(final) }),
      );
    throw err;
  }
}

async function downloadClaimed(ctx: EngineContext, file: RemoteFile, dir: string, name: string, opts: FileJobOptions): Promise<FileResult> {
  const attempted = t("op.download", { name: opts.putioPath });
  const started = ctx.clock.now();
  let choice = await chooseFinalPath(ctx, dir, file, name, opts);
  const skipped = (look: LocalLook, basis: LocalProof["basis"], at: string): FileResult => ({
    status: "skipped-identical",
    fileId: file.id,
    name: file.name,
    putioPath: opts.putioPath,
    path: at,
    size: file.size,
    crc32: look.crc32 ?? file.crc32 ?? null,
    seconds: 0,
    bytesPerSecond: 0,
    resumed: false,
    resumedBytes: 0,
    retries: 0,
    ...(file.variant ? { variant: file.variant } : {}),
    ...(look.mark && look.crc32 ? { local: { ...look.mark, crc32: look.crc32, basis } } : {}),
    ...(choice.kept ? { kept: choice.kept } : {}),
  });
  try {
    // put.io gave no CRC32 and the job deletes after: our own earlier copy is proof only once the
    // bytes fetched from put.io now are the bytes on disk.
    const confirm = choice.look.kind === "identical" && choice.look.basis === "owned" && !!opts.needProof;
    if (choice.look.kind === "identical" && !confirm) {
      await removeOwnLeftovers(ctx.fs, dir, file.id).catch(() => {});
      return skipped(choice.look, choice.look.basis ?? "crc", choice.path);
    }
    const temp = tempPaths(dir, file.id);
    let remote = file;
    let integrityFailures = 0;
    let changes = 0;
    let retries = 0;
    let resumedBytes = -1;
    let resumed = false;
    let singleStream = false;
    for (;;) {
      try {
        const out = await fetchIntoPart(ctx, remote, dir, opts, attempted, singleStream);
        retries += out.retries;
        if (resumedBytes < 0) resumedBytes = out.resumedBytes;
        resumed = resumed || out.resumedBytes > 0 || out.retries > 0;
        const mismatch = verifyProblem(remote, out.size, out.crc, choice.path);
        if (mismatch) {
          await out.discard();
          if (integrityFailures++ >= ctx.options.integrityRetries) {
            throw new PutioTransferIntegrityError(attempted, t(mismatch.code, { ...mismatch.params, count: integrityFailures }));
          }
          retries++;
          remote = await currentIdentity(ctx, remote, opts.signal); // same-size changes show up only as a new crc32
          continue;
        }
        const hex = crcHex(out.crc);
        if (confirm) {
          const now = await lstatOrNull(ctx.fs, choice.path);
          if (hex === choice.look.crc32 && now && choice.look.mark && sameMark(markOf(now), choice.look.mark)) {
            await out.discard();
            return skipped(choice.look, "fetched", choice.path);
          }
          // put.io's bytes are not the ones we wrote earlier: this is a new version of the file.
          if (opts.ifExists !== "overwrite") {
            const other = await freeNumbered(ctx, dir, file, name, opts, undefined);
            await choice.release();
            choice = other;
          } else choice = { ...choice, replace: true };
        }
        try {
          await out.commit(choice.path, choice.replace ? (choice.look.mark ?? null) : null);
        } catch (err) {
          if (err instanceof NameTakenError) throw new PutioInputError(attempted, t("input.appeared-meanwhile", { path: choice.path, part: temp.part }));
          throw err;
        }
        const st = await io(ctx.fs.lstat(choice.path), choice.path);
        await ctx.ledger.record(choice.path, st, { crc32: hex, fileId: remote.id, ...(remote.variant ? { variant: remote.variant } : {}) });
        const seconds = Math.max(0.001, (ctx.clock.now() - started) / 1000);
        return {
          status: "downloaded",
          fileId: remote.id,
          name: remote.name,
          putioPath: opts.putioPath,
          path: choice.path,
          size: remote.size,
          crc32: hex,
          seconds,
          bytesPerSecond: Math.round((remote.size - Math.max(0, resumedBytes)) / seconds),
          resumed,
          resumedBytes: Math.max(0, resumedBytes),
          retries,
          ...(remote.variant ? { variant: remote.variant } : {}),
          local: { ...markOf(st), crc32: hex, basis: parseCrc(remote.crc32) !== null ? "crc" : "written" },
          ...(choice.kept ? { kept: choice.kept } : {}),
        };
      } catch (err) {
        if (err instanceof RangesRefusedError && !singleStream) {
          // Ranges are useless with this storage: one stream from byte 0 (its cuts start over).
          singleStream = true;
          retries++;
          continue;
        }
        if (err instanceof RemoteChangedError && changes++ < 2) {
          // The file on put.io changed under us: take its current identity and start over.
          remote = await currentIdentity(ctx, remote, opts.signal);
          await removeIfPresent(ctx.fs, temp.part);
          await removeIfPresent(ctx.fs, temp.state);
          retries++;
          continue;
        }
        if (err instanceof LocalWriteError) {
          await removeIfPresent(ctx.fs, temp.part).catch(() => {});
          await removeIfPresent(ctx.fs, temp.state).catch(() => {});
          throw new PutioTransferIntegrityError(attempted, localWriteText(err), { cause: err.errno });
        }
        throw err;
      }
    }
  } finally {
    await choice.release();
  }
}

/** The text of a local write failure: a full disk and a path the OS finds too long are said plainly. */
function localWriteText(err: LocalWriteError): Text {
  const code = err.errno.code;
  if (code === "ENOSPC") return t("download.disk-full", { path: err.at, detail: code });
  if (code === "ENAMETOOLONG" && typeof err.at === "string") return t("local.path-too-long", { path: shortPath(err.at), length: Buffer.byteLength(err.at) });
  return t("download.write-failed", { path: err.at, detail: String(code ?? err.message) });
}

/**
 * The file as put.io has it now (after a mismatch or a change under us). An MP4 version has no
 * file object of its own: its size comes from the conversion's status, and one that is no longer
 * ready fails the file.
 */
async function currentIdentity(ctx: EngineContext, remote: RemoteFile, signal: AbortSignal): Promise<RemoteFile> {
  if (remote.variant !== "mp4") return ctx.client.files.get(remote.id, signal);
  const status = await ctx.client.media.mp4Status(remote.id, signal);
  if (status.status !== MP4_STATUS.done || !status.size) {
    throw new PutioTransferIntegrityError(t("op.download", { name: remote.name }), t("download.mp4-gone", { name: remote.name, status: status.status }));
  }
  return { ...remote, size: status.size, crc32: null };
}

/** What a finished part got wrong (a download.*-mismatch text without its count), or null. */
function verifyProblem(file: RemoteFile, size: number, crc: number, finalPath: string): Text | null {
  if (size !== file.size) return t("download.size-mismatch", { size, expected: file.size, path: finalPath });
  const want = parseCrc(file.crc32);
  if (want !== null && want !== crc) return t("download.crc-mismatch", { crc: crcHex(crc), expected: crcHex(want), path: finalPath });
  return null;
}
