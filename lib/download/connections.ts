/**
 * A file's ranges over as many connections as pay ("auto"): the ConnectionController (adaptive.ts)
 * says how many; ranges not yet started are taken in order, and when none is left the largest
 * running range is split (its far half becomes a new range), so every connection has work until
 * the end. A connection the controller closes, or one the server refused while others ran, gives
 * its range back (the bytes on disk stay): another connection continues it where it stopped.
 */
import { linkSignals } from "../core/signals";
import { ConnectionController, type AdaptiveSettings, type Decision } from "./adaptive";
import type { LocalFileHandle } from "../local/fs";
import type { ProgressMeter } from "./progress";
import { runSegment, type ReadPosition, type UrlSource } from "./range-fetch";
import type { PartState, Segment } from "./segments";
import type { EngineContext, RemoteFile } from "./types";

/**
 * A split leaves each side at least this much to fetch. More when a new connection is slow to start:
 * a piece is worth a new request only when the connection holding it would take longer for it than
 * a new one takes to start (see minPiece); on a LAN that is little, through TLS far away it is MiBs.
 */
const MIN_SPLIT_PIECE = 128 * 1024;
/** The smallest piece while no connection has shown its set-up time yet. */
const UNMEASURED_SPLIT_PIECE = 512 * 1024;
/** The file's throughput is taken over about this long (for the rate one connection carries). */
const RATE_WINDOW_MS = 250;
/** How often the controller is fed a sample. */
const SAMPLE_MS = 25;

/** Why a connection was stopped by us (not a failure): its range goes back to the queue. */
class GivenBack extends Error {}

interface Runner {
  index: number;
  abort: AbortController;
  /** The range's done position at the last attempt: no progress since then = refused. */
  posAtTry: number;
  /** What its reader has received: a split leaves it all of that. */
  reading: ReadPosition;
  release: () => void;
}

export interface AdaptiveRun {
  /** The first error that failed the file (null: every range is done, or the signal fired). */
  error: unknown;
  /** Most connections open at once. */
  peak: number;
}

/**
 * Fetch every range of `runs` (index = index into `crcs`; splits append to both, and the state's
 * segments are kept in file order for the resume state and the progress).
 */
