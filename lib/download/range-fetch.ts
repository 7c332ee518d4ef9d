/**
 * The read side of a range: one storage GET after another until the range is on disk, following
 * put.io's redirects, mapping storage answers to what to do next (retry, new URL, start over, one
 * stream), detecting stalls, and pausing the socket for the disk and the bandwidth cap.
 */
import type { PutioClient } from "../client";
import { PutioBaseError, PutioError } from "../core/errors";
import { linkSignals } from "../core/signals";
import { backoffDelay } from "../core/sleep";
import { t } from "../core/texts";
import { LocalWriteErrorSignal, RangesRefusedError, RemoteChangedError, RetriableError, isTransient, reasonOf } from "./engine-errors";
import type { LocalFileHandle } from "../local/fs";
import type { ProgressMeter } from "./progress";
import { RangeWriter, writePlan } from "./range-writer";
import type { Segment } from "./segments";
import { storageGet, type StorageResponse } from "./storage-get";
import type { EngineContext, RemoteFile } from "./types";

/** The storage URL of a file (or of its MP4 version), fetched once and again when storage says it expired. */
export class UrlSource {
  private current: Promise<string> | null = null;
  constructor(
    private readonly client: PutioClient,
    private readonly file: Pick<RemoteFile, "id" | "variant">,
  ) {}
  get(signal: AbortSignal): Promise<string> {
    if (!this.current) {
      const id = this.file.id;
      const p = this.file.variant === "mp4" ? this.client.media.mp4Url(id, signal) : this.client.files.downloadUrl(id, signal);
      this.current = p;
      p.catch(() => {
        if (this.current === p) this.current = null;
      });
    }
    return this.current;
  }
  /** Forget `url` (only if no other range has already replaced it). */
  async expire(url: string): Promise<void> {
    const cur = this.current;
    if (cur && (await cur.catch(() => null)) === url && this.current === cur) this.current = null;
  }
}

/**
 * How far a range's reader has received (bytes in memory on their way to disk included): a split
 * of the range must leave the reader everything it already holds. Past `received` nothing of the
 * range is held: a socket read landing later is cut at the range's end as it is then.
 */
export interface ReadPosition {
  received: number;
  /** From the latest request sent to its first body byte (what a new connection costs before it carries anything). */
  setupMs?: number;
}

/** Fetch one range to its end, reconnecting after cuts, stalls and expired URLs. */
export async function runSegment(
  ctx: EngineContext,
  fh: LocalFileHandle,
  seg: Segment,
  index: number,
  crcs: number[],
  url: UrlSource,
  file: RemoteFile,
  signal: AbortSignal,
  progress: ProgressMeter,
  onRetry: () => void,
  reading: ReadPosition = { received: seg.pos },
): Promise<void> {
  let failures = 0;
  let failingSince = 0;
  while (seg.pos < seg.end) {
    if (signal.aborted) throw signal.reason;
    const before = seg.pos;
    let href: string | null = null;
    try {
      href = await url.get(signal);
      await streamRange(ctx, fh, seg, index, crcs, href, file, signal, progress, reading);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!(err instanceof RetriableError) && !isTransient(err)) throw err;
      if (seg.pos > before) failures = 0; // progress was made: this is a new run of bad luck
      if (failures++ === 0) failingSince = ctx.clock.now();
      // Past the retries, an outage is waited out (up to outageWaitMs since the first failure).
      if (failures > ctx.options.retries && ctx.clock.now() - failingSince >= ctx.options.outageWaitMs) {
        throw new PutioBaseError(
          t("op.download", { name: file.name }),
          t("download.failed-part-kept", { name: file.name, count: failures, reason: reasonOf(err) }),
          { cause: err },
        );
      }
      onRetry();
      progress.retrying({ attempt: failures, of: ctx.options.retries + 1, failingSinceMs: failingSince, outageWaitMs: ctx.options.outageWaitMs });
      if (err instanceof RetriableError && err.expiredUrl && href) await url.expire(href);
      await ctx.clock.sleep(backoffDelay(failures - 1, ctx.options.backoffBaseMs, ctx.options.backoffMaxMs), signal);
    }
  }
}

