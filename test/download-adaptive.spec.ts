/**
 * Adaptive connections ("auto"): the controller alone (fast-check over a link-capped storage model)
 * and the engine against the emulator's link cap, per-connection cap and connection limit.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { PutioAbortError } from "../lib/core/errors";
import { ConnectionController, DEFAULT_ADAPTIVE, type Decision } from "../lib/download/adaptive";
import { BandwidthLimiter } from "../lib/download/limiter";
import { Semaphore } from "../lib/core/semaphore";
import type { EngineOptions } from "../lib/download";
import { tree } from "./support/files";
import { useDownloadFixture } from "./support/download";
import type { Emulator } from "./emulator";
import { storageStats } from "./emulator/storage";

const MiB = 1024 * 1024;

interface Measured {
  n: number;
  rate: number;
  action: Decision["action"];
}

/**
 * A storage model: each connection gets at most `per` bytes/s, all together at most `link`, and
 * more than `serverMax` at once are refused. Fed to the controller every 50 ms of model time.
 */
function simulate(m: { per: number; link: number; serverMax: number; max: number; noise: number; seed: number; seconds: number; learned?: number }) {
  let s = m.seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const ctl = new ConnectionController({ max: m.max, learned: m.learned ?? 0 });
  const rate = (n: number) => Math.min(n * m.per, m.link);
  let n = 0;
  const connect = (want: number) => {
    if (want > m.serverMax) {
      n = m.serverMax;
      ctl.refused(m.serverMax + 1);
    } else n = want;
  };
  connect(ctl.wanted);
  let bytes = 0;
  const measured: Measured[] = [];
  const counts: number[] = [];
  let settledAt: number | null = null;
  for (let t = 50; t <= m.seconds * 1000; t += 50) {
    bytes += rate(n) * 0.05 * (1 + m.noise * rnd());
    const d = ctl.sample(t, bytes, n);
    if (d.rate !== undefined) measured.push({ n: d.connections!, rate: d.rate, action: d.action });
    if (d.target !== n) connect(d.target);
    counts.push(n, ctl.wanted);
    if (settledAt === null && ctl.settled && ctl.wanted === n) settledAt = t;
  }
  return { n, ctl, measured, counts, settledAt, rate: rate(n) };
}