export async function runAdaptive(
  ctx: EngineContext,
  fh: LocalFileHandle,
  st: PartState,
  runs: Segment[],
  crcs: number[],
  url: UrlSource,
  file: RemoteFile,
  signal: AbortSignal,
  progress: ProgressMeter,
  onRetry: () => void,
  settings: Partial<AdaptiveSettings> = {},
): Promise<AdaptiveRun> {
  const learned = ctx.learnedConnections;
  const controller = new ConnectionController({ max: ctx.options.maxConnectionsPerFile, learned: learned?.count ?? 0, ...settings });
  let received = 0;
  // Bytes are counted as they arrive (not as they reach the disk, which comes in batches).
  const fileCtx: EngineContext = { ...ctx, limiter: ctx.limiter.metered((n) => (received += n)) };
  const pending: number[] = runs.flatMap((s, i) => (s.pos < s.end ? [i] : []));
  const active = new Map<number, Runner>();
  let error: unknown = null;
  let peak = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const giveBack = (r: Runner) => {
    if (!r.abort.signal.aborted) r.abort.abort(new GivenBack());
  };
  /** Connections not being given back. */
  const live = () => [...active.values()].filter((r) => !r.abort.signal.aborted);

  /** Split the running range with the most left; the new range's index, or null. */
  const split = (): number | null => {
    let runner: Runner | null = null;
    for (const r of live()) if (!runner || left(r) > left(runner)) runner = r;
    if (!runner) return null;
    const best = runs[runner.index]!;
    // Never below what the reader has received (it stops at the new end), so the tail of a range
    // is split down to MIN_SPLIT_PIECE and every connection has work until the last bytes.
    const from = Math.max(best.pos, runner.reading.received);
    const mid = from + Math.ceil((best.end - from) / 2);
    if (best.end - mid < minPiece()) return null;
    const piece: Segment = { start: mid, end: best.end, pos: mid };
    best.end = mid;
    runs.push(piece);
    crcs.push(0);
    st.segments = [...runs].sort((a, b) => a.start - b.start);
    return runs.length - 1;
  };

  const start = (index: number, release: () => void) => {
    const r: Runner = { index, abort: new AbortController(), posAtTry: runs[index]!.pos, reading: { received: runs[index]!.pos }, release };
    active.set(index, r);
    peak = Math.max(peak, active.size);
    const seg = runs[index]!;
    const onTry = () => {
      onRetry();
      // Nothing came since the last attempt while other connections run: the server does not
      // want this one (503/429, refused, silent). Keep what works and give the range back.
      const open = live().length;
      if (open > 1 && seg.pos === r.posAtTry && !r.abort.signal.aborted) {
        const d = controller.refused(open);
        giveBack(r);
        apply(d);
      }
      r.posAtTry = seg.pos;
    };
    const link = linkSignals(signal, r.abort.signal);
    runSegment(fileCtx, fh, seg, index, crcs, url, file, link.signal, progress, onTry, r.reading)
      .finally(link.dispose)
      .then(
        () => ended(r, null),
        (err) => ended(r, r.abort.signal.reason instanceof GivenBack && !signal.aborted ? null : err),
      );
  };

  const ended = (r: Runner, err: unknown) => {
    active.delete(r.index);
    r.release();
    const seg = runs[r.index]!;
    if (err) {
      error ??= err;
      for (const other of active.values()) giveBack(other); // stop the others, keep their bytes
    } else if (seg.pos < seg.end) insertPending(r.index);
    if (!error && !signal.aborted) fill();
    if (active.size === 0) finish();
  };

  const insertPending = (index: number) => {
    const at = pending.findIndex((i) => runs[i]!.start > runs[index]!.start);
    pending.splice(at < 0 ? pending.length : at, 0, index);
  };

  const fill = () => {
    while (live().length < controller.wanted) {
      // A file's first connection is always had; more come from the account's budget (if any).
      const budget = ctx.connectionBudget;
      const release = (budget ? budget.tryAcquire() : () => {}) ?? (live().length === 0 ? () => {} : null);
      if (!release) {
        controller.capped(live().length);
        return;
      }
      const index = pending.shift() ?? split();
      if (index === null) {
        release();
        return;
      }
      start(index, release);
    }
  };

  const apply = (d: Decision) => {
    if (d.action === "open") fill();
    else if (d.action === "close") {
      // Give back the ranges with the least left: the least work waits for a free connection.
      const open = live();
      const extra = open.sort((a, b) => left(a) - left(b)).slice(0, Math.max(0, open.length - d.target));
      for (const r of extra) giveBack(r);
    }
  };
  /** Recent (time, bytes received) samples of the file, oldest first. */
  const recent: Array<{ t: number; bytes: number }> = [];
  const minPiece = (): number => {
    const open = live();
    const setups = open.flatMap((r) => (r.reading.setupMs === undefined ? [] : [r.reading.setupMs]));
    const first = recent[0];
    const last = recent[recent.length - 1];
    if (setups.length === 0 || !first || !last || last.t <= first.t) return UNMEASURED_SPLIT_PIECE;
    const perConnection = ((last.bytes - first.bytes) * 1000) / (last.t - first.t) / Math.max(1, open.length);
    // Worth it when the new request's set-up costs less than half the piece's time on the old one.
    return Math.max(MIN_SPLIT_PIECE, Math.ceil((2 * perConnection * Math.max(...setups)) / 1000));
  };
  /** Bytes of a runner's range not received yet. */
  const left = (r: Runner) => runs[r.index]!.end - Math.max(runs[r.index]!.pos, r.reading.received);

  const timer = setInterval(() => {
    if (error || signal.aborted) return;
    const now = ctx.clock.now();
    recent.push({ t: now, bytes: received });
    while (recent.length > 2 && now - recent[0]!.t > RATE_WINDOW_MS) recent.shift();
    apply(controller.sample(now, received, live().length));
    if (learned && controller.learned !== null) learned.count = controller.learned;
  }, SAMPLE_MS);
  timer.unref?.();
  try {
    fill();
    if (active.size === 0) finish();
    await finished;
  } finally {
    clearInterval(timer);
  }
  return { error, peak };
}
