/**
 * Per-account limits shared by every download (files at once is a core/semaphore.ts Semaphore
 * whose size can change on redeploy): a bandwidth cap (token bucket) with an optional unlimited time window, and a
 * throttle for progress reports. All take an injectable clock so tests never depend on time.
 */
import { wallClock, type Clock } from "../core/clock";
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";

/** "01:00-07:00" (local time; may cross midnight) → minutes [from, to); null when empty. */
export function parseWindow(text: string | null | undefined): { from: number; to: number } | null {
  if (!text || !String(text).trim()) return null;
  const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(String(text));
  const wrong = () => new PutioInputError(t("op.download-limits"), t("input.time-window", { value: String(text) }));
  if (!m) throw wrong();
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  if (from >= 24 * 60 || to > 24 * 60) throw wrong();
  return { from, to };
}

export function inWindow(window: { from: number; to: number }, date: Date): boolean {
  const m = date.getHours() * 60 + date.getMinutes();
  return window.from <= window.to ? m >= window.from && m < window.to : m >= window.from || m < window.to;
}

export interface BandwidthOptions {
  /** Bytes per second for all downloads of the account; null or 0 = unlimited. */
  bytesPerSecond: number | null;
  /** Local time window in which the cap does not apply ("01:00-07:00"). */
  unlimitedWindow?: string | null;
}

/**
 * Token bucket: each reader takes what it received and, when the bucket is in debt, sleeps until
 * the debt is paid. Sleeping stops reading, so TCP back-pressure slows the sender.
 */
export class BandwidthLimiter {
  private rate: number | null = null;
  private window: { from: number; to: number } | null = null;
  private tokens = 0;
  private last: number;

  constructor(
    opts: BandwidthOptions,
    private readonly clock: Clock = wallClock,
  ) {
    this.last = clock.now();
    this.configure(opts);
  }

  configure(opts: BandwidthOptions): void {
    this.rate = opts.bytesPerSecond && opts.bytesPerSecond > 0 ? opts.bytesPerSecond : null;
    this.window = parseWindow(opts.unlimitedWindow);
    this.tokens = 0;
    this.last = this.clock.now();
  }

  /** The cap in force now (null = unlimited). */
  currentRate(): number | null {
    if (!this.rate) return null;
    if (this.window && inWindow(this.window, new Date(this.clock.now()))) return null;
    return this.rate;
  }

  /** Counts `bytes` as received; returns how long (ms) the reader should now wait (0 = go on). */
  charge(bytes: number): number {
    const rate = this.currentRate();
    if (!rate) return 0;
    const now = this.clock.now();
    // A burst of at most 1/10 s keeps the rate smooth without starving small reads.
    this.tokens = Math.min(rate / 10, this.tokens + ((now - this.last) / 1000) * rate);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens < 0 ? (-this.tokens / rate) * 1000 : 0;
  }

  /**
   * The same limiter, also telling `count` every byte charged (a file's own meter). The view only
   * charges: configure the limiter itself.
   */
  metered(count: (bytes: number) => void): BandwidthLimiter {
    const view = Object.create(this) as BandwidthLimiter;
    view.charge = (bytes: number) => {
      count(bytes);
      return this.charge(bytes);
    };
    return view;
  }

  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const wait = this.charge(bytes);
    if (wait > 0) await this.clock.sleep(wait, signal);
  }
}

/** Lets a call through at most once per interval (the last value can be forced). */
export class Throttle {
  private lastAt = -Infinity;
  constructor(
    private readonly intervalMs: number,
    private readonly clock: Pick<Clock, "now"> = wallClock,
  ) {}
  ready(force = false): boolean {
    const now = this.clock.now();
    if (!force && now - this.lastAt < this.intervalMs) return false;
    this.lastAt = now;
    return true;
  }
}
