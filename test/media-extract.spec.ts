// extractAndWait against the emulator: ZIPs and RAR sets in a folder or as one file, each set
// extracted once from its first volume; the extracted files and the parts come back with their
// paths; bad and missing passwords, a failure midway, incomplete sets, non-archives, hostile names.
import * as assert from "node:assert/strict";
import { PutioClient } from "../lib/client";
import { PutioAbortError, PutioInputError } from "../lib/core/errors";
import { extractAndWait, PutioExtractionError, type ExtractOptions, type ExtractStatus } from "../lib/media-jobs";
import { Emulator, startEmulator } from "./emulator";
import { whileClockRuns } from "./support/emulator-clock";
import { buildRarSet, buildZip } from "./emulator/archives";
import { extractionsOf } from "./emulator/routes-extract";

describe("media: extractAndWait", () => {
  let emu: Emulator;
  let c: PutioClient;
  const fast: ExtractOptions = { pollMs: 2, maxPollMs: 10 };
  beforeEach(async () => {
    emu = await startEmulator();
    c = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  });
  afterEach(async () => {
    await c.close();
    await emu.close();
  });

  const extractRequests = () => emu.requests.filter((r) => r.method === "POST" && r.path === "/v2/files/extract").length;

  it("a folder with a ZIP and a 3-part RAR set: two extractions, the extracted files with paths, every part listed", async () => {
    const show = emu.state.addFolder(0, "Show");
    const season = emu.state.addFolder(show.id, "Season 1");
    const vols = buildRarSet("Show.S01E01", [{ name: "Show.S01E01.mkv", size: 3_000_000, seed: 4 }], { volumes: 3, digits: 2 });
    const partIds = vols.map((v) => emu.state.addFile(season.id, v.name, v.data).id);
    const zipId = emu.state.addFile(show.id, "extras.zip", buildZip([{ name: "Extras/making-of.txt", data: Buffer.from("making of") }], { deflate: true })).id;
    emu.state.addFile(show.id, "readme.nfo", Buffer.from("info"));
    const statuses: ExtractStatus[] = [];
    const res = await whileClockRuns(emu, extractAndWait(c, show.id, { ...fast, onStatus: (s) => statuses.push(s) }));
    assert.equal(extractRequests(), 2, "one extraction per set");
    assert.deepEqual(res.sets.map((s) => s.name).sort(), ["Show.S01E01.part01.rar", "extras.zip"]);
    assert.deepEqual(res.extracted.map((e) => e.path).sort(), ["Extras/making-of.txt", "Season 1/Show.S01E01.mkv"]);
    assert.equal(res.extracted.find((e) => e.path.endsWith(".mkv"))!.file.size, 3_000_000);
    assert.deepEqual(res.parts.map((p) => p.file.id).sort(), [...partIds, zipId].sort());
    assert.deepEqual(
      res.parts.filter((p) => p.path.startsWith("Season 1/")).map((p) => p.path),
      vols.map((v) => `Season 1/${v.name}`),
    );
    for (const set of res.sets) assert.equal(statuses.filter((s) => s.extractionId === set.extractionId).at(-1)!.status, "EXTRACTED");
  });

  it("given one volume of a set, the whole set is extracted once from its first volume", async () => {
    const f = emu.state.addFolder(0, "Movie");
    const vols = buildRarSet("movie", [{ name: "movie.mkv", text: "the film" }], { volumes: 3, style: "old" });
    const ids = vols.map((v) => emu.state.addFile(f.id, v.name, v.data).id);
    const res = await whileClockRuns(emu, extractAndWait(c, ids[2], fast));
    assert.deepEqual(
      res.sets.map((s) => s.name),
      ["movie.rar"],
    );
    assert.deepEqual(
      extractionsOf(emu.state).map((e) => e.archiveId),
      [ids[0]],
    );
    assert.deepEqual(
      res.extracted.map((e) => e.path),
      ["movie.mkv"],
    );
    assert.deepEqual(
      res.parts.map((p) => p.path),
      ["movie.rar", "movie.r00", "movie.r01"],
    );
  });

  it("a folder without archives gives an empty result without starting anything; a plain file is a PutioInputError", async () => {
    const f = emu.state.addFolder(0, "Plain");
    const txt = emu.state.addFile(f.id, "a.txt", Buffer.from("x"));
    assert.deepEqual(await extractAndWait(c, f.id, fast), { sets: [], extracted: [], parts: [], top: [] });
    await assert.rejects(extractAndWait(c, txt.id, fast), (e: unknown) => e instanceof PutioInputError && /not an archive/.test((e as Error).message));
    await assert.rejects(extractAndWait(c, -1 as number, fast), PutioInputError);
    assert.equal(extractRequests(), 0);
  });

  it("password: none → kind password-required; wrong → wrong-password (the password is in no message); right → extracted", async () => {
    const secret = "correct horse battery";
    const locked = emu.state.addFile(0, "locked.zip", buildZip([{ name: "in.txt", data: Buffer.from("inside") }], { password: secret }));
    await assert.rejects(whileClockRuns(emu, extractAndWait(c, locked.id, fast)), (e: unknown) => {
      assert.ok(e instanceof PutioExtractionError);
      assert.deepEqual([e.kind, e.archive, e.status], ["password-required", "locked.zip", "PASSWORD"]);
      assert.match(e.message, /password/);
      return true;
    });
    await assert.rejects(whileClockRuns(emu, extractAndWait(c, locked.id, { ...fast, password: "wrong guess" })), (e: unknown) => {
      assert.ok(e instanceof PutioExtractionError);
      assert.equal(e.kind, "wrong-password");
      assert.ok(!e.message.includes("wrong guess") && !JSON.stringify(e).includes("wrong guess"));
      return true;
    });
    const ok = await whileClockRuns(emu, extractAndWait(c, locked.id, { ...fast, password: secret }));
    assert.deepEqual(
      ok.extracted.map((e) => e.path),
      ["in.txt"],
    );
    assert.equal(String(emu.state.fileBytes(ok.extracted[0].file.id)), "inside");
  });

  it("a failure midway is kind failed with put.io's message; the files written before it are not reported as extracted", async () => {
    const f = emu.state.addFolder(0, "Broken");
    const zip = buildZip(
      ["1.txt", "2.txt", "3.txt"].map((n) => ({ name: n, data: Buffer.from(n.repeat(30)) })),
      { corruptEntry: 2, deflate: true },
    );
    const z = emu.state.addFile(f.id, "broken.zip", zip);
    await assert.rejects(whileClockRuns(emu, extractAndWait(c, f.id, fast)), (e: unknown) => {
      assert.ok(e instanceof PutioExtractionError);
      assert.deepEqual([e.kind, e.archive, e.status, e.putioMessage], ["failed", "broken.zip", "ERROR", "Archive is corrupt"]);
      assert.match(e.message, /stay on put\.io/);
      return true;
    });
    // put.io wrote two entries before failing: they are there, the job said it failed.
    assert.deepEqual(
      emu.state
        .listChildren(f.id)
        .map((x) => x.name)
        .sort(),
      ["1.txt", "2.txt", "broken.zip"],
    );
    emu.knobs.extractFailNext = 1;
    await assert.rejects(whileClockRuns(emu, extractAndWait(c, z.id, fast)), (e: unknown) => e instanceof PutioExtractionError && e.kind === "failed");
  });

  it("an incomplete set is refused before any call (naming the missing part); a garbage .zip fails as put.io says", async () => {
    const f = emu.state.addFolder(0, "Gap");
    const vols = buildRarSet("gap", [{ name: "g.mkv", text: "g" }], { volumes: 3, digits: 2 });
    for (const v of [vols[0], vols[2]]) emu.state.addFile(f.id, v.name, v.data);
    await assert.rejects(extractAndWait(c, f.id, fast), (e: unknown) => {
      assert.ok(e instanceof PutioExtractionError);
      assert.equal(e.kind, "incomplete");
      assert.match(e.message, /gap\.part02\.rar/);
      return true;
    });
    assert.equal(extractRequests(), 0);
    const junk = emu.state.addFile(0, "junk.zip", Buffer.from("not a zip at all"));
    await assert.rejects(whileClockRuns(emu, extractAndWait(c, junk.id, fast)), (e: unknown) => e instanceof PutioExtractionError && e.kind === "failed");
  });

  it("an extraction removed while waited for is kind vanished; a timeout is kind timeout; an abort is a PutioAbortError", async () => {
    const z = emu.state.addFile(0, "a.zip", buildZip([{ name: "a.txt", data: Buffer.from("a") }]));
    const p = extractAndWait(c, z.id, fast);
    p.catch(() => {});
    while (!extractionsOf(emu.state).length) await new Promise((r) => setTimeout(r, 2));
    const id = extractionsOf(emu.state)[0].id;
    await c.extract.remove(id);
    await assert.rejects(p, (e: unknown) => e instanceof PutioExtractionError && e.kind === "vanished" && e.extractionId === id);

    const z2 = emu.state.addFile(0, "b.zip", buildZip([{ name: "b.txt", data: Buffer.from("b") }]));
    await assert.rejects(extractAndWait(c, z2.id, { ...fast, timeoutMs: 30 }), (e: unknown) => e instanceof PutioExtractionError && e.kind === "timeout");

    const ac = new AbortController();
    const z3 = emu.state.addFile(0, "c.zip", buildZip([{ name: "c.txt", data: Buffer.from("c") }]));
    const aborted = extractAndWait(c, z3.id, { ...fast, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(aborted, PutioAbortError);
  });

  it("the extract domain checks its input before any call (ids, password); a password is sent, an empty one is not", async () => {
    const before = emu.requests.length;
    for (const ids of [[], [-1], [1.5], ["1; DROP"], "12" as unknown as number[], [Number.NaN]]) {
      await assert.rejects(c.extract.start(ids as number[]), PutioInputError, JSON.stringify(ids));
    }
    for (const password of [42, "a\0b", "x".repeat(1025)]) await assert.rejects(c.extract.start([1], { password: password as string }), PutioInputError);
    await assert.rejects(c.extract.remove(-3), PutioInputError);
    assert.equal(emu.requests.length, before);
    const z = emu.state.addFile(0, "p.zip", buildZip([{ name: "p.txt", data: Buffer.from("p") }]));
    const [e] = await c.extract.start([z.id], { password: "" });
    assert.equal(extractionsOf(emu.state).find((r) => r.id === e.id)!.password, undefined);
    const z2 = emu.state.addFile(0, "q.zip", buildZip([{ name: "q.txt", data: Buffer.from("q") }]));
    const [e2] = await c.extract.start([z2.id], { password: "pä ss" });
    assert.equal(extractionsOf(emu.state).find((r) => r.id === e2.id)!.password, "pä ss");
    assert.deepEqual(
      (await c.extract.list()).map((x) => x.id),
      [e.id, e2.id],
    );
  });

  it("hostile but legal names: archives and entries with spaces, unicode, quotes and leading dots come back unchanged", async () => {
    const f = emu.state.addFolder(0, "Wéird ‮ folder");
    const names = ['..hidden "quoted".txt', "ünïcødé 🎬.mkv", " leading space.srt", "back\\slash.txt"];
    emu.state.addFile(f.id, "we'ird (1) ‮.zip", buildZip(names.map((n) => ({ name: n, data: Buffer.from(n) }))));
    const res = await whileClockRuns(emu, extractAndWait(c, f.id, fast));
    assert.deepEqual(res.extracted.map((e) => e.path).sort(), [...names].sort());
    for (const e of res.extracted) assert.equal(String(emu.state.fileBytes(e.file.id)), e.path);
  });

  it("an archive entry that climbs out ('../x') fails the extraction on put.io's side, nothing is written outside", async () => {
    const f = emu.state.addFolder(0, "Inner");
    emu.state.addFile(f.id, "slip.zip", buildZip([{ name: "../escape.txt", data: Buffer.from("x") }]));
    await assert.rejects(whileClockRuns(emu, extractAndWait(c, f.id, fast)), (e: unknown) => e instanceof PutioExtractionError && e.kind === "failed");
    assert.ok(!emu.state.listChildren(0).some((x) => x.name === "escape.txt"));
  });
});
