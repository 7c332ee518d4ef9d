/** Pure parts of the download engine: CRC combine, names, filters, limits (fake clocks only). */
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { compileFilter } from "../lib/domains/filters";
import fc from "fast-check";
import { crc32, crc32Combine, crc32Implementation, nativeCrc32, zlibCrc32 } from "../lib/core/crc";
import { BandwidthLimiter, JobJournal, jsonSafeMsg, writePlan, inWindow, parseWindow, planSegments, Throttle } from "../lib/download";
import { Semaphore } from "../lib/core/semaphore";
import type { Clock } from "../lib/core/clock";
import { numberedName, safeJoin, sanitizeName } from "../lib/local";

function fakeClock(start = 0): Clock & { slept: number[]; t: number } {
  const c = {
    t: start,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

describe("download units", () => {
  it("crc32Combine equals the CRC of the concatenation (incl. lengths above 4 GiB)", () => {
    for (const [a, b] of [
      [0, 5],
      [7, 0],
      [1000, 12345],
      [65536, 1],
    ]) {
      const A = crypto.randomBytes(a);
      const B = crypto.randomBytes(b);
      assert.equal(crc32Combine(zlib.crc32(A), zlib.crc32(B), B.length), zlib.crc32(Buffer.concat([A, B])) >>> 0);
    }
    // Combining zero-CRC blocks is linear: combine(x, 0, n) applied twice equals once with 2n.
    const x = zlib.crc32(Buffer.from("abc"));
    const big = 5 * 1024 ** 3;
    assert.equal(crc32Combine(crc32Combine(x, 0, big), 0, big), crc32Combine(x, 0, 2 * big));
  });

  it("crc32 uses the optional native CRC whenever it is installed, and it equals zlib's for any bytes, split anywhere, from any seed", () => {
    let installed = true;
    try {
      require.resolve("@node-rs/crc32");
    } catch {
      installed = false;
    }
    if (installed) assert.equal(crc32Implementation, "native");
    const impls = [crc32, ...(nativeCrc32 ? [nativeCrc32] : [])];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (bytes, cutAt, seed) => {
        const data = Buffer.from(bytes);
        const cut = data.length === 0 ? 0 : cutAt % (data.length + 1);
        const expected = zlibCrc32(data, seed);
        for (const f of impls) {
          assert.equal(f(data, seed), expected);
          assert.equal(f(data.subarray(cut), f(data.subarray(0, cut), seed)), expected);
        }
      }),
      { numRuns: 300 },
    );
    // Large, unaligned views (the engine hashes socket reads that land anywhere in a buffer).
    const big = crypto.randomBytes(4 * 1024 * 1024 + 13);
    for (const f of impls) assert.equal(f(big.subarray(7), 0), zlibCrc32(big.subarray(7), 0));
  });

  it("sanitizeName neutralises separators, dot names, NUL, reserved device names, trailing dots/spaces", () => {
    const cases: Record<string, string> = {
      "..": "_",
      ".": "_",
      "": "_",
      "/etc/passwd": "_etc_passwd",
      "a/../../b": "a_.._.._b",
      "nul\0byte": "nul_byte",
      CON: "_CON",
      "aux.txt": "_aux.txt",
      "COM1.mkv": "_COM1.mkv",
      "name. ": "name",
      'a<b>c:d"e|f?g*h\\i': "a_b_c_d_e_f_g_h_i",
      "Movie (2020).mkv": "Movie (2020).mkv",
    };
    for (const [input, want] of Object.entries(cases)) assert.equal(sanitizeName(input), want, JSON.stringify(input));
    assert.ok(Buffer.byteLength(sanitizeName("é".repeat(300) + ".mkv")) <= 240);
    assert.ok(sanitizeName("é".repeat(300) + ".mkv").endsWith(".mkv"));
  });

  it("safeJoin stays inside the root whatever the names", () => {
    const root = path.resolve("/srv/media");
    for (const n of ["..", "../..", "/etc", "a/../../b", "..\\..\\x"]) assert.ok(safeJoin(root, n, n).startsWith(root + path.sep));
  });

  it("numberedName keeps the extension and the number within the length limit", () => {
    assert.equal(numberedName("a.mkv", 1), "a (1).mkv");
    assert.equal(numberedName("README", 2), "README (2)");
    const long = numberedName("x".repeat(240) + ".mkv", 12);
    assert.ok(long.endsWith(" (12).mkv") && Buffer.byteLength(long) <= 240);
  });

  it("planSegments: one range below the threshold, N contiguous ranges above", () => {
    assert.deepEqual(planSegments(10, 4, 100), [{ start: 0, end: 10, pos: 0 }]);
    assert.deepEqual(planSegments(0, 4, 0), [{ start: 0, end: 0, pos: 0 }]);
    const segs = planSegments(10 * 1024 * 1024 + 1, 4, 1024);
    assert.equal(segs.length, 4);
    assert.equal(segs[0].start, 0);
    assert.equal(segs[3].end, 10 * 1024 * 1024 + 1);
    for (let i = 1; i < segs.length; i++) assert.equal(segs[i].start, segs[i - 1].end);
  });

  it("filters: type, extension, glob, regex, size, dates, older than N days", () => {
    const now = Date.parse("2026-01-31T00:00:00Z");
    const f = (name: string, o: object = {}) => ({ name, size: 100, file_type: "VIDEO", created_at: "2026-01-01T00:00:00", ...o });
    assert.equal(compileFilter({ fileTypes: ["video"] }, now)(f("a.mkv")), true);
    assert.equal(compileFilter({ fileTypes: ["AUDIO"] }, now)(f("a.mkv")), false);
    assert.equal(compileFilter({ extensions: [".MKV", "srt"] }, now)(f("a.mkv")), true);
    assert.equal(compileFilter({ extensions: ["srt"] }, now)(f("a.mkv")), false);
    assert.equal(compileFilter({ nameGlob: "*S01E0?*" }, now)(f("Show.S01E02.mkv")), true);
    assert.equal(compileFilter({ nameGlob: "*S01E0?*" }, now)(f("Show.S01E12.mkv")), false);
    assert.equal(compileFilter({ nameRegex: "^(?!sample)" }, now)(f("Sample.mkv")), false);
    assert.equal(compileFilter({ minSize: 101 }, now)(f("a")), false);
    assert.equal(compileFilter({ maxSize: 100 }, now)(f("a")), true);
    assert.equal(compileFilter({ olderThanDays: 7 }, now)(f("a")), true);
    assert.equal(compileFilter({ olderThanDays: 31 }, now)(f("a")), false);
    assert.equal(compileFilter({ createdAfter: "2026-01-02" }, now)(f("a")), false);
    assert.equal(compileFilter({ createdBefore: new Date("2026-01-02T00:00:00Z") }, now)(f("a")), true);
    assert.throws(() => compileFilter({ nameRegex: "(" }), /not a valid regular expression/);
  });

  it("time windows, also across midnight", () => {
    const w = parseWindow("23:00-07:00")!;
    assert.equal(inWindow(w, new Date(2026, 0, 1, 23, 30)), true);
    assert.equal(inWindow(w, new Date(2026, 0, 1, 6, 59)), true);
    assert.equal(inWindow(w, new Date(2026, 0, 1, 7, 0)), false);
    assert.equal(parseWindow(""), null);
    for (const wrong of ["1-7", "25:00-07:00", "01:00-24:01"])
      assert.throws(
        () => parseWindow(wrong),
        (err: any) => err.code === "input.time-window" && err.message.includes(`"${wrong}" is not a time window like 01:00-07:00`),
      );
  });

  it("bandwidth limiter: a fake clock sees sleeps that keep the average at the cap; none inside the unlimited window", async () => {
    const clock = fakeClock(new Date(2026, 0, 1, 12, 0).getTime());
    const lim = new BandwidthLimiter({ bytesPerSecond: 1000 }, clock);
    for (let i = 0; i < 50; i++) await lim.take(100);
    // 5000 bytes at 1000 B/s: about 5 s of sleeping (minus the 100-byte burst).
    const total = clock.slept.reduce((a, b) => a + b, 0);
    assert.ok(total >= 4800 && total <= 5000, String(total));
    const night = fakeClock(new Date(2026, 0, 1, 3, 0).getTime());
    const lim2 = new BandwidthLimiter({ bytesPerSecond: 1000, unlimitedWindow: "01:00-07:00" }, night);
    for (let i = 0; i < 50; i++) await lim2.take(100);
    assert.deepEqual(night.slept, []);
  });

  it("semaphore: never more holders than the limit; a raised limit admits waiters", async () => {
    const s = new Semaphore(2);
    const r1 = await s.acquire();
    await s.acquire();
    let third = false;
    const p = s.acquire().then((r) => ((third = true), r));
    await Promise.resolve();
    assert.equal(third, false);
    assert.equal(s.active, 2);
    r1();
    await p;
    assert.equal(third, true);
    s.setLimit(4);
    await s.acquire();
    assert.equal(s.active, 3);
    const ac = new AbortController();
    s.setLimit(1);
    const q = s.acquire(ac.signal);
    ac.abort(new Error("stop"));
    await assert.rejects(q, /stop/);
  });

  it("throttle lets one call through per interval", () => {
    const c = fakeClock();
    const t = new Throttle(1000, c);
    let passed = 0;
    for (let i = 0; i < 100; i++) {
      if (t.ready()) passed++;
      c.t += 50; // 100 calls over 5 s
    }
    assert.equal(passed, 5);
  });

  it("write plan: a file's write buffer is shared by its ranges; single streams get big batches", () => {
    const MiB = 1024 * 1024;
    assert.deepEqual(writePlan(1, 10 * MiB), { writes: 4, batchBytes: 2 * MiB });
    for (const ranges of [1, 2, 3, 4, 8, 16, 64]) {
      const p = writePlan(ranges, 10 * MiB);
      assert.ok(p.writes >= 1 && p.batchBytes >= 64 * 1024 && p.batchBytes % (64 * 1024) === 0);
      if (p.batchBytes > 64 * 1024) assert.ok(ranges * (p.writes + 1) * p.batchBytes <= 10 * MiB, `ranges ${ranges}`);
    }
  });

  it("job journal: survives a new instance, two instances writing at once do not collide, a closed one writes nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-journal-"));
    const file = path.join(dir, "sub", "download-x.json");
    try {
      const a = new JobJournal(file);
      assert.deepEqual(await a.pending(), []);
      await a.put("m1", { msg: { payload: 1 }, since: 5 });
      const b = new JobJournal(file);
      assert.deepEqual(await b.pending(), [["m1", { msg: { payload: 1 }, since: 5 }]]);
      // The closing and the starting instance of a node writing at the same moment.
      await Promise.all([a.put("m2", { msg: { payload: 2 }, since: 6 }), b.put("m3", { msg: { payload: 3 }, since: 7 }), a.remove("m1"), b.remove("m1")]);
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ["download-x.json"], "no temp file left");
      await a.close();
      await a.put("late", { msg: {}, since: 1 });
      const seen = JSON.parse(fs.readFileSync(file, "utf8")).jobs;
      assert.ok(!("late" in seen), "a closed journal writes nothing");
      await b.remove("m3");
      assert.equal(fs.existsSync(file), false, "an empty journal is no file");
      fs.writeFileSync(file, "{not json");
      const damaged = new JobJournal(file);
      await assert.rejects(damaged.pending(), /the file is damaged/, "a damaged file is said once (see download-journal.spec.ts)");
      assert.deepEqual(await damaged.pending(), [], "then counts as empty");
      const none = new JobJournal(null);
      await none.put("k", { msg: {}, since: 1 });
      assert.deepEqual(await none.pending(), [["k", { msg: {}, since: 1 }]], "no file: kept in memory only");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("jsonSafeMsg keeps a msg as JSON, without http-in req/res or functions; a cycle keeps id, topic and payload", () => {
    const msg: Record<string, unknown> = { _msgid: "a", topic: "t", payload: { id: 1 }, req: { socket: {} }, res: {}, fn: () => 1, keep: [1, "x"] };
    assert.deepEqual(jsonSafeMsg(msg), { _msgid: "a", topic: "t", payload: { id: 1 }, keep: [1, "x"] });
    const cyclic: Record<string, unknown> = { _msgid: "b", topic: "t", payload: 5 };
    cyclic.self = cyclic;
    assert.deepEqual(jsonSafeMsg(cyclic), { _msgid: "b", topic: "t", payload: 5 });
    assert.deepEqual(jsonSafeMsg({ _msgid: "c", payload: "x".repeat(300_000) }), { _msgid: "c", payload: "x".repeat(300_000) });
  });
});
