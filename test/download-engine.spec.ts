/** The download engine against the emulator: byte-identical results under cuts, stalls, restarts and corruption. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { PutioAbortError, PutioTransferIntegrityError } from "../lib/core/errors";
import type { DownloadLimits, EngineOptions, JobResult } from "../lib/download";
import { nodeFs, type LocalFs } from "../lib/local";
import { tree } from "./support/files";
import { useDownloadFixture } from "./support/download";
import { seeded } from "./support/random";
import type { Emulator } from "./emulator";

const MiB = 1024 * 1024;
const FAST: Partial<EngineOptions> = { stallMs: 300, backoffBaseMs: 1, backoffMaxMs: 5, checkpointMs: 20 };
/**
 * For a test that counts requests exactly and is not about stalls: under FAST's 300 ms, a busy
 * machine that does not run this process that long before a range's first byte makes the engine
 * ask for that range again (a counted retry: see the stall tests), one request more than counted.
 */
const NO_STALL: Partial<EngineOptions> = { stallMs: 60_000 };

/** After each cut the emulator takes the next offset (knobs.cutsRemaining is decremented per cut). */
function cutAtOffsets(emu: Emulator, offsets: number[], onCut?: () => void): void {
  let left = offsets.length;
  let i = 0;
  emu.knobs.cutDownloadAfterBytes = offsets[0];
  Object.defineProperty(emu.knobs, "cutsRemaining", {
    configurable: true,
    get: () => left,
    set: (v: number) => {
      left = v;
      i++;
      onCut?.();
      emu.knobs.cutDownloadAfterBytes = left > 0 ? offsets[i] : null;
    },
  });
}

