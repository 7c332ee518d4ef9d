/** The pure parts of the benchmark harness (bench/harness.ts): run order, figures, parsers, tool detection. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compare,
  cpuPerGiB,
  detectTools,
  GiB,
  interleave,
  MiB,
  mibPerS,
  parseProcStatCpu,
  parseStatusKb,
  parseTimeOutput,
  runsFrom,
  sideFigures,
  table,
} from "../bench/harness";
import { summarize } from "../bench/stats";

describe("bench harness", () => {
  describe("interleave", () => {
    it("alternates the sides round by round", () => {
      assert.deepEqual(
        interleave(["ours", "curl"], 3).map((r) => `${r.side}${r.run}`),
        ["ours0", "curl0", "ours1", "curl1", "ours2", "curl2"],
      );
    });

    it("runs each side exactly `runs` times and never twice in a row (property)", () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 2, maxLength: 5 }), fc.integer({ min: 1, max: 30 }), (sides, runs) => {
          const order = interleave(sides, runs);
          assert.equal(order.length, sides.length * runs);
          for (const s of sides) assert.equal(order.filter((o) => o.side === s).length, runs);
          for (let i = 1; i < order.length; i++) assert.notEqual(order[i].side, order[i - 1].side);
          // Round r holds run r of every side: a slow phase hits all sides alike.
          order.forEach((o, i) => assert.equal(o.run, Math.floor(i / sides.length)));
        }),
      );
    });

    it("refuses a run count that is not a positive integer", () => {
      for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => interleave(["a", "b"], bad), /positive integer/);
    });

    it("takes BENCH_RUNS, else 7", () => {
      assert.equal(runsFrom({}), 7);
      assert.equal(runsFrom({ BENCH_RUNS: "9" }), 9);
      assert.equal(runsFrom({ BENCH_RUNS: "nope" }), 7);
      assert.equal(runsFrom({ BENCH_RUNS: "0" }), 7);
    });
  });

  describe("median and spread", () => {
    it("odd and even counts", () => {
      assert.deepEqual(summarize([5, 1, 3]), { median: 3, min: 1, max: 5, runs: [5, 1, 3] });
      assert.equal(summarize([4, 1, 3, 2]).median, 2.5);
    });

    it("min ≤ median ≤ max, and the median does not move when one extreme run gets more extreme (property)", () => {
      fc.assert(
        fc.property(fc.array(fc.double({ min: 0.001, max: 1e4, noNaN: true }), { minLength: 3, maxLength: 40 }), (xs) => {
          const s = summarize(xs);
          assert.ok(s.min <= s.median && s.median <= s.max);
          const worse = [...xs];
          worse[xs.indexOf(s.max)] = s.max * 10;
          assert.equal(summarize(worse).median, s.median);
        }),
      );
    });
  });

  describe("CPU seconds per GiB", () => {
    it("scales user + sys − idle to one GiB", () => {
      assert.equal(cpuPerGiB({ wallS: 1, userS: 0.3, sysS: 0.2 }, GiB), 0.5);
      assert.equal(cpuPerGiB({ wallS: 1, userS: 0.3, sysS: 0.2 }, 256 * MiB), 2);
      assert.ok(Math.abs(cpuPerGiB({ wallS: 1, userS: 0.3, sysS: 0.2, idleCpuS: 0.1 }, GiB) - 0.4) < 1e-12);
    });

    it("never goes below zero and refuses zero bytes", () => {
      assert.equal(cpuPerGiB({ wallS: 1, userS: 0.01, sysS: 0, idleCpuS: 0.05 }, GiB), 0);
      assert.throws(() => cpuPerGiB({ wallS: 1, userS: 1, sysS: 0 }, 0));
    });

    it("MiB/s and the ratios of the medians", () => {
      assert.equal(mibPerS(GiB, 2), 512);
      const ours = sideFigures(
        [
          { wallS: 2, userS: 0.5, sysS: 0.5 },
          { wallS: 1, userS: 0.3, sysS: 0.3 },
          { wallS: 4, userS: 0.6, sysS: 0.6 },
        ],
        GiB,
      );
      const curl = sideFigures(
        [
          { wallS: 1, userS: 0.25, sysS: 0.25 },
          { wallS: 1, userS: 0.25, sysS: 0.25 },
          { wallS: 1, userS: 0.25, sysS: 0.25 },
        ],
        GiB,
      );
      assert.equal(ours.mibPerS.median, 512);
      assert.equal(ours.cpuSPerGiB.median, 1);
      assert.deepEqual(compare(ours, curl), { speed: 0.5, cpu: 2 });
    });
  });

  describe("parsers", () => {
    it("reads /usr/bin/time -f '%e %U %S %M' (its last line; a command's own stderr may come first)", () => {
      assert.deepEqual(parseTimeOutput("0.91 0.12 0.40 5120\n"), { wallS: 0.91, userS: 0.12, sysS: 0.4, maxRssKiB: 5120 });
      assert.deepEqual(parseTimeOutput("Command exited with non-zero status 1\n1.00 0.00 0.01 100\n").sysS, 0.01);
      assert.throws(() => parseTimeOutput("garbage"), /unexpected/);
    });

    it("reads utime + stime from /proc/<pid>/stat, even when the command name holds ') '", () => {
      const tail = "S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0";
      assert.equal(parseProcStatCpu(`1234 (node) ${tail}`), 2);
      assert.equal(parseProcStatCpu(`1234 (a) b (c) ${tail}`), 2);
      assert.throws(() => parseProcStatCpu("1234 (x) S"));
    });

    it("reads VmRSS and VmHWM from /proc/<pid>/status", () => {
      const status = "Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
      assert.equal(parseStatusKb(status, "VmRSS"), 100 * MiB);
      assert.equal(parseStatusKb(status, "VmHWM"), 200 * MiB);
      assert.throws(() => parseStatusKb("Name:\tnode\n", "VmRSS"), /no VmRSS/);
    });
  });

  describe("missing tools", () => {
    it("says which tool is missing, what for and how to get it", () => {
      const present = new Set(["/usr/bin/curl", "/usr/local/bin/aria2c"]);
      const tools = detectTools((p) => present.has(p), "/x/node22");
      const missing = tools.filter((t) => !t.found).map((t) => t.name);
      assert.deepEqual(missing, ["/usr/bin/time", "node 22 + Node-RED 5"]);
      for (const t of tools) assert.match(t.hint, /npm run setup/);
    });

    it("finds everything when everything is there", () => {
      assert.ok(detectTools(() => true, "/x/node22").every((t) => t.found));
    });
  });

  it("lays the goals table out in aligned columns", () => {
    const text = table([
      { goal: "P1", runtime: "NR4", target: "≥ 0.95×", measured: "1.00×", spread: "1–2", verdict: "met" },
      { goal: "P3 long name", runtime: "NR5", target: "< 50", measured: "", spread: "", verdict: "not run (missing curl)" },
    ]);
    const lines = text.split("\n");
    assert.equal(lines.length, 4);
    assert.equal(lines[2].indexOf("NR4"), lines[3].indexOf("NR5"));
    assert.match(lines[3], /not run \(missing curl\)$/);
  });
});