const model = fc.record({
  per: fc.integer({ min: 1, max: 50 }).map((x) => x * MiB),
  linkPer: fc.double({ min: 0.5, max: 24, noNaN: true }),
  serverMax: fc.integer({ min: 1, max: 40 }),
  max: fc.integer({ min: 1, max: 16 }),
  noise: fc.constantFrom(0, 0.01, 0.02),
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

describe("adaptive connections: the controller (fast-check)", () => {
  it("never asks for more than its maximum, nor again for as many as the server refused", () => {
    fc.assert(
      fc.property(model, (p) => {
        const r = simulate({ ...p, link: p.per * p.linkPer, seconds: 20 });
        for (const c of r.counts) assert.ok(c >= 1 && c <= p.max && c <= p.serverMax, `count ${c}`);
      }),
      { numRuns: 300 },
    );
  });

  it("never opens when the throughput did not rise with the last connections added", () => {
    fc.assert(
      fc.property(model, (p) => {
        const r = simulate({ ...p, link: p.per * p.linkPer, seconds: 20 });
        for (let i = 1; i < r.measured.length; i++) {
          const [a, b] = [r.measured[i - 1]!, r.measured[i]!];
          if (b.n > a.n && b.action === "open") assert.ok(b.rate > a.rate, `opened after ${a.n}→${b.n} at ${a.rate}→${b.rate}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never opens on arbitrary throughput that does not grow, whatever the counts reported", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 1, max: 400 }), bytes: fc.nat(1e7), n: fc.integer({ min: 1, max: 20 }) }), { maxLength: 300 }),
        (steps) => {
          const ctl = new ConnectionController();
          let t = 0;
          let total = 0;
          let last: { n: number; rate: number } | null = null;
          for (const s of steps) {
            t += s.dt;
            total += s.bytes;
            const d = ctl.sample(t, total, s.n);
            assert.ok(d.target >= 1 && d.target <= DEFAULT_ADAPTIVE.max);
            if (d.rate === undefined) continue;
            if (last && d.connections! > last.n && d.action === "open") assert.ok(d.rate > last.rate);
            last = { n: d.connections!, rate: d.rate };
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("converges under a fixed link cap: settles within 20 s at ≥ 0.9 of what the link, the server and the maximum allow, without holding connections that do not pay", () => {
    fc.assert(
      fc.property(model, (p) => {
        const link = p.per * p.linkPer;
        const r = simulate({ ...p, link, seconds: 30 });
        assert.ok(r.settledAt !== null && r.settledAt <= 20_000, `settled at ${r.settledAt}`);
        const best = Math.min(link, p.per * Math.min(p.serverMax, p.max));
        assert.ok(r.rate >= 0.9 * best, `rate ${r.rate / MiB} of ${best / MiB} MiB/s at ${r.n}`);
        // The connections the link can use plus one spare (or the first count plus one, where that
        // already filled the link), plus what the noise of two measurements (the rate per
        // connection and the rate) can make look useful.
        const usable = Math.ceil((link / p.per) * (1 + 2 * p.noise)) + 1;
        assert.ok(r.n <= Math.max(DEFAULT_ADAPTIVE.initial + 1, usable), `${r.n} connections for ${p.linkPer} per link`);
      }),
      { numRuns: 300 },
    );
  });

  it("ramps 2 → 8 while each step pays fully, and when 16 do not pay keeps 8 plus one spare (link = 8 connections)", () => {
    const r = simulate({ per: 8 * MiB, link: 64 * MiB, serverMax: 100, max: 16, noise: 0, seed: 1, seconds: 10 });
    const counts = r.measured.map((x) => x.n);
    assert.deepEqual(counts.slice(0, 5), [2, 8, 16, 9, 10]);
    assert.ok(counts.slice(5).every((n) => n === 9));
    assert.equal(r.n, 9);
    assert.ok(r.ctl.settled);
  });

  it("starts where an earlier file settled: measures there, tries one more, keeps the count that paid", () => {
    const r = simulate({ per: 8 * MiB, link: 64 * MiB, serverMax: 100, max: 16, noise: 0, seed: 1, seconds: 10, learned: 9 });
    assert.deepEqual(
      r.measured.slice(0, 3).map((x) => x.n),
      [9, 10, 9],
    );
    assert.equal(r.n, 9);
    assert.equal(r.ctl.learned, 9);
    // Where the link has grown since, the search goes on one at a time.
    const wider = simulate({ per: 8 * MiB, link: 96 * MiB, serverMax: 100, max: 16, noise: 0, seed: 1, seconds: 10, learned: 9 });
    assert.ok(wider.n >= 12 && wider.n <= 13, `${wider.n} connections for 12 per link`);
    // A budget that stopped the search teaches nothing; a refusal's cap does.
    const budget = new ConnectionController({ learned: 9 });
    budget.capped(3);
    assert.equal(budget.learned, null);
    const refused = simulate({ per: 8 * MiB, link: 64 * MiB, serverMax: 3, max: 16, noise: 0, seed: 1, seconds: 10 });
    assert.equal(refused.n, 3);
    assert.equal(refused.ctl.learned, 3);
  });

  it("from any learned start: settles within 0.1 of what is possible, half a connection's share, or where one more would not pay by its rule; above the start only with connections that paid", () => {
    fc.assert(
      fc.property(model, fc.integer({ min: 1, max: 16 }), (p, learned) => {
        const link = p.per * p.linkPer;
        const r = simulate({ ...p, link, seconds: 30, learned });
        assert.ok(r.settledAt !== null && r.settledAt <= 20_000, `settled at ${r.settledAt}`);
        const best = Math.min(link, p.per * Math.min(p.serverMax, p.max));
        // One connection more is kept when it adds half its share: from a start of 1 or 2, what is
        // left may be up to that half share (on the first search, the ×4 steps get past it).
        const missing = best - r.rate;
        // Or it stopped where its own rule says the next connection does not pay: a gain under
        // max(minGain, minShare / n) of the rate as measured, and each window is measured within
        // ±noise, so the true gain can be up to 2 × noise more (13 of 14.4̅ MiB/s: 14 would add
        // 7.7 %, measured as low as 3.7 %; npm test loop runs found it, seeds -1383524818 and others).
        const cap = Math.min(p.serverMax, p.max);
        const next = r.n < cap ? Math.min((r.n + 1) * p.per, link) - r.rate : 0;
        // The rule's numbers as written here, not read from the controller: a change there must fail this.
        const unpaid = next <= (Math.max(0.05, 0.5 / r.n) + 2 * p.noise) * r.rate;
        assert.ok(missing <= Math.max(0.1 * best, 0.5 * p.per * (1 + 2 * p.noise)) || unpaid, `rate ${r.rate / MiB} of ${best / MiB} MiB/s at ${r.n}`);
        const usable = Math.ceil((link / p.per) * (1 + 2 * p.noise)) + 1;
        assert.ok(r.n <= Math.max(learned, usable), `${r.n} connections from ${learned} for ${p.linkPer} per link`);
        assert.equal(r.ctl.learned, r.n);
      }),
      { numRuns: 300 },
    );
  });

  it("a connection refused, or none left in the budget, caps the count for good", () => {
    const ctl = new ConnectionController({ initial: 4 });
    assert.deepEqual(ctl.refused(4), { action: "close", target: 3 });
    // Throughput that keeps rising would ask for more, but never for 4 again.
    for (let t = 0; t < 5000; t += 50) assert.ok(ctl.sample(t, t * t * 1e3, 3).target <= 3);
    assert.equal(ctl.settled, true);
    const c2 = new ConnectionController();
    c2.capped(1);
    assert.equal(c2.wanted, 1);
  });
});

describe("adaptive connections: limiter pieces", () => {
  it("Semaphore.tryAcquire takes a place only when one is free, and a release frees it once", () => {
    const s = new Semaphore(2);
    const a = s.tryAcquire()!;
    const b = s.tryAcquire()!;
    assert.equal(s.tryAcquire(), null);
    a();
    a();
    assert.equal(s.active, 1);
    assert.ok(s.tryAcquire());
    b();
  });

  it("a metered view counts every byte charged and charges the limiter itself", () => {
    const clock = { now: () => 0, sleep: async () => {} };
    const l = new BandwidthLimiter({ bytesPerSecond: 1000 }, clock);
    let counted = 0;
    const view = l.metered((n) => (counted += n));
    assert.ok(view.charge(500) > 0);
    assert.equal(counted, 500);
    // The debt is the limiter's: the limiter itself now waits for the view's bytes.
    assert.ok(l.charge(0) > 0);
    assert.equal(view.currentRate(), 1000);
  });
});

describe("adaptive connections: the engine against the emulator @slow", function () {
  this.timeout(120_000);
  const ENGINE: Partial<EngineOptions> = { stallMs: 5_000, backoffBaseMs: 5, backoffMaxMs: 50, checkpointMs: 50, writeBufferBytes: 2 * MiB };
  const fx = useDownloadFixture({ engine: ENGINE, limits: { segmentThreshold: 16 * MiB }, tmpPrefix: "putio-adaptive-" });
  const { scheduler, assertSameAsRemote } = fx;
  let emu: Emulator;
  let work: string;
  let target: string;
  beforeEach(() => ({ emu, work, target } = fx));

  it("auto under a link cap with a per-connection cap of 1/8: opens more than it started with, finishes verified with no temp files left", async () => {
    const f = emu.state.addFile(0, "big.mkv", { size: 48 * MiB + 12_345, seed: 3 });
    emu.knobs.storageLinkBytesPerSec = 16 * MiB;
    emu.knobs.bandwidthPerConnection = 2 * MiB;
    const stats = storageStats(emu.knobs);
    const r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.downloaded, 1);
    assertSameAsRemote(r.files[0].path, f.id);
    assert.deepEqual(tree(work), ["target/big.mkv"]);
    // Verified on the first pass: no split ever let two readers write the same bytes.
    assert.equal(r.files[0].retries, 0);
    assert.ok(stats.peak > DEFAULT_ADAPTIVE.initial, `peak ${stats.peak} connections`);
    assert.ok(stats.peak <= 16);
    assert.equal(stats.refused, 0);
  });

  it("a number keeps today's fixed count: exactly that many ranges, no more", async () => {
    const f = emu.state.addFile(0, "fixed.mkv", { size: 24 * MiB, seed: 4 });
    emu.knobs.storageLinkBytesPerSec = 32 * MiB;
    emu.knobs.bandwidthPerConnection = 4 * MiB;
    const stats = storageStats(emu.knobs);
    const r = await scheduler({ connectionsPerFile: 3 }).run({ source: { fileId: f.id }, target });
    assertSameAsRemote(r.files[0].path, f.id);
    assert.equal(stats.peak, 3);
    assert.equal(emu.requests.filter((q) => q.path.startsWith("/download/")).length, 3);
  });

  it("storage that takes 2 connections: the refusals stop after the probe and the file is verified", async () => {
    const f = emu.state.addFile(0, "two.mkv", { size: 24 * MiB + 7, seed: 5 });
    emu.knobs.storageLinkBytesPerSec = 16 * MiB;
    emu.knobs.bandwidthPerConnection = 2 * MiB;
    emu.knobs.storageMaxConnections = 2;
    const stats = storageStats(emu.knobs);
    const r = await scheduler().run({ source: { fileId: f.id }, target });
    assertSameAsRemote(r.files[0].path, f.id);
    assert.ok(stats.peak <= 2);
    // Only the first step up is refused (each connection it added beyond 2); then the engine stays at what works.
    const probe = DEFAULT_ADAPTIVE.initial * DEFAULT_ADAPTIVE.growth - 2;
    assert.ok(stats.refused >= 1 && stats.refused <= probe, `refused ${stats.refused}`);
  });

  it("an account's next file starts at the count the first settled: storage that takes 2 refuses it at most once", async () => {
    emu.knobs.storageLinkBytesPerSec = 16 * MiB;
    emu.knobs.bandwidthPerConnection = 2 * MiB;
    emu.knobs.storageMaxConnections = 2;
    const stats = storageStats(emu.knobs);
    const s = scheduler();
    const first = emu.state.addFile(0, "first.mkv", { size: 24 * MiB + 7, seed: 7 });
    const r1 = await s.run({ source: { fileId: first.id }, target });
    assertSameAsRemote(r1.files[0].path, first.id);
    const refusedFirst = stats.refused;
    assert.ok(refusedFirst >= 2, `the first file's probe was refused ${refusedFirst} times`);
    stats.refused = 0;
    stats.peak = 0;
    const next = emu.state.addFile(0, "next.mkv", { size: 24 * MiB + 11, seed: 8 });
    const r2 = await s.run({ source: { fileId: next.id }, target });
    assertSameAsRemote(r2.files[0].path, next.id);
    assert.equal(stats.peak, 2, "started with the 2 the first file settled at");
    assert.ok(stats.refused <= 1, `refused ${stats.refused}`);
  });

  it("cut connections and an abort mid-way: the resume state stays whole and the second run ends byte-identical", async () => {
    const f = emu.state.addFile(0, "cut.mkv", { size: 40 * MiB + 99, seed: 6 });
    emu.knobs.storageLinkBytesPerSec = 16 * MiB;
    emu.knobs.bandwidthPerConnection = 2 * MiB;
    emu.knobs.cutDownloadAfterBytes = 3 * MiB + 5;
    emu.knobs.cutsRemaining = 6;
    const ac = new AbortController();
    const job = scheduler().run({ source: { fileId: f.id }, target, signal: ac.signal });
    const side = path.join(target, `.putio-${f.id}.part.json`);
    type Saved = { segments: Array<{ start: number; end: number; pos: number }> };
    let st: Saved | null = null;
    // Wait (by state, not time) for a saved state with split ranges and 16 MiB on disk.
    for (;;) {
      try {
        st = JSON.parse(fs.readFileSync(side, "utf8")) as Saved;
        const done = st.segments.reduce((n, x) => n + x.pos - x.start, 0);
        if (done >= 16 * MiB && st.segments.length > DEFAULT_ADAPTIVE.initial) break;
      } catch {
        /* not written yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    ac.abort(new Error("node-red stopping"));
    await assert.rejects(job, PutioAbortError);
    st = JSON.parse(fs.readFileSync(side, "utf8")) as Saved;
    let expect = 0;
    for (const seg of st.segments) {
      assert.equal(seg.start, expect, "ranges in file order, without gap or overlap");
      assert.ok(seg.pos >= seg.start && seg.pos <= seg.end);
      expect = seg.end;
    }
    assert.equal(expect, f.size);
    emu.knobs.cutDownloadAfterBytes = null;
    const r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.files[0].resumed, true);
    assert.ok(r.files[0].resumedBytes > 0);
    assertSameAsRemote(r.files[0].path, f.id);
    assert.deepEqual(tree(work), ["target/cut.mkv"]);
  });
});