describe("download engine", function () {
  this.timeout(60_000);
  const fx = useDownloadFixture({ engine: FAST, tmpPrefix: "putio-dl-" });
  const { scheduler, assertSameAsRemote, downloadRequests } = fx;
  let emu: Emulator;
  let client: PutioClient;
  let work: string;
  let target: string;
  beforeEach(() => ({ emu, client, work, target } = fx));

  const urlRequests = (id: number) => emu.requests.filter((r) => r.path === `/v2/files/${id}/url`);

  it("single stream: a small file arrives byte-identical, verified, with no temp files left", async () => {
    const f = emu.state.addFile(0, "movie.mkv", { size: 3 * MiB + 17, seed: 5 });
    const r = await scheduler({}, NO_STALL).run({ source: { fileId: f.id }, target });
    assert.equal(r.downloaded, 1);
    assert.equal(r.files[0].crc32, f.crc32);
    assert.equal(r.files[0].path, path.join(target, "movie.mkv"));
    assert.equal(r.files[0].resumed, false);
    assertSameAsRemote(r.files[0].path, f.id);
    assert.deepEqual(tree(work), ["target/movie.mkv"]);
    assert.equal(downloadRequests().length, 1);
  });

  it("segmented: N ranges into one preallocated file, byte-identical", async () => {
    const f = emu.state.addFile(0, "big.mkv", { size: 9 * MiB + 3, seed: 9 });
    const r = await scheduler({ segmentThreshold: 4 * MiB, connectionsPerFile: 4 }, NO_STALL).run({ source: { fileId: f.id }, target });
    assert.equal(r.downloaded, 1);
    assertSameAsRemote(r.files[0].path, f.id);
    assert.equal(downloadRequests().length, 4, "one request per range");
    assert.deepEqual(tree(work), ["target/big.mkv"]);
  });

  it("an empty file is downloaded and verified too", async () => {
    const f = emu.state.addFile(0, "empty.txt", Buffer.alloc(0));
    const r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.downloaded, 1);
    assert.equal(fs.statSync(path.join(target, "empty.txt")).size, 0);
  });

  for (const mode of ["single", "segmented"] as const) {
    it(`${mode}: 20 connection cuts at seeded random offsets resume with Range and end byte-identical`, async () => {
      const f = emu.state.addFile(0, "cut.bin", { size: 24 * MiB + 5, seed: 21 });
      const rnd = seeded(mode === "single" ? 1234 : 4321);
      const offsets = Array.from({ length: 20 }, () => 1 + Math.floor(rnd() * 2 * MiB));
      let cuts = 0;
      cutAtOffsets(emu, offsets, () => cuts++);
      const limits = mode === "single" ? {} : { segmentThreshold: 1 * MiB, connectionsPerFile: 4 };
      const r = await scheduler(limits).run({ source: { fileId: f.id }, target });
      assert.equal(cuts, 20, "every planned cut happened");
      assert.equal(r.downloaded, 1);
      assert.ok(r.files[0].retries >= 20, `retries ${r.files[0].retries}`);
      assert.equal(r.files[0].resumed, true);
      assertSameAsRemote(r.files[0].path, f.id);
      // Every request after a range's first is an attempt the engine counted (the 20 cuts, plus any
      // stall: with a 300 ms stall timeout a busy machine can starve a connection that long, and a
      // reconnect is then the right answer). Resumed, never restarted: each range's requests start
      // where the bytes on disk stopped, so their starts only move forward.
      const ranges = mode === "single" ? 1 : 4;
      const requests = downloadRequests();
      assert.equal(requests.length, ranges + r.files[0].retries, "one request per range plus one per counted retry");
      const startsByRangeEnd = new Map<number, number[]>();
      for (const q of requests) {
        const m = /^bytes=(\d+)-(\d+)$/.exec(q.range ?? "");
        assert.ok(m, `a ranged request: ${q.range}`);
        const end = Number(m[2]);
        startsByRangeEnd.set(end, [...(startsByRangeEnd.get(end) ?? []), Number(m[1])]);
      }
      assert.equal(startsByRangeEnd.size, ranges);
      const ends = [...startsByRangeEnd.keys()].sort((a, b) => a - b);
      assert.equal(ends[ends.length - 1], 24 * MiB + 5 - 1);
      ends.forEach((end, i) => {
        const starts = startsByRangeEnd.get(end)!;
        assert.equal(starts[0], i === 0 ? 0 : ends[i - 1]! + 1, `the range ending at ${end} starts at its first byte`);
        assert.deepEqual(
          starts,
          [...starts].sort((a, b) => a - b),
          `the range ending at ${end} never goes back: ${starts}`,
        );
        assert.ok(starts.every((st) => st <= end));
      });
      assert.deepEqual(tree(work), ["target/cut.bin"]);
    });
  }

  it("a stalled connection is dropped after the stall timeout and resumed", async () => {
    const f = emu.state.addFile(0, "stall.bin", { size: 6 * MiB, seed: 3 });
    emu.knobs.stallDownloadAfterBytes = 2 * MiB;
    emu.knobs.stallsRemaining = 2;
    const r = await scheduler({}, { stallMs: 200 }).run({ source: { fileId: f.id }, target });
    assert.equal(r.downloaded, 1);
    assert.ok(r.files[0].retries >= 2);
    assertSameAsRemote(r.files[0].path, f.id);
  });

  it("an outage longer than the retries: failed at once without an outage wait, waited out with one, and said while it lasts", async () => {
    const f = emu.state.addFile(0, "outage.bin", Buffer.from("o".repeat(50_000)));
    // Storage answers and cuts every response at byte 0: no progress at all, 8 times in a row.
    const down = (n: number) => cutAtOffsets(emu, new Array(n).fill(0));
    down(8);
    const failed = await scheduler({}, { retries: 3 }).run({ source: { fileId: f.id }, target });
    assert.equal(failed.failed, 1, "3 retries, no outage wait: the file fails");
    assert.match(failed.errors[0]!.error.message, /4 attempts/);

    down(8);
    const seen: Array<{ attempt: number; of: number }> = [];
    const waited = await scheduler({}, { retries: 3, outageWaitMs: 60_000 }).run({
      source: { fileId: f.id },
      target,
      onProgress: (p) => p.retrying && seen.push({ attempt: p.retrying.attempt, of: p.retrying.of }),
    });
    assert.equal(waited.downloaded, 1, JSON.stringify(waited.errors.map((e) => e.error.message)));
    assertSameAsRemote(waited.files[0]!.path, f.id);
    assert.deepEqual(
      seen.map((r) => r.attempt),
      [1, 2, 3, 4, 5, 6, 7, 8],
      "every failed attempt is reported at once, also past the retries",
    );
    assert.ok(seen.every((r) => r.of === 4));

    // Limits of a redeployed node apply: the outage wait back to 0 fails again.
    const g = emu.state.addFile(0, "outage-2.bin", Buffer.from("p".repeat(50_000)));
    down(8);
    const s = scheduler({ outageWaitMs: 60_000 }, { retries: 3 });
    s.configure({ outageWaitMs: 0 });
    assert.equal((await s.run({ source: { fileId: g.id }, target })).failed, 1);
  });

  /** Start a download, wait (by state, not time) until `bytes` are saved in the sidecar, then abort like a Node-RED stop. */
  async function interrupted(fileId: number, bytes: number, limits: Partial<DownloadLimits> = {}): Promise<void> {
    const ac = new AbortController();
    const job = scheduler(limits, { stallMs: 60_000 }).run({ source: { fileId }, target, signal: ac.signal });
    const side = path.join(target, `.putio-${fileId}.part.json`);
    for (;;) {
      try {
        const st = JSON.parse(fs.readFileSync(side, "utf8"));
        const done = st.segments.reduce((n: number, s: { start: number; pos: number }) => n + s.pos - s.start, 0);
        if (done >= bytes) break;
      } catch {
        /* not written yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    ac.abort(new Error("node-red stopping"));
    await assert.rejects(job, PutioAbortError);
  }

  it("restart mid-file (single): abort leaves a resumable .part; a new engine resumes it and the result is byte-identical", async () => {
    const f = emu.state.addFile(0, "restart.mkv", { size: 8 * MiB + 11, seed: 8 });
    emu.knobs.stallDownloadAfterBytes = 3 * MiB;
    emu.knobs.stallsRemaining = 1;
    await interrupted(f.id, 2 * MiB);
    assert.deepEqual(tree(target), [`.putio-${f.id}.part`, `.putio-${f.id}.part.json`]);
    const before = downloadRequests().length;
    const r = await scheduler({}, NO_STALL).run({ source: { fileId: f.id }, target });
    // Everything received before the stop was saved (at most the 3 MiB the stalled server sent).
    assert.ok(r.files[0].resumedBytes >= 2 * MiB && r.files[0].resumedBytes <= 3 * MiB, String(r.files[0].resumedBytes));
    assert.equal(r.files[0].resumed, true);
    assert.equal(downloadRequests().length - before, 1);
    assertSameAsRemote(r.files[0].path, f.id);
    assert.deepEqual(tree(target), ["restart.mkv"]);
  });

  it("restart mid-file (segmented): every range resumes where it stopped", async () => {
    const f = emu.state.addFile(0, "seg.mkv", { size: 16 * MiB, seed: 16 });
    emu.knobs.stallDownloadAfterBytes = 1 * MiB;
    emu.knobs.stallsRemaining = 4;
    const limits = { segmentThreshold: 1 * MiB, connectionsPerFile: 4 };
    await interrupted(f.id, 2 * MiB, limits);
    const r = await scheduler(limits).run({ source: { fileId: f.id }, target });
    // Each range stalled after 1 MiB; what was received before the stop was saved.
    assert.ok(r.files[0].resumedBytes >= 2 * MiB && r.files[0].resumedBytes <= 4 * MiB, String(r.files[0].resumedBytes));
    assert.equal(r.files[0].resumed, true);
    assertSameAsRemote(r.files[0].path, f.id);
  });

  it("remote file changed between restarts (same size): the part is discarded and the download starts over", async () => {
    const f = emu.state.addFile(0, "changed.mkv", { size: 6 * MiB, seed: 1 });
    emu.knobs.stallDownloadAfterBytes = 2 * MiB;
    emu.knobs.stallsRemaining = 1;
    await interrupted(f.id, MiB);
    emu.state.replaceFileContent(f.id, { size: 6 * MiB, seed: 2 });
    const r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.files[0].resumedBytes, 0);
    assert.notEqual(r.files[0].crc32, f.crc32);
    assertSameAsRemote(r.files[0].path, f.id);
  });

  it("a corrupted body (CRC mismatch) is retried once from scratch, then fails clearly with nothing at the final path", async () => {
    const f = emu.state.addFile(0, "bad.mkv", { size: 2 * MiB, seed: 4 });
    emu.state.corruptCrc(f.id);
    const r = await scheduler({}, NO_STALL).run({ source: { fileId: f.id }, target });
    assert.equal(r.failed, 1);
    assert.equal(r.downloaded, 0);
    const err = r.errors[0].error;
    assert.ok(err instanceof PutioTransferIntegrityError, String(err));
    assert.match(err.message, /CRC32 is [0-9a-f]{8}, put\.io says [0-9a-f]{8} after 2 full downloads/);
    assert.equal(downloadRequests().length, 2, "one retry from scratch");
    assert.deepEqual(tree(work), [], "no final file, no part, no sidecar");
  });

  it("disk full: a clear error, and the temp file is removed", async () => {
    const f = emu.state.addFile(0, "full.mkv", { size: 6 * MiB, seed: 6 });
    let written = 0;
    const fullAfter = 3 * MiB;
    const failing: LocalFs = {
      ...nodeFs,
      statfs: undefined,
      open: async (p, flags) => {
        const fh = await nodeFs.open(p, flags);
        return {
          ...fh,
          read: fh.read.bind(fh),
          truncate: fh.truncate.bind(fh),
          sync: fh.sync.bind(fh),
          stat: fh.stat.bind(fh),
          close: fh.close.bind(fh),
          write: fh.write.bind(fh),
          writev: async (bufs: Buffer[], pos: number) => {
            const n = bufs.reduce((s, b) => s + b.length, 0);
            if (written + n > fullAfter) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
            written += n;
            return fh.writev(bufs, pos);
          },
        };
      },
    };
    const r = await scheduler({}, {}, failing).run({ source: { fileId: f.id }, target });
    assert.equal(r.failed, 1);
    assert.ok(r.errors[0].error instanceof PutioTransferIntegrityError);
    assert.match(r.errors[0].error.message, /ENOSPC.*disk is full.*partial file was removed/);
    assert.deepEqual(tree(work), []);
  });

  it("an expired download URL (410 from storage) is fetched again and the download resumes", async () => {
    const f = emu.state.addFile(0, "ttl.bin", { size: 4 * MiB, seed: 2 });
    emu.knobs.downloadUrlTtlMs = 1000;
    // At the first cut, move the emulator clock past the URL's lifetime.
    cutAtOffsets(emu, [MiB + 100], () => emu.state.moveClock(5000));
    const r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.downloaded, 1);
    assert.equal(urlRequests(f.id).length, 2);
    assert.ok(emu.requests.some((q) => q.path.startsWith("/download/") && q.status === 410));
    assertSameAsRemote(r.files[0].path, f.id);
  });

  it("a download route that redirects (302, relative and absolute) is followed to storage, for every range", async () => {
    const f = emu.state.addFile(0, "redirected.bin", { size: 3 * MiB + 7, seed: 31 });
    const hops: string[] = [];
    // A put.io-like route: /go/<n> → /go/<n-1> (relative) → … → the storage URL (absolute).
    const real = client.files.downloadUrl.bind(client.files);
    const server = http.createServer(async (req, res) => {
      hops.push(`${req.url} ${req.headers.range}`);
      const n = Number(req.url!.split("/")[2]);
      res.writeHead(302, { location: n > 0 ? `/go/${n - 1}` : await real(f.id) });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
    client.files.downloadUrl = async () => `${base}/go/2`;
    try {
      // Only the redirects are under test here (NO_STALL): under FAST a busy machine's pause before a
      // range's first byte makes the engine ask for that range again (the next test), and the route
      // is walked twice (18 hops).
      const r = await scheduler({ segmentThreshold: MiB, connectionsPerFile: 3 }, NO_STALL).run({ source: { fileId: f.id }, target });
      assert.equal(r.downloaded, 1, JSON.stringify(r.errors.map((e) => e.error.message)));
      assertSameAsRemote(r.files[0].path, f.id);
      assert.equal(hops.length, 9, hops.join("\n")); // 3 ranges × 3 hops
      assert.ok(
        hops.every((h) => /bytes=\d+-\d+$/.test(h)),
        "the Range header goes along",
      );

      // A redirect loop fails the file after bounded hops, with a clear reason.
      client.files.downloadUrl = async () => `${base}/go/999999`;
      const g = emu.state.addFile(0, "loop.bin", Buffer.from("x"));
      const r2 = await scheduler({}, { retries: 1 }).run({ source: { fileId: g.id }, target });
      assert.equal(r2.failed, 1);
      assert.match(r2.errors[0].error.message, /redirected more than 5 times/);
    } finally {
      client.files.downloadUrl = real;
      await new Promise((r) => server.close(r));
    }
  });

  it("a range that stalls before its first byte (here in the redirect route) is asked for again from its first byte, and the retry is counted", async () => {
    const f = emu.state.addFile(0, "slow-route.bin", { size: 3 * MiB + 7, seed: 32 });
    const hops: Array<{ hop: number; range: string }> = [];
    const held = new Set<string>();
    const real = client.files.downloadUrl.bind(client.files);
    const server = http.createServer(async (req, res) => {
      const n = Number(req.url!.split("/")[2]);
      const range = String(req.headers.range);
      hops.push({ hop: n, range });
      // The route's last hop leaves each range's first request unanswered: a stall before any byte.
      if (n === 0 && !held.has(range)) return void held.add(range);
      res.writeHead(302, { location: n > 0 ? `/go/${n - 1}` : await real(f.id) });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
    client.files.downloadUrl = async () => `${base}/go/2`;
    try {
      const r = await scheduler({ segmentThreshold: MiB, connectionsPerFile: 3 }).run({ source: { fileId: f.id }, target });
      assert.equal(r.downloaded, 1, JSON.stringify(r.errors.map((e) => e.error.message)));
      assertSameAsRemote(r.files[0].path, f.id);
      assert.equal(held.size, 3, "each range's first request stalled");
      // Each walk of the route after a range's first is a reconnect the engine counted: these three
      // stalls, and any more a busy machine adds under the 300 ms stall timeout.
      const walks = hops.filter((h) => h.hop === 2);
      assert.ok(r.files[0].retries >= 3, `retries ${r.files[0].retries}`);
      assert.equal(walks.length, 3 + r.files[0].retries, hops.map((h) => `${h.hop} ${h.range}`).join("\n"));
      // Per range: nothing had arrived, so the request after the stall asks for the same bytes from the
      // range's first byte; later ones (a busy machine) only move forward.
      const startsByEnd = new Map<number, number[]>();
      for (const w of walks) {
        const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(w.range)!.map(Number);
        startsByEnd.set(to!, [...(startsByEnd.get(to!) ?? []), from!]);
      }
      assert.equal(startsByEnd.size, 3);
      const ends = [...startsByEnd.keys()].sort((a, b) => a - b);
      ends.forEach((end, i) => {
        const starts = startsByEnd.get(end)!;
        const first = i === 0 ? 0 : ends[i - 1]! + 1;
        assert.deepEqual(starts.slice(0, 2), [first, first], `the range ending at ${end}: ${starts}`);
        assert.deepEqual(
          starts,
          [...starts].sort((a, b) => a - b),
          `the range ending at ${end} never goes back: ${starts}`,
        );
      });
    } finally {
      client.files.downloadUrl = real;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("hostile names never write outside the target folder", async () => {
    const bad = ["..", "../../evil", "/etc/passwd", "a/../../b", "nul\0byte", "CON", "name. ", "com1.txt", "a\\..\\..\\c", '<>:"|?*'];
    const folder = emu.state.addFolder(0, "..");
    for (const [i, n] of bad.entries()) emu.state.addFile(folder.id, n, Buffer.from(`file ${i}`));
    const sub = emu.state.addFolder(folder.id, "../..");
    emu.state.addFile(sub.id, "../x", Buffer.from("deep"));
    const r = await scheduler().run({ source: { folderId: folder.id }, target });
    assert.equal(r.failed, 0, JSON.stringify(r.errors.map((e) => e.error.message)));
    assert.equal(r.downloaded, bad.length + 1);
    // Everything is under target/ and nothing else appeared in the work folder.
    const all = tree(work);
    assert.ok(
      all.every((p) => p.startsWith("target/")),
      all.join("\n"),
    );
    assert.equal(all.length, bad.length + 1);
    for (const p of all)
      for (const part of p.split("/")) {
        assert.ok(part !== ".." && part !== "." && !/[\0\\<>:"|?*]/.test(part) && !/[. ]$/.test(part), `bad component ${JSON.stringify(part)}`);
        assert.ok(!/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(part), `reserved name ${part}`);
      }
    for (const f of r.files) assert.ok(f.path.startsWith(target + path.sep));
  });

  it("collisions: identical is skipped without a download; different is kept beside; overwrite replaces only the package's own earlier copy of the same put.io file", async () => {
    const f = emu.state.addFile(0, "x.mkv", { size: MiB, seed: 1 });
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, "x.mkv"), emu.state.fileBytes(f.id));
    let r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.skipped, 1);
    assert.equal(downloadRequests().length, 0);

    fs.writeFileSync(path.join(target, "x.mkv"), "local edit");
    r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.downloaded, 1);
    assert.equal(r.files[0].path, path.join(target, "x (1).mkv"));
    assert.equal(fs.readFileSync(path.join(target, "x.mkv"), "utf8"), "local edit");
    // Now "x (1).mkv" is identical: skip-identical finds it and does not download a third copy.
    r = await scheduler().run({ source: { fileId: f.id }, target });
    assert.equal(r.skipped, 1);

    // "x.mkv" is the user's (the package never wrote it): overwrite keeps it and says so.
    r = await scheduler().run({ source: { fileId: f.id }, target, ifExists: "overwrite" });
    assert.equal(r.downloaded, 0);
    assert.equal(r.files[0].path, path.join(target, "x (1).mkv"));
    assert.equal(r.files[0].kept, path.join(target, "x.mkv"));
    assert.equal(fs.readFileSync(path.join(target, "x.mkv"), "utf8"), "local edit");

    // The package's own copy of this file, put.io's bytes changed since: overwrite replaces it.
    emu.state.replaceFileContent(f.id, { size: MiB, seed: 2 });
    r = await scheduler().run({ source: { fileId: f.id }, target, ifExists: "overwrite" });
    assert.equal(r.downloaded, 1);
    assert.equal(r.files[0].path, path.join(target, "x (1).mkv"));
    assertSameAsRemote(path.join(target, "x (1).mkv"), f.id);
    assert.equal(fs.readFileSync(path.join(target, "x.mkv"), "utf8"), "local edit");

    r = await scheduler().run({ source: { fileId: f.id }, target, ifExists: "keep-both" });
    assert.equal(r.files[0].path, path.join(target, "x (2).mkv"));
  });

  it("folder mirror: walks the tree to the end of every cursor and applies filters", async () => {
    const show = emu.state.addFolder(0, "Show");
    const s1 = emu.state.addFolder(show.id, "S01");
    const old = new Date(Date.now() - 10 * 86_400_000);
    emu.state.addFile(s1.id, "e1.mkv", Buffer.from("e1"), { createdAt: old });
    emu.state.addFile(s1.id, "e1.srt", Buffer.from("sub"), { createdAt: old });
    emu.state.addFile(s1.id, "e2.mkv", Buffer.from("e2"));
    emu.state.addFile(show.id, "sample.mkv", Buffer.alloc(10), { createdAt: old });
    emu.state.addFile(show.id, "notes.txt", Buffer.from("n"), { createdAt: old });
    const r = await scheduler().run({ source: { path: "/Show" }, target, filter: { extensions: ["mkv", "srt"], nameRegex: "^(?!sample)", olderThanDays: 7 } });
    assert.equal(r.failed, 0);
    assert.deepEqual(tree(target), ["Show/S01/e1.mkv", "Show/S01/e1.srt"]);
    assert.deepEqual(r.files.map((f) => f.putioPath).sort(), ["Show/S01/e1.mkv", "Show/S01/e1.srt"]);
    // Incremental: a second run downloads nothing and skips both as identical.
    const again = await scheduler().run({
      source: { folderId: show.id },
      target,
      filter: { extensions: ["mkv", "srt"], nameRegex: "^(?!sample)", olderThanDays: 7 },
    });
    assert.equal(again.downloaded, 0);
    assert.equal(again.skipped, 2);
  });

  it("delete after download: never when a file of the job failed verification; after a verified job, only the verified files", async () => {
    const folder = emu.state.addFolder(0, "Batch");
    const good = emu.state.addFile(folder.id, "good.mkv", { size: MiB, seed: 1 });
    const bad = emu.state.addFile(folder.id, "bad.mkv", { size: MiB, seed: 2 });
    emu.state.corruptCrc(bad.id);
    let r: JobResult = await scheduler().run({ source: { folderId: folder.id }, target, deleteAfter: { skipTrash: true } });
    assert.equal(r.failed, 1);
    assert.equal(r.downloaded, 1);
    assert.deepEqual(r.deletedFileIds, []);
    assert.ok(emu.state.getFile(good.id) && emu.state.getFile(bad.id), "nothing deleted on put.io");
    assert.equal(emu.requests.filter((q) => q.path === "/v2/files/delete").length, 0);

    emu.state.replaceFileContent(bad.id, { size: MiB, seed: 3 }); // a healthy copy now
    r = await scheduler().run({ source: { folderId: folder.id }, target, deleteAfter: { skipTrash: true } });
    assert.equal(r.failed, 0);
    assert.deepEqual(r.deletedFileIds.sort(), [good.id, bad.id].sort());
    assert.equal(emu.state.getFile(good.id), undefined);
    assert.equal(emu.state.getFile(bad.id), undefined);
    assert.deepEqual(tree(target), ["Batch/bad.mkv", "Batch/good.mkv"]);
  });

  it("abort stops every range promptly and leaves resumable parts (files at once limit honoured)", async () => {
    const a = emu.state.addFile(0, "a.bin", { size: 4 * MiB, seed: 1 });
    const b = emu.state.addFile(0, "b.bin", { size: 4 * MiB, seed: 2 });
    const c = emu.state.addFile(0, "c.bin", { size: 4 * MiB, seed: 3 });
    const folder = 0;
    emu.knobs.stallDownloadAfterBytes = MiB;
    const ac = new AbortController();
    const s = scheduler({ filesAtOnce: 2 }, { stallMs: 60_000 });
    const job = s.run({ source: { folderId: folder }, target, signal: ac.signal });
    // Wait for both admitted files to have saved some bytes.
    const saved = (id: number) => {
      try {
        return JSON.parse(fs.readFileSync(path.join(target, `.putio-${id}.part.json`), "utf8")).segments[0].pos >= MiB / 2;
      } catch {
        return false;
      }
    };
    while ([a, b, c].filter((f) => saved(f.id)).length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal([a, b, c].filter((f) => fs.existsSync(path.join(target, `.putio-${f.id}.part`))).length, 2, "only 2 files at once");
    ac.abort();
    await assert.rejects(job, PutioAbortError);
    emu.knobs.stallDownloadAfterBytes = null;
    const r = await scheduler().run({ source: { folderId: folder }, target });
    assert.equal(r.downloaded, 3);
    assert.equal(r.files.filter((f) => f.resumedBytes >= MiB / 2 && f.resumedBytes <= MiB).length, 2);
    for (const f of r.files) assertSameAsRemote(f.path, f.fileId);
  });
});