/** One HTTP request for [seg.pos, seg.end), written batch by batch at its offset. */
async function streamRange(
  ctx: EngineContext,
  fh: LocalFileHandle,
  seg: Segment,
  index: number,
  crcs: number[],
  href: string,
  file: RemoteFile,
  outer: AbortSignal,
  progress: ProgressMeter,
  reading: ReadPosition,
): Promise<void> {
  reading.received = seg.pos;
  const requestedAt = ctx.clock.now();
  let firstByte = true;
  const stall = new AbortController();
  const link = linkSignals(outer, stall.signal, ctx.client.transport.closeSignal);
  const signal = link.signal;
  const stallMs = ctx.options.stallMs;
  // Only time spent waiting for the network counts as a stall (not a pause for the disk or the cap).
  let waitingSince = ctx.clock.now();
  let writer: RangeWriter | null = null;
  const tickMs = Math.max(10, Math.min(1000, stallMs / 4, ctx.options.checkpointMs));
  let lastTick = ctx.clock.now();
  const watchdog = setInterval(() => {
    const now = ctx.clock.now();
    // A tick that comes far too late means this process did not run (a busy machine, a paused VM):
    // bytes may be waiting in the socket unread, so that silence is ours, not the network's. Judge
    // the connection on the next tick instead.
    const late = now - lastTick > tickMs + stallMs / 2;
    lastTick = now;
    if (!late && waitingSince && now - waitingSince > stallMs)
      stall.abort(
        new RetriableError(stallMs >= 1000 ? t("storage.no-data-seconds", { seconds: Math.round(stallMs / 1000) }) : t("storage.no-data-ms", { ms: stallMs })),
      );
    else if (late && waitingSince) waitingSince = Math.max(waitingSince, now - tickMs);
    writer?.sealIfOlderThan(ctx.options.checkpointMs);
  }, tickMs);
  watchdog.unref?.();
  let res: StorageResponse | null = null;
  try {
    // put.io's download routes answer 302 to a storage host (tunnel or CDN): followed, a few hops at most.
    let at = href;
    for (let hops = 0; ; hops++) {
      try {
        res = await storageGet(at, {
          headers: { range: `bytes=${seg.pos}-${seg.end - 1}`, "user-agent": "node-red-putio" },
          signal,
          connectTimeoutMs: ctx.client.transport.connectTimeoutMs,
          proxy: ctx.client.transport.proxy,
          headersTimeoutMs: stallMs,
        });
      } catch (err) {
        if (stall.signal.aborted && !outer.aborted) throw stall.signal.reason;
        throw err;
      }
      const location = res.headers.location;
      if (![301, 302, 303, 307, 308].includes(res.statusCode) || !location) break;
      res.destroy();
      if (hops >= 5) throw new RetriableError(t("storage.too-many-redirects"));
      at = new URL(location, at).href;
    }
    const status = res.statusCode;
    if (status === 403 || status === 410) throw new RetriableError(t("storage.address-expired", { status }), true);
    if (status === 404)
      throw new PutioError(t("op.download", { name: file.name }), { status_code: 404, error_type: "NotFound", error_message: "" }, undefined, {
        detail: t("api.not-on-storage"),
      });
    if (status === 416) throw new RemoteChangedError(t("storage.range-refused", { from: seg.pos, to: seg.end - 1 }));
    if (status >= 500 || status === 429) throw new RetriableError(t("storage.status", { status }));
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers["content-range"] ?? "");
      if (!m) throw new RetriableError(t("storage.no-content-range"));
      if (m[3] !== "*" && Number(m[3]) !== file.size) throw new RemoteChangedError(t("storage.size-differs", { size: m[3]!, expected: file.size }));
      if (Number(m[1]) !== seg.pos) throw new RetriableError(t("storage.wrong-start", { from: m[1]!, expected: seg.pos }));
    } else if (status === 200) {
      const length = Number(res.headers["content-length"] ?? NaN);
      if (Number.isFinite(length) && length !== file.size) throw new RemoteChangedError(t("storage.size-differs", { size: length, expected: file.size }));
      // Storage ignored Range and sends the whole file: usable only by a range that starts at 0.
      if (seg.start !== 0) throw new RangesRefusedError(t("storage.ranges-ignored"));
      seg.pos = 0;
      crcs[index] = 0;
    } else {
      throw new RetriableError(t("storage.status", { status }));
    }

    const plan = writePlan(crcs.length, ctx.options.writeBufferBytes); // crcs: one per range of the file
    const w = (writer = new RangeWriter(fh, seg, index, crcs, progress, plan.batchBytes, plan.writes, ctx.clock));
    const body = res;
    // Two reasons to stop reading, both ours: a batch waits for the disk, or the bandwidth cap.
    let diskHold = false;
    let capHold = false;
    const hold = () => {
      body.pause();
      waitingSince = 0;
    };
    const release = () => {
      if (diskHold || capHold) return;
      waitingSince = ctx.clock.now();
      body.resume();
    };
    w.onDrained = () => {
      if (w.failed) return body.destroy(new LocalWriteErrorSignal());
      if (diskHold) {
        diskHold = false;
        release();
      }
    };
    let reachedEnd = false;
    const afterBytes = (n: number) => {
      reading.received = w.received;
      waitingSince = ctx.clock.now();
      if (firstByte && n > 0) {
        firstByte = false;
        reading.setupMs = waitingSince - requestedAt;
      }
      if (w.received >= seg.end) {
        reachedEnd = true;
        body.destroy();
        return;
      }
      if (w.failed) return body.destroy(new LocalWriteErrorSignal());
      if (w.full && !diskHold) {
        diskHold = true;
        hold();
      }
      const wait = ctx.limiter.charge(n);
      if (wait > 0 && !capHold) {
        capHold = true;
        hold();
        ctx.clock.sleep(wait, signal).then(
          () => {
            capHold = false;
            release();
          },
          () => {}, // aborted: the body rejects through the signal
        );
      }
    };
    const done = body.readBody({
      write(chunk) {
        const room = seg.end - w.received;
        const take = chunk.length > room ? chunk.subarray(0, room) : chunk; // never write into the next range
        if (take.length) w.add(take);
        afterBytes(take.length);
      },
      claim: () => w.claim(seg.end - w.received),
      landed(n) {
        const take = Math.min(n, seg.end - w.received); // never write into the next range
        if (take) w.landed(take);
        afterBytes(take);
      },
    });
    let bodyError: unknown = null;
    await done.catch((err) => (bodyError = err));
    await w.finish(); // throws the write failure, which outranks a network error
    if (bodyError && !reachedEnd) {
      if (stall.signal.aborted && !outer.aborted) throw stall.signal.reason;
      if (signal.aborted) throw signal.reason;
      throw new RetriableError(t("storage.connection-broke", { detail: String((bodyError as { code?: string }).code ?? (bodyError as Error).message) }));
    }
    if (seg.pos < seg.end) throw new RetriableError(t("storage.ended-early", { pos: seg.pos }));
  } finally {
    clearInterval(watchdog);
    link.dispose();
    // Cut, stalled or aborted: the bytes already received are good (and hashed), so write them
    // too; a resume then starts exactly where the bytes stopped.
    if (writer) await writer.finish().catch(() => {});
    res?.destroy();
  }
}
