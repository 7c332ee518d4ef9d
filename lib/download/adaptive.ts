/**
 * How many connections one file uses when the user left the setting on "auto": a pure controller
 * fed (time, bytes so far, connections) samples that answers open / hold / close. It measures the
 * throughput over a short window once the count has been stable for a moment, multiplies the
 * connections (×growth) while each such step pays almost fully, then adds one at a time while an
 * addition still pays, and stops for good when one does not (going back to the count that paid).
 * Where the link filled up, it keeps one spare beyond the estimated need. A refusal by the server
 * caps it below the count refused; no connection left in the account's budget caps
 * it where it is. A count an earlier file of the account settled at (`learned`) is where the next
 * file starts: measured there, one more is tried, and the search goes on from there as usual.
 */

export interface AdaptiveSettings {
  /** Connections a file starts with. */
  initial: number;
  /** Never more than this (the per-file hard maximum). */
  max: number;
  /** After the count changed, this long passes before measuring (new connections start up). */
  settleMs: number;
  /** Throughput is measured over this long. */
  windowMs: number;
  /**
   * An addition pays when throughput rose by at least this share of what the added connections
   * would add if the link were not the limit (n0 → n1 connections: (n1 / n0 − 1) × minShare) ...
   */
  minShare: number;
  /** ... and by at least this fraction in any case (measurement noise is not a gain). */
  minGain: number;
  /** While not limited, the count is multiplied by this each step (the time spent below the link is the cost of the search). */
  growth: number;
  /** A multiplying step that paid at least this share of the linear gain is followed by another. */
  doubleShare: number;
  /** The count an earlier file settled at: start there, adding one at a time (0: none, start at `initial`). */
  learned: number;
}

export const DEFAULT_ADAPTIVE: AdaptiveSettings = {
  initial: 2,
  max: 16,
  settleMs: 50,
  windowMs: 150,
  minShare: 0.5,
  minGain: 0.05,
  growth: 4,
  doubleShare: 0.75,
  learned: 0,
};

export interface Decision {
  action: "open" | "hold" | "close";
  /** Connections wanted from now on. */
  target: number;
  /** Bytes per second measured at `connections`, when this decision followed a measurement. */
  rate?: number;
  /** The connection count the measurement was made at. */
  connections?: number;
}

type Phase = "double" | "step" | "done";

export class ConnectionController {
  private readonly s: AdaptiveSettings;
  private target: number;
  private ceiling: number;
  private phase: Phase = "double";
  /** The last measurement that paid (or the first one): what the next one is compared with. */
  private base: { n: number; rate: number } | null = null;
  private window: { n: number; since: number; from: { t: number; bytes: number } | null } | null = null;
  /** The highest rate per connection measured: what one connection carries when the link has room. */
  private bestPerConnection = 0;
  /** The account's budget, not a measurement, ended the search. */
  private budgetCapped = false;

  constructor(settings: Partial<AdaptiveSettings> = {}) {
    this.s = { ...DEFAULT_ADAPTIVE, ...settings };
    this.ceiling = Math.max(1, Math.floor(this.s.max));
    const learned = Math.floor(this.s.learned);
    if (learned >= 1) this.phase = "step";
    this.target = Math.max(1, Math.min(this.ceiling, learned >= 1 ? learned : Math.floor(this.s.initial)));
  }

  get wanted(): number {
    return this.target;
  }

  /** True once the controller will not open again (it may still close after a refusal). */
  get settled(): boolean {
    return this.phase === "done";
  }

  /**
   * The count measurements settled at (a refusal's cap included), for the account's next file; null
   * while searching, or when the account's budget stopped the search (that says nothing of the link).
   */
  get learned(): number | null {
    return this.phase === "done" && !this.budgetCapped ? this.target : null;
  }

  /** `bytes`: received so far (monotonic); `connections`: open now. */
  sample(nowMs: number, bytes: number, connections: number): Decision {
    const w = this.window;
    // Decisions are made only at the count asked for: anything else is a transition.
    if (connections !== this.target || !w || w.n !== connections) {
      this.window = connections === this.target ? { n: connections, since: nowMs, from: null } : null;
      return this.answer(connections);
    }
    if (nowMs - w.since < this.s.settleMs) return this.answer(connections);
    if (!w.from) {
      w.from = { t: nowMs, bytes };
      return this.answer(connections);
    }
    if (nowMs - w.from.t < this.s.windowMs) return this.answer(connections);
    const rate = ((bytes - w.from.bytes) * 1000) / (nowMs - w.from.t);
    this.window = null;
    if (this.phase !== "done") this.decide(connections, rate);
    return { ...this.answer(connections), rate, connections };
  }

  /**
   * The server refused a connection while `connections` were open: stay below that for good. The
   * count left is still measured against the last one that paid, so connections that do not pay
   * are not kept just because the server took them.
   */
  refused(connections: number): Decision {
    this.ceiling = Math.max(1, Math.min(this.ceiling, connections - 1));
    this.target = Math.min(this.target, this.ceiling);
    this.window = null;
    return this.answer(connections);
  }

  /** No more connections could be had (the account's budget): stay at `connections`. */
  capped(connections: number): Decision {
    this.budgetCapped = true;
    this.target = Math.max(1, Math.min(this.target, connections));
    this.phase = "done";
    this.window = null;
    return this.answer(connections);
  }

  private decide(n: number, rate: number): void {
    this.bestPerConnection = Math.max(this.bestPerConnection, rate / n);
    const base = this.base;
    if (!base || n < base.n) {
      this.base = { n, rate };
      return this.open(n);
    }
    if (n === base.n) {
      // Asked for more and did not get them: this is where it stays.
      this.phase = "done";
      return;
    }
    const gain = base.rate > 0 ? rate / base.rate - 1 : rate > 0 ? Infinity : 0;
    const linear = n / base.n - 1;
    const paid = gain >= this.s.minGain && gain >= this.s.minShare * linear;
    if (paid && (this.phase === "step" || gain >= this.s.doubleShare * linear)) {
      this.base = { n, rate };
      return this.open(n);
    }
    if (this.phase === "step") {
      // One more did not pay: back to the count that did, for good.
      this.target = base.n;
      this.phase = "done";
      return;
    }
    // A multiplying step that paid in part or not at all: the link filled up in between. The best
    // rate per connection seen says how many the measured rate needs; that count is verified by
    // measuring it and then trying one more. One more than that is kept: with exactly as many as
    // fill the link, a connection that falls behind for a moment (a pause for the disk, a busy
    // event loop) leaves the link idle, and it cannot catch up above its own cap; a spare takes
    // the share it leaves.
    const perConnection = this.bestPerConnection;
    const need = perConnection > 0 ? Math.ceil(rate / perConnection - 0.2) : base.n;
    const back = Math.max(base.n, Math.min(n, need + 1));
    this.phase = "step";
    if (back === n && paid) {
      this.base = { n, rate };
      return this.open(n);
    }
    this.target = back;
    if (back === base.n) this.phase = "done";
    else this.base = null; // measured anew at `back`, then one more is tried
  }

  private open(n: number): void {
    const next = this.phase === "double" ? n * Math.max(2, Math.floor(this.s.growth)) : n + 1;
    const capped = Math.min(this.ceiling, next);
    if (capped <= n) {
      this.target = n;
      this.phase = "done";
      return;
    }
    this.target = capped;
  }

  private answer(connections: number): Decision {
    return { action: this.target > connections ? "open" : this.target < connections ? "close" : "hold", target: this.target };
  }
}
