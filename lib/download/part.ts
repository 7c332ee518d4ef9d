/**
 * The part file of one download: the hidden temp file beside its state (state written first, so
 * what sits at a temp path without a state of ours is someone else's), opened anew or resumed,
 * every missing range fetched into it (range-fetch.ts, connections.ts), its CRC32 combined from the
 * ranges' CRCs, then committed under the final name without replacing anything, or discarded.
 */
import * as path from "node:path";
import { PutioAbortError, PutioBaseError, PutioTransferIntegrityError } from "../core/errors";
import { crc32Combine } from "../core/crc";
import { linkSignals } from "../core/signals";
import { t, type Text } from "../core/texts";
import { NameTakenError, commitNoClobber, commitReplacing } from "../local/commit";
import type { FileMark } from "../local/place";
import { OPEN, removeIfPresent, type LocalFileHandle, type LocalFs } from "../local/fs";
import { tempPaths } from "../local/names";
import { DEFAULT_ADAPTIVE } from "./adaptive";
import { crcOfRange } from "./collisions";
import { runAdaptive } from "./connections";
import { LocalWriteError, RangesRefusedError, RemoteChangedError } from "./engine-errors";
import { ProgressMeter } from "./progress";
import { UrlSource, runSegment } from "./range-fetch";
import { doneBytes, planSegments, savePartState, takePartState, type PartState } from "./segments";
import type { EngineContext, FileJobOptions, RemoteFile } from "./types";

export interface FetchedPart {
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
export async function fetchIntoPart(
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
export function io<T>(p: Promise<T>, at: string): Promise<T> {
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
