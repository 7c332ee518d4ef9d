/**
 * Downloads one put.io file into a local folder so that it cannot be lost or corrupted:
 * bytes go to a hidden temp file named by the put.io id (names.ts tempPaths; state beside it),
 * never to the final name, and no link is followed at either; cut or stalled
 * connections resume with Range from what is on disk; on success size and CRC32 are verified, the
 * file is fsynced and renamed atomically. Above a size threshold N ranges are fetched at once with
 * positional writes into the preallocated part file.
 *
 * A little over 400 lines on purpose: the order of the safety steps (claim, policy, state before
 * temp file, verify, re-check the final name, rename) is the point of this file and reads best in
 * one place; the range fetch and writer live in range-fetch.ts and range-writer.ts.
 */
import * as path from "node:path";
import { PutioAbortError, PutioBaseError, PutioInputError, PutioTransferIntegrityError } from "../core/errors";
import { crc32Combine, crcHex, parseCrc } from "../core/crc";
import { linkSignals } from "../core/signals";
import { t, type Text } from "../core/texts";
import { MP4_STATUS } from "../core/quirks";
import { localClaims } from "../local/claims";
import { NameTakenError, commitNoClobber, commitReplacing } from "../local/commit";
import { markOf, sameMark, type FileMark } from "../local/place";
import { shortPath } from "../local/folders";
import { LocalWriteError, RangesRefusedError, RemoteChangedError } from "./engine-errors";
import { OPEN, lstatOrNull, removeIfPresent, type LocalFileHandle, type LocalFs } from "../local/fs";
import { sanitizeName, tempPaths } from "../local/names";
import { ProgressMeter } from "./progress";
import { UrlSource, runSegment } from "./range-fetch";
import { DEFAULT_ADAPTIVE } from "./adaptive";
import { runAdaptive } from "./connections";
import { chooseFinalPath, crcOfRange, freeNumbered, type LocalLook } from "./collisions";
import { doneBytes, planSegments, removeOwnLeftovers, savePartState, takePartState, type PartState } from "./segments";
import type { EngineContext, FileJobOptions, FileResult, LocalProof, RemoteFile } from "./types";

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

interface FetchedPart {
  size: number;
  crc: number;
  retries: number;
  resumedBytes: number;
  discard(): Promise<void>;
  /**
   * Move the verified temp file to its final name. `replace`: the file there now, which may be
   * replaced (this package's earlier copy); null: nothing may be there.
   */
  commit(finalPath: string, replace: (Omit<FileMark, "ctimeMs"> & { crc32?: string }) | null): Promise<void>;
}

/**
 * Open the temp file (resuming it when its state names this remote file) and fetch every missing
 * range. A new download writes its state before it creates the temp file (O_EXCL, no link
 * followed), so whatever sits at a temp path without a state of ours is someone else's.
 */
async function fetchIntoPart(
  ctx: EngineContext,
  file: RemoteFile,
  dir: string,
  opts: FileJobOptions,
  attempted: Text,
  singleStream: boolean,
): Promise<FetchedPart> {
  const fs = ctx.fs;
  const temp = tempPaths(dir, file.id);
  const partPath = temp.part;
  let state = await takePartState(fs, dir, { id: file.id, size: file.size, crc32: file.crc32 ?? null }, attempted);
  if (state && singleStream && state.segments.length > 1) {
    // Ranges were refused: only the first range's bytes are a usable prefix.
    state = { ...state, rangesRefused: true, segments: [{ start: 0, end: file.size, pos: state.segments[0]?.pos ?? 0 }] };
  }
  let fh: LocalFileHandle | null = null;
  try {
    if (state) {
      fh = await io(fs.open(partPath, OPEN.readWrite), partPath);
    } else {
      await checkFreeSpace(ctx, dir, file.size, attempted);
      const chosen = ctx.options.connectionsPerFile;
      // "auto" starts with the controller's first count; the rest come from splits as they pay.
      const connections = singleStream ? 1 : chosen === "auto" ? DEFAULT_ADAPTIVE.initial : chosen;
      state = {
        v: 2,
        fileId: file.id,
        size: file.size,
        crc32: file.crc32 ?? null,
        segments: planSegments(file.size, connections, ctx.options.segmentThreshold),
        ...(singleStream ? { rangesRefused: true } : {}),
      };
      await io(savePartState(fs, dir, state), temp.state);
      fh = await io(fs.open(partPath, OPEN.createNew, 0o644), partPath);
      // Preallocate (sparse): ranges are written in place at their offsets.
      await io(fh.truncate(file.size), partPath);
    }
  } catch (err) {
    await fh?.close().catch(() => {});
    throw err;
  }
  return fetchOpenPart(ctx, file, dir, fh, state, opts, attempted);
}

