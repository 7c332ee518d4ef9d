// The download scheduler's "extract archives on put.io first" and "prefer the MP4 version", against
// the emulator: what is downloaded, what is skipped, what is deleted, and the failures that must
// leave the job not done (nothing written, nothing deleted).
import * as assert from "node:assert/strict";
import fc from "fast-check";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { DownloadScheduler, type DownloadJob, type ExtractionDone, type JobResult } from "../lib/download";
import { convertToMp4AndWait, PutioExtractionError } from "../lib/media-jobs";
import { Emulator, startEmulator } from "./emulator";
import { buildRarSet, buildZip } from "./emulator/archives";
import { whileClockRuns } from "./support/emulator-clock";
import { tree } from "./support/files";

describe("download: extract first, prefer MP4", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let c: PutioClient;
  let work: string;
  let scheduler: DownloadScheduler;

  beforeEach(async () => {
    emu = await startEmulator();
    c = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    scheduler = new DownloadScheduler(c, {}, { engine: { stallMs: 2000, backoffBaseMs: 5, backoffMaxMs: 20 } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-xm-"));
  });
  afterEach(async () => {
    await scheduler.close();
    await c.close();
    await emu.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const run = (job: Omit<DownloadJob, "target"> & { target?: string }): Promise<JobResult> =>
    whileClockRuns(emu, scheduler.run({ target: work, ...job } as DownloadJob));
  const extractStarts = () => emu.requests.filter((r) => r.method === "POST" && r.path === "/v2/files/extract").length;
  /** Every file under the work folder, relative, sorted, our hidden temp files included. */
  const localFiles = () => tree(work);
  const video = (n: number) => Buffer.alloc(200_000 + n, n);

  it("a folder with a RAR set, a ZIP and an .nfo: what came out and the .nfo are downloaded, the parts skipped and left on put.io", async () => {
    const show = emu.state.addFolder(0, "Show");
    const season = emu.state.addFolder(show.id, "Season 1");
    const vols = buildRarSet("Show.S01E01", [{ name: "Show.S01E01.mkv", size: 3_000_000, seed: 4 }], { volumes: 3, digits: 2 });
    const partIds = vols.map((v) => emu.state.addFile(season.id, v.name, v.data).id);
    const zipId = emu.state.addFile(show.id, "extras.zip", buildZip([{ name: "Extras/making-of.txt", data: Buffer.from("making of") }], { deflate: true })).id;
    const nfo = emu.state.addFile(show.id, "readme.nfo", Buffer.from("info"));
    const extracted: ExtractionDone[] = [];
    const res = await run({
      source: { folderId: show.id },
      deleteAfter: { skipTrash: false },
      extract: { pollMs: 2, onExtracted: (d) => extracted.push(d) },
    });
    assert.equal(res.failed, 0, JSON.stringify(res.errors.map((e) => e.error.message)));
    assert.deepEqual(localFiles().sort(), ["Show/Extras/making-of.txt", "Show/Season 1/Show.S01E01.mkv", "Show/readme.nfo"]);
    assert.equal(fs.statSync(path.join(work, "Show/Season 1/Show.S01E01.mkv")).size, 3_000_000);
    assert.deepEqual(res.extraction!.archives.sort(), ["Show.S01E01.part01.rar", "extras.zip"]);
    assert.equal(res.extraction!.partsSkipped, 4);
    assert.equal(extracted.length, 1);
    assert.deepEqual([...extracted[0]!.partIds].sort(), [...partIds, zipId].sort());
    // Deleted: exactly the files verified on disk; the skipped parts were never on disk and stay.
    assert.equal(res.deletedFileIds.length, 3);
    assert.ok(res.deletedFileIds.includes(nfo.id));
    for (const id of [...partIds, zipId]) assert.ok(emu.state.getFile(id), `part ${id} is still on put.io`);
    assert.ok(!res.deletedFileIds.some((id) => partIds.includes(id) || id === zipId));
  });

  it("keep archives: the parts are downloaded (and then may be deleted) as well", async () => {
    const f = emu.state.addFolder(0, "Movie");
    const vols = buildRarSet("movie", [{ name: "movie.mkv", text: "the film" }], { volumes: 2, style: "old" });
    for (const v of vols) emu.state.addFile(f.id, v.name, v.data);
    const res = await run({ source: { folderId: f.id }, extract: { keepArchives: true, pollMs: 2 } });
    assert.deepEqual(localFiles().sort(), ["Movie/movie.mkv", "Movie/movie.r00", "Movie/movie.rar"]);
    assert.equal(fs.readFileSync(path.join(work, "Movie/movie.mkv"), "utf8"), "the film");
    assert.deepEqual(res.extraction, { archives: ["movie.rar"], partsSkipped: 0 });
  });

  it("an archive given as a file: what came out beside it lands in the target with its folders; a plain file is downloaded as it is", async () => {
    const inbox = emu.state.addFolder(0, "Inbox");
    const other = emu.state.addFile(inbox.id, "unrelated.mkv", video(1));
    const zip = emu.state.addFile(
      inbox.id,
      "pack.zip",
      buildZip([
        { name: "Pack/a.txt", data: Buffer.from("a") },
        { name: "b.txt", data: Buffer.from("bb") },
      ]),
    );
    const res = await run({ source: { fileId: zip.id }, extract: { pollMs: 2 } });
    assert.deepEqual(localFiles().sort(), ["Pack/a.txt", "b.txt"], "only what came out of the archive: not its neighbours, not the zip");
    assert.deepEqual(res.source, { id: zip.id, name: "pack.zip", isFolder: false });
    const plain = await run({ source: { fileId: other.id }, extract: { pollMs: 2 } });
    assert.equal(plain.downloaded, 1);
    assert.equal(plain.extraction, undefined);
    assert.equal(extractStarts(), 1, "a file that is no archive is not sent to put.io's extraction");
  });

  it("passwords: none or wrong is a catchable error with nothing written or deleted; the right one (never in a message) works", async () => {
    const secret = "s3cr3t-pass";
    const f = emu.state.addFolder(0, "Locked");
    emu.state.addFile(f.id, "locked.zip", buildZip([{ name: "film.mkv", data: Buffer.from("secret film") }], { password: secret }));
    const failsWith = async (kind: string, password?: string) => {
      await assert.rejects(run({ source: { folderId: f.id }, deleteAfter: {}, extract: { password, pollMs: 2 } }), (e: unknown) => {
        assert.ok(e instanceof PutioExtractionError, String(e));
        assert.equal(e.kind, kind);
        assert.ok(!JSON.stringify({ m: e.message, e }).includes(secret), "the password is in no error");
        return true;
      });
      assert.deepEqual(localFiles(), [], "nothing written");
      assert.ok(!emu.requests.some((r) => r.path === "/v2/files/delete"), "nothing deleted");
    };
    await failsWith("password-required");
    await failsWith("wrong-password", "guess");
    const ok = await run({ source: { folderId: f.id }, extract: { password: secret, pollMs: 2 } });
    assert.equal(ok.downloaded, 1);
    assert.equal(fs.readFileSync(path.join(work, "Locked/film.mkv"), "utf8"), "secret film");
  });

  it("an extraction that fails midway, or one with nothing the job takes, never ends as a done job", async () => {
    const f = emu.state.addFolder(0, "Broken");
    emu.state.addFile(
      f.id,
      "two.zip",
      buildZip([
        { name: "one.txt", data: Buffer.from("1") },
        { name: "two.txt", data: Buffer.from("2") },
      ]),
    );
    emu.knobs.extractFailNext = 1;
    await assert.rejects(
      run({ source: { folderId: f.id }, deleteAfter: {}, extract: { pollMs: 2 } }),
      (e: unknown) => e instanceof PutioExtractionError && e.kind === "failed",
    );
    assert.deepEqual(localFiles(), []);
    // The archive holds only a text file, and the job takes videos: nothing came out for it.
    const empty = emu.state.addFolder(0, "Empty");
    emu.state.addFile(empty.id, "nothing.zip", buildZip([{ name: "readme.txt", data: Buffer.from("no video here") }]));
    const filter = { fileTypes: ["VIDEO"] };
    await assert.rejects(run({ source: { folderId: empty.id }, filter, deleteAfter: {}, extract: { pollMs: 2 } }), (e: unknown) => {
      assert.ok(e instanceof PutioExtractionError && e.kind === "empty", String(e));
      assert.match(e.message, /nothing came out/);
      return true;
    });
    assert.deepEqual(localFiles(), []);
    assert.ok(!emu.requests.some((r) => r.path === "/v2/files/delete"));
  });

  it("a resumed job given its earlier extraction does not ask put.io to extract again; a dry run never extracts", async () => {
    const f = emu.state.addFolder(0, "Again");
    emu.state.addFile(f.id, "x.zip", buildZip([{ name: "x.mkv", data: Buffer.from("x film") }]));
    const dry = await run({ source: { folderId: f.id }, dryRun: true, extract: { pollMs: 2 } });
    assert.equal(extractStarts(), 0, "a dry run changes nothing on put.io");
    assert.deepEqual(
      dry.dryRun!.files.map((x) => x.name),
      ["x.zip"],
    );
    let done: ExtractionDone | null = null;
    // First run: extracted, then stopped before its download (an abort right after the extraction).
    const ac = new AbortController();
    await assert.rejects(
      run({
        source: { folderId: f.id },
        signal: ac.signal,
        extract: {
          pollMs: 2,
          onExtracted: (d) => {
            done = d;
            ac.abort(new Error("restart"));
          },
        },
      }),
    );
    assert.ok(done);
    assert.equal(extractStarts(), 1);
    const again = await run({ source: { folderId: f.id }, extract: { pollMs: 2, done } });
    assert.equal(extractStarts(), 1, "not extracted a second time");
    assert.equal(again.downloaded, 1);
    assert.deepEqual(localFiles(), ["Again/x.mkv"]);
    const names: string[] = [];
    for await (const x of c.files.list(f.id)) names.push(x.name);
    assert.deepEqual(names.sort(), ["x.mkv", "x.zip"], "one extracted copy on put.io, not two");
  });

  it("prefer MP4: a converted video comes as <name>.mp4 (size-verified, variant mp4); others as they are; no MP4 request for a video put.io lists without one", async () => {
    const f = emu.state.addFolder(0, "Videos");
    const converted = emu.state.addFile(f.id, "Film.mkv", video(2));
    const plain = emu.state.addFile(f.id, "Other.avi", video(3));
    const notes = emu.state.addFile(f.id, "notes.txt", Buffer.from("n"));
    const mp4 = await whileClockRuns(emu, convertToMp4AndWait(c, converted.id, { pollMs: 2, maxPollMs: 10 }));
    assert.ok(mp4.size > 0);
    const before = emu.requests.length;
    const res = await run({ source: { folderId: f.id }, preferMp4: true, deleteAfter: {} });
    assert.equal(res.failed, 0, JSON.stringify(res.errors.map((e) => e.error.message)));
    assert.deepEqual(localFiles().sort(), ["Videos/Film.mp4", "Videos/Other.avi", "Videos/notes.txt"]);
    const got = res.files.find((x) => x.fileId === converted.id)!;
    assert.equal(got.variant, "mp4");
    assert.equal(got.size, mp4.size);
    assert.equal(fs.statSync(path.join(work, "Videos/Film.mp4")).size, mp4.size);
    assert.ok(!fs.readFileSync(path.join(work, "Videos/Film.mp4")).equals(video(2)), "the MP4's bytes, not the original's");
    assert.equal(res.files.find((x) => x.fileId === plain.id)!.variant, undefined);
    const asked = emu.requests.slice(before).filter((r) => /\/v2\/files\/\d+\/mp4$/.test(r.path));
    assert.deepEqual(
      asked.map((r) => r.path),
      [`/v2/files/${converted.id}/mp4`],
      "only the converted video's MP4 status is asked",
    );
    // The delete after the job takes the original (the MP4 goes with it on put.io).
    assert.deepEqual([...res.deletedFileIds].sort(), [converted.id, plain.id, notes.id].sort());
    // A second run finds the MP4 there already (same size): skipped, not fetched again.
    const f2 = emu.state.addFolder(0, "Again");
    const v2 = emu.state.addFile(f2.id, "Clip.mkv", video(4));
    const m2 = await whileClockRuns(emu, convertToMp4AndWait(c, v2.id, { pollMs: 2, maxPollMs: 10 }));
    await run({ source: { folderId: f2.id }, preferMp4: true });
    const second = await run({ source: { folderId: f2.id }, preferMp4: true });
    assert.equal(second.skipped, 1);
    assert.equal(fs.statSync(path.join(work, "Again/Clip.mp4")).size, m2.size);
  });
});

describe("download: extract first, property", function () {
  this.timeout(600_000);
  it("for any folder of plain files, ZIPs and RAR sets: the disk gets exactly the plain files and what came out (plus the archives when kept); no archive part that is not on disk is deleted", async () => {
    const name = fc.stringMatching(/^[A-Za-z0-9 _\-()ü🎬]{1,12}$/u).filter((b) => b.trim() === b && b !== "");
    const content = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a));
    const spec = fc.record({
      plain: fc.array(fc.record({ name, data: content }), { maxLength: 3 }),
      zips: fc.array(fc.record({ name, entries: fc.array(fc.record({ name, data: content, sub: fc.boolean() }), { minLength: 1, maxLength: 3 }) }), {
        maxLength: 2,
      }),
      rars: fc.array(fc.record({ name, volumes: fc.integer({ min: 1, max: 3 }), text: fc.string({ maxLength: 20 }) }), { maxLength: 2 }),
      keep: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const emu = await startEmulator();
        const c = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
        const scheduler = new DownloadScheduler(c, {}, { engine: { stallMs: 2000, backoffBaseMs: 5, backoffMaxMs: 20 } });
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-xmp-"));
        try {
          const folder = emu.state.addFolder(0, "Job");
          const expected: Buffer[] = [];
          const partIds: number[] = [];
          const used = new Set<string>();
          const unique = (n: string) => {
            let x = n;
            for (let i = 2; used.has(x.toLowerCase()); i++) x = `${n} ${i}`;
            used.add(x.toLowerCase());
            return x;
          };
          for (const p of s.plain) {
            emu.state.addFile(folder.id, unique(p.name) + ".txt", p.data);
            expected.push(p.data);
          }
          for (const z of s.zips) {
            const entryNames = new Set<string>();
            const entries = z.entries
              .map((e, i) => ({ name: `${e.sub ? "in/" : ""}${e.name} ${i}.bin`, data: e.data }))
              .filter((e) => !entryNames.has(e.name) && entryNames.add(e.name));
            const zip = buildZip(entries);
            partIds.push(emu.state.addFile(folder.id, unique(z.name) + ".zip", zip).id);
            expected.push(...entries.map((e) => e.data));
            if (s.keep) expected.push(zip);
          }
          for (const r of s.rars) {
            const base = unique(r.name);
            const vols = buildRarSet(base, [{ name: `${base}.mkv`, text: r.text }], { volumes: r.volumes, digits: 2 });
            for (const v of vols) {
              partIds.push(emu.state.addFile(folder.id, v.name, v.data).id);
              if (s.keep) expected.push(v.data);
            }
            expected.push(Buffer.from(r.text));
          }
          // Every archive holds at least one file: the job must succeed.
          const res = await whileClockRuns(
            emu,
            scheduler.run({ source: { folderId: folder.id }, target: work, deleteAfter: {}, extract: { keepArchives: s.keep, pollMs: 2 } }),
          );
          const local = tree(work).map((f) => fs.readFileSync(path.join(work, f)));
          const key = (b: Buffer) => b.toString("hex");
          assert.deepEqual(local.map(key).sort(), expected.map(key).sort(), "exactly the plain files and what came out (plus archives when kept)");
          assert.ok(!tree(work).some((f) => /\.putio-/.test(f)), "no temp file left");
          for (const id of partIds) {
            if (s.keep) continue;
            assert.ok(!res.deletedFileIds.includes(id), "a skipped part is never deleted");
            assert.ok(emu.state.getFile(id), "a skipped part stays on put.io");
          }
          assert.equal(res.deletedFileIds.length, res.files.length, "every verified file, and only those, deleted");
        } finally {
          await scheduler.close();
          await c.close();
          await emu.close();
          fs.rmSync(work, { recursive: true, force: true });
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS_EXTRACT ?? 12) },
    );
  });
});