async function fetchOpenPart(
  ctx: EngineContext,
  file: RemoteFile,
  dir: string,
  fh: LocalFileHandle,
  st: PartState,
  opts: FileJobOptions,
  attempted: Text,
): Promise<FetchedPart> {
  const fs = ctx.fs;
  const temp = tempPaths(dir, file.id);
  const partPath = temp.part;
  const resumedBytes = doneBytes(st);
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await fh.close().catch(() => {});
    }
  };
  // CRC of each range so far. Resumed ranges are re-read from disk, so the CRC always covers what
  // is really in the file (a torn write before a crash shows up as a mismatch, not a bad file).
  const crcs: number[] = [];
  try {
    for (const seg of st.segments) crcs.push(seg.pos > seg.start ? await crcOfRange(fh, seg.start, seg.pos, opts.signal) : 0);
  } catch (err) {
    await close();
    if (err instanceof RemoteChangedError) {
      await removeIfPresent(fs, partPath);
      await removeIfPresent(fs, temp.state);
    }
    throw err;
  }

  const fileAbort = new AbortController();
  const link = linkSignals(opts.signal, fileAbort.signal);
  const signal = link.signal;
  const url = new UrlSource(ctx.client, file);
  const progress = new ProgressMeter(ctx, file, partPath, opts, st);
  let saving: Promise<void> = Promise.resolve();
  // Flushing data before each state save means the sidecar never claims bytes that a power cut
  // could lose, and the final fsync only has the last interval's pages left to write.
  const checkpoint = () => (saving = saving.then(() => fh.sync().then(() => savePartState(fs, dir, st))).catch(() => {}));
  const timer = setInterval(checkpoint, ctx.options.checkpointMs);
  timer.unref?.();
  let retries = 0;
  let firstError: unknown = null;
  // The ranges by index into crcs (auto connections append the ranges they split off).
  const runs = [...st.segments];
  if (ctx.options.connectionsPerFile === "auto" && !st.rangesRefused && file.size >= ctx.options.segmentThreshold) {
    firstError = (await runAdaptive(ctx, fh, st, runs, crcs, url, file, signal, progress, () => retries++)).error;
  } else {
    await Promise.all(
      runs.map((seg, i) =>
        runSegment(ctx, fh, seg, i, crcs, url, file, signal, progress, () => retries++).catch((err) => {
          firstError ??= err;
          fileAbort.abort(err); // one range failed for good: stop the others, keep their bytes
        }),
      ),
    );
  }
  clearInterval(timer);
  link.dispose();
  checkpoint();
  await saving;
  if (firstError || opts.signal.aborted) {
    await close();
    if (opts.signal.aborted) throw new PutioAbortError(attempted, opts.signal.reason);
    if (st.rangesRefused && !(firstError instanceof RangesRefusedError)) {
      // This storage cannot resume (it sends whole files): a kept part would only be a promise.
      await removeIfPresent(fs, partPath).catch(() => {});
      await removeIfPresent(fs, temp.state).catch(() => {});
      if (firstError instanceof PutioBaseError && firstError.code === "download.failed-part-kept")
        firstError = new PutioBaseError(firstError.attemptedText, t("download.failed-part-removed", firstError.params), { cause: firstError.cause });
    }
    throw firstError;
  }

  // Whole-file CRC from the per-range CRCs (crc32_combine): no second pass over a file that may be
  // many GiB on a slow NAS disk, and every range's CRC was computed from the bytes that were written.
  const ordered = runs.map((seg, i) => ({ seg, crc: crcs[i] ?? 0 })).sort((a, b) => a.seg.start - b.seg.start);
  let crc = ordered[0]?.crc ?? 0;
  for (const [i, r] of ordered.entries()) if (i > 0) crc = crc32Combine(crc, r.crc, r.seg.end - r.seg.start);
  let size: number;
  try {
    size = (await io(fh.stat(), partPath)).size;
  } catch (err) {
    await close();
    throw err;
  }
  return {
    size,
    crc,
    retries,
    resumedBytes,
    discard: async () => {
      await close();
      await removeIfPresent(fs, partPath);
      await removeIfPresent(fs, temp.state);
    },
    commit: async (finalPath, replace) => {
      try {
        await io(fh.sync(), partPath);
      } finally {
        await close();
      }
      // Something may have appeared at the final name while the bytes came (a user, another
      // program, another process): the commit never replaces it (commit.ts).
      await (replace ? commitReplacing(fs, partPath, finalPath, replace) : commitNoClobber(fs, partPath, finalPath)).catch((e: NodeJS.ErrnoException) => {
        throw e instanceof NameTakenError ? e : new LocalWriteError(e, finalPath);
      });
      await removeIfPresent(fs, temp.state).catch(() => {});
      await syncDir(fs, path.dirname(finalPath));
    },
  };
}

/** A local file-system call whose failure is a local write error (nothing to retry over the network). */
function io<T>(p: Promise<T>, at: string): Promise<T> {
  return p.catch((e: NodeJS.ErrnoException) => {
    throw new LocalWriteError(e, at);
  });
}

/** Make the rename durable (best effort: not every file system lets a folder be fsynced). */
async function syncDir(fs: LocalFs, dir: string): Promise<void> {
  try {
    const dh = await fs.open(dir, "r");
    await dh.sync().catch(() => {});
    await dh.close();
  } catch {
    /* ignore */
  }
}

async function checkFreeSpace(ctx: EngineContext, dir: string, need: number, attempted: Text): Promise<void> {
  if (!ctx.fs.statfs || need <= 0) return;
  const s = await ctx.fs.statfs(dir).catch(() => null);
  if (s && s.bavail * s.bsize < need) {
    throw new PutioTransferIntegrityError(attempted, t("download.no-space", { dir, need, free: s.bavail * s.bsize }));
  }
}
