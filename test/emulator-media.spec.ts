// Emulator media: archive extraction (ZIP for real, modelled RAR sets, passwords, failure midway),
// subtitles (folder and seeded sources, languages, 404/empty knobs, SRT/WebVTT) and MP4 conversion
// (clock, mp4_update pushes, error knob, the converted file on storage).
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { WebSocket } from "ws";
import { Emulator, startEmulator } from "./emulator";
import { buildRarSet, buildZip, readZip, unpackZipEntry } from "./emulator/archives";
import { EXTRACT_MESSAGES } from "./emulator/routes-extract";
import { addSubtitle, MP4_CONVERT_MS, MP4_QUEUE_MS } from "./emulator/routes-media";
import { assertError, assertOk, call } from "./emulator/test-helpers";

const SRT = "1\n00:00:01,000 --> 00:00:02,500\nHello\n";

describe("emulator: media", () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(async () => emu.close());

  const extraction = async (id: number) => (await call(emu, "GET", "/v2/files/extract")).body.extractions.find((e: { id: number }) => e.id === id);
  const names = (folderId: number) => emu.state.listChildren(folderId).map((f) => f.name);

  describe("zip archives", () => {
    it("our ZipCrypto zips open with Info-ZIP's unzip, and Info-ZIP's encrypted zips open here", function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emu-zip-"));
      try {
        try {
          execFileSync("zip", ["-v"], { stdio: "ignore" });
        } catch {
          this.skip();
        }
        fs.writeFileSync(path.join(dir, "ours.zip"), buildZip([{ name: "a.txt", data: Buffer.from("ours") }], { password: "pw", deflate: true }));
        assert.equal(execFileSync("unzip", ["-P", "pw", "-p", path.join(dir, "ours.zip"), "a.txt"]).toString(), "ours");
        fs.writeFileSync(path.join(dir, "b.txt"), "theirs");
        execFileSync("zip", ["-q", "-P", "s3", path.join(dir, "theirs.zip"), "b.txt"], { cwd: dir });
        const buf = fs.readFileSync(path.join(dir, "theirs.zip"));
        const z = readZip(buf);
        assert.ok(!("error" in z));
        assert.deepEqual([z.encrypted, z.checkPassword("s3"), z.checkPassword("s4")], [true, true, false]);
        assert.equal(String(unpackZipEntry(buf, 0, "s3")), "theirs");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("NEW → SENT_TO_QUEUE → EXTRACTING (one entry per second) → EXTRACTED; entries land in the archive's folder", async () => {
      const folder = emu.state.addFolder(0, "Release");
      const zip = buildZip(
        [
          { name: "movie.mkv", data: Buffer.from("video bytes") },
          { name: "Subs/movie.eng.srt", data: Buffer.from(SRT) },
        ],
        { deflate: true },
      );
      const archive = emu.state.addFile(folder.id, "release.zip", zip);
      const res = await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(archive.id) } });
      assertOk(res);
      const [e] = res.body.extractions;
      assert.deepEqual(e, { id: e.id, name: "release.zip", status: "NEW", message: null, num_parts: 1, files: [archive.id] });
      await emu.advance(1000);
      assert.deepEqual([(await extraction(e.id)).status, (await extraction(e.id)).message], ["SENT_TO_QUEUE", EXTRACT_MESSAGES.queued]);
      await emu.advance(1000);
      assert.equal((await extraction(e.id)).status, "EXTRACTING");
      await emu.advance(1000);
      assert.deepEqual(names(folder.id).sort(), ["movie.mkv", "release.zip"], "the first entry is written, the second not yet");
      assert.equal((await extraction(e.id)).status, "EXTRACTING");
      await emu.advance(2000);
      assert.deepEqual([(await extraction(e.id)).status, (await extraction(e.id)).message], ["EXTRACTED", null]);
      const subs = emu.state.listChildren(folder.id).find((f) => f.name === "Subs")!;
      assert.equal(subs.file_type, "FOLDER");
      const srt = emu.state.listChildren(subs.id)[0];
      assert.equal(String(emu.state.fileBytes(srt.id)), SRT);
    });

    it("a taken name gets a ' (1)' suffix; a folder id is refused with NotFile; an unknown id is 404", async () => {
      const folder = emu.state.addFolder(0, "F");
      emu.state.addFile(folder.id, "a.txt", Buffer.from("old"));
      const archive = emu.state.addFile(folder.id, "x.zip", buildZip([{ name: "a.txt", data: Buffer.from("new") }]));
      await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(archive.id) } });
      await emu.advance(5000);
      assert.deepEqual(names(folder.id).sort(), ["a (1).txt", "a.txt", "x.zip"]);
      assertError(await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(folder.id) } }), 400, "NotFile");
      assertError(await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: "2147483647" } }), 404);
      assertError(await call(emu, "POST", "/v2/files/extract", { form: {} }), 400);
    });

    it("password: none → PASSWORD, wrong → PASSWORD 'Wrong password', asked again with the right one → PASSWORD_OBTAINED → EXTRACTED (same id)", async () => {
      const archive = emu.state.addFile(0, "locked.zip", buildZip([{ name: "in.txt", data: Buffer.from("inside") }], { password: "open sesame" }));
      const e = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(archive.id) } })).body.extractions[0];
      await emu.advance(3000);
      assert.deepEqual([(await extraction(e.id)).status, (await extraction(e.id)).message], ["PASSWORD", EXTRACT_MESSAGES.passwordRequired]);
      assert.ok(!names(0).includes("in.txt"));
      const again = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(archive.id), password: "open sesame" } })).body
        .extractions[0];
      assert.deepEqual([again.id, again.status], [e.id, "PASSWORD_OBTAINED"]);
      await emu.advance(4000);
      assert.equal((await extraction(e.id)).status, "EXTRACTED");
      assert.equal(String(emu.state.fileBytes(emu.state.listChildren(0).find((f) => f.name === "in.txt")!.id)), "inside");

      const other = emu.state.addFile(0, "locked2.zip", buildZip([{ name: "in2.txt", data: Buffer.from("x") }], { password: "right" }));
      const w = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(other.id), password: "wrong" } })).body.extractions[0];
      await emu.advance(3000);
      assert.deepEqual([(await extraction(w.id)).status, (await extraction(w.id)).message], ["PASSWORD", EXTRACT_MESSAGES.wrongPassword]);
    });

    it("a corrupt entry fails midway: the entries before it stay written; a non-archive and garbage .zip end in ERROR", async () => {
      const folder = emu.state.addFolder(0, "C");
      const zip = buildZip(
        ["1.txt", "2.txt", "3.txt"].map((n) => ({ name: n, data: Buffer.from(n.repeat(20)) })),
        { corruptEntry: 1, deflate: true },
      );
      const archive = emu.state.addFile(folder.id, "c.zip", zip);
      const e = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(archive.id) } })).body.extractions[0];
      await emu.advance(10_000);
      assert.deepEqual([(await extraction(e.id)).status, (await extraction(e.id)).message], ["ERROR", EXTRACT_MESSAGES.corrupt]);
      assert.deepEqual(names(folder.id).sort(), ["1.txt", "c.zip"]);

      const txt = emu.state.addFile(0, "notes.txt", Buffer.from("plain"));
      const bad = emu.state.addFile(0, "fake.zip", Buffer.from("zipzip"));
      const [n, b] = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: `${txt.id},${bad.id}` } })).body.extractions;
      await emu.advance(3000);
      assert.deepEqual([(await extraction(n.id)).message, (await extraction(b.id)).message], [EXTRACT_MESSAGES.notArchive, EXTRACT_MESSAGES.corrupt]);
    });

    it("knob extractFailNext: half the entries are written, then ERROR; DELETE forgets an extraction", async () => {
      emu.knobs.extractFailNext = 1;
      const folder = emu.state.addFolder(0, "K");
      const archive = emu.state.addFile(folder.id, "k.zip", buildZip(["a", "b", "c", "d"].map((n) => ({ name: `${n}.txt`, data: Buffer.from(n) }))));
      const e = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(archive.id) } })).body.extractions[0];
      await emu.advance(10_000);
      assert.deepEqual([(await extraction(e.id)).status, (await extraction(e.id)).message], ["ERROR", EXTRACT_MESSAGES.failed]);
      assert.equal(names(folder.id).length, 3);
      assertOk(await call(emu, "DELETE", `/v2/files/extract/${e.id}`));
      assert.equal(await extraction(e.id), undefined);
      assertError(await call(emu, "DELETE", `/v2/files/extract/${e.id}`), 404);
    });
  });

  describe("modelled RAR sets", () => {
    it(".partNN.rar: one extraction of volume 1 covers the set (num_parts, files); virtual entries keep their size", async () => {
      const folder = emu.state.addFolder(0, "Show");
      const vols = buildRarSet(
        "Show.S01",
        [
          { name: "Show.S01E01.mkv", size: 5_000_000, seed: 9 },
          { name: "Show.S01E01.nfo", text: "info" },
        ],
        { volumes: 3, digits: 2 },
      );
      assert.deepEqual(
        vols.map((v) => v.name),
        ["Show.S01.part01.rar", "Show.S01.part02.rar", "Show.S01.part03.rar"],
      );
      const ids = vols.map((v) => emu.state.addFile(folder.id, v.name, v.data).id);
      const e = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(ids[0]) } })).body.extractions[0];
      assert.deepEqual([e.num_parts, e.files], [3, ids]);
      await emu.advance(5000);
      assert.equal((await extraction(e.id)).status, "EXTRACTED");
      const mkv = emu.state.listChildren(folder.id).find((f) => f.name === "Show.S01E01.mkv")!;
      assert.equal(mkv.size, 5_000_000);
    });

    it("old style .rar/.r00/.r01; a missing volume, a later volume asked first, and corruptAfter end in ERROR", async () => {
      const folder = emu.state.addFolder(0, "Old");
      const vols = buildRarSet("movie", [{ name: "movie.mkv", text: "m" }], { volumes: 3, style: "old" });
      assert.deepEqual(
        vols.map((v) => v.name),
        ["movie.rar", "movie.r00", "movie.r01"],
      );
      const ids = vols.map((v) => emu.state.addFile(folder.id, v.name, v.data).id);
      const second = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(ids[1]) } })).body.extractions[0];
      await emu.advance(3000);
      assert.equal((await extraction(second.id)).message, EXTRACT_MESSAGES.notFirstVolume);

      const gap = emu.state.addFolder(0, "Gap");
      const gapVols = buildRarSet("g", [{ name: "g.mkv", text: "g" }], { volumes: 3 });
      const gapIds = [gapVols[0], gapVols[2]].map((v) => emu.state.addFile(gap.id, v.name, v.data).id);
      const g = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(gapIds[0]) } })).body.extractions[0];
      await emu.advance(3000);
      assert.deepEqual([(await extraction(g.id)).status, (await extraction(g.id)).message], ["ERROR", "Missing volume 2 of 3"]);

      const bad = emu.state.addFolder(0, "Bad");
      const badVols = buildRarSet(
        "b",
        ["1", "2", "3", "4"].map((n) => ({ name: `${n}.txt`, text: n })),
        { volumes: 2, corruptAfter: 2, password: "pw" },
      );
      const badIds = badVols.map((v) => emu.state.addFile(bad.id, v.name, v.data).id);
      const b = (await call(emu, "POST", "/v2/files/extract", { form: { user_file_ids: String(badIds[0]), password: "pw" } })).body.extractions[0];
      await emu.advance(10_000);
      assert.equal((await extraction(b.id)).status, "ERROR");
      assert.deepEqual(names(bad.id).sort(), ["1.txt", "2.txt", "b.part1.rar", "b.part2.rar"]);
    });
  });

  describe("subtitles", () => {
    it("lists folder subtitles first, then seeded ones filtered by languages (else the account's); downloads by key as SRT or WebVTT", async () => {
      const folder = emu.state.addFolder(0, "Movie");
      const video = emu.state.addFile(folder.id, "Movie.2020.mkv", { size: 1 << 20, seed: 3 });
      emu.state.addFile(folder.id, "Movie.2020.tur.srt", Buffer.from(SRT.replace("Hello", "Merhaba")));
      emu.state.addFile(folder.id, "Other.srt", Buffer.from(SRT));
      addSubtitle(emu.state, video.id, { language_code: "eng", text: SRT });
      addSubtitle(emu.state, video.id, { language_code: "ger", text: SRT.replace("Hello", "Hallo") });
      const all = await call(emu, "GET", `/v2/files/${video.id}/subtitles`);
      assertOk(all);
      assert.deepEqual(
        all.body.subtitles.map((s: { source: string; language_code: string }) => `${s.source}:${s.language_code}`),
        ["folder:tur", "opensubtitles:eng"],
        "the account's subtitle_languages (eng) filter the found ones; the folder's own files always show",
      );
      assert.equal(all.body.default, all.body.subtitles[0].key);
      for (const s of all.body.subtitles) assert.deepEqual(Object.keys(s).sort(), ["format", "key", "language", "language_code", "name", "source", "url"]);
      const ger = await call(emu, "GET", `/v2/files/${video.id}/subtitles?languages=ger,eng`);
      assert.deepEqual(
        ger.body.subtitles.map((s: { language_code: string }) => s.language_code),
        ["tur", "eng", "ger"],
      );
      const key = ger.body.subtitles.find((s: { language_code: string }) => s.language_code === "ger").key;
      const srt = await call(emu, "GET", `/v2/files/${video.id}/subtitles/${key}?format=srt`);
      assert.equal(srt.text, SRT.replace("Hello", "Hallo"));
      assert.match(srt.headers.get("content-type")!, /subrip/);
      const vtt = await call(emu, "GET", `/v2/files/${video.id}/subtitles/${key}?format=webvtt`);
      assert.match(vtt.text, /^WEBVTT\n\n1\n00:00:01\.000 --> 00:00:02\.500\nHallo/);
      assert.equal((await call(emu, "GET", `/v2/files/${video.id}/subtitles/default`)).text, SRT.replace("Hello", "Merhaba"));
      assertError(await call(emu, "GET", `/v2/files/${video.id}/subtitles/nope`), 404);
      assertError(await call(emu, "GET", `/v2/files/${video.id}/subtitles/${key}?format=ass`), 400);
    });

    it("a video without subtitles lists none (default null); a folder is NotFile; knobs make the next fetch 404 or empty", async () => {
      const video = emu.state.addFile(0, "bare.mkv", { size: 1000, seed: 1 });
      const none = await call(emu, "GET", `/v2/files/${video.id}/subtitles`);
      assert.deepEqual([none.body.default, none.body.subtitles], [null, []]);
      assertError(await call(emu, "GET", "/v2/files/0/subtitles"), 400, "NotFile");
      addSubtitle(emu.state, video.id, { language_code: "eng", text: SRT });
      const key = (await call(emu, "GET", `/v2/files/${video.id}/subtitles`)).body.subtitles[0].key;
      emu.knobs.subtitle404Next = 1;
      assertError(await call(emu, "GET", `/v2/files/${video.id}/subtitles/${key}`), 404);
      emu.knobs.subtitleEmptyNext = 1;
      assert.equal((await call(emu, "GET", `/v2/files/${video.id}/subtitles/${key}`)).text, "");
      assert.equal((await call(emu, "GET", `/v2/files/${video.id}/subtitles/${key}`)).text, SRT);
    });
  });

  describe("mp4", () => {
    it("NOT_AVAILABLE → IN_QUEUE → CONVERTING (percent, mp4_update pushes) → COMPLETED with size; the MP4 is served from storage", async () => {
      const video = emu.state.addFile(0, "clip.mkv", { size: 100_000, seed: 5 });
      assert.deepEqual((await call(emu, "GET", `/v2/files/${video.id}/mp4`)).body.mp4, { id: video.id, status: "NOT_AVAILABLE" });
      const ws = new WebSocket(emu.socketUrl);
      const pushes: Array<{ type: string; value: { id: number; status: string; percent_done: number } }> = [];
      await new Promise((resolve) => ws.once("open", resolve));
      ws.send(emu.token);
      ws.on("message", (m) => {
        const event = JSON.parse(String(m));
        if (event.type === "mp4_update") pushes.push(event);
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        const started = await call(emu, "POST", `/v2/files/${video.id}/mp4`);
        assert.deepEqual(started.body.mp4, { id: video.id, status: "IN_QUEUE", percent_done: 0 });
        await emu.advance(MP4_QUEUE_MS + MP4_CONVERT_MS / 2);
        const mid = (await call(emu, "GET", `/v2/files/${video.id}/mp4`)).body.mp4;
        assert.deepEqual([mid.status, mid.percent_done], ["CONVERTING", 50]);
        assert.equal((await call(emu, "GET", "/v2/mp4/queue")).body.mp4s[0].name, "clip.mkv");
        await emu.advance(MP4_CONVERT_MS);
        const done = (await call(emu, "GET", `/v2/files/${video.id}/mp4`)).body.mp4;
        assert.deepEqual(done, { id: video.id, status: "COMPLETED", percent_done: 100, size: 90_000 });
        assert.equal(emu.state.getFile(video.id)!.is_mp4_available, true);
        for (let i = 0; i < 50 && pushes.at(-1)?.value.status !== "COMPLETED"; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(pushes.at(-1)!.value, { id: video.id, status: "COMPLETED", percent_done: 100 });
        assert.ok(pushes.some((p) => p.value.status === "CONVERTING"));
        const redirect = await call(emu, "GET", `/v2/files/${video.id}/mp4/download`);
        assert.equal(redirect.status, 302);
        const body = await fetch(redirect.headers.get("location")!, { headers: { Range: "bytes=0-9" } });
        assert.equal(body.status, 206);
        assert.equal((await body.arrayBuffer()).byteLength, 10);
        assert.equal(emu.state.listChildren(0).length, 1, "the MP4 is no file of the folder");
        assertOk(await call(emu, "DELETE", `/v2/files/${video.id}/mp4`));
        assertError(await call(emu, "GET", `/v2/files/${video.id}/mp4/download`), 400, "MP4_NOT_FOUND");
      } finally {
        ws.close();
      }
    });

    it("knob mp4FailNext → ERROR half-way, a new POST starts over; folders are NotFile, other files INVALID_MEDIA", async () => {
      const video = emu.state.addFile(0, "bad.avi", { size: 1000, seed: 2 });
      emu.knobs.mp4FailNext = 1;
      await call(emu, "POST", `/v2/files/${video.id}/mp4`);
      await emu.advance(MP4_QUEUE_MS + MP4_CONVERT_MS);
      assert.deepEqual((await call(emu, "GET", `/v2/files/${video.id}/mp4`)).body.mp4, { id: video.id, status: "ERROR" });
      assert.equal((await call(emu, "POST", `/v2/files/${video.id}/mp4`)).body.mp4.status, "IN_QUEUE");
      assertError(await call(emu, "GET", "/v2/files/0/mp4"), 400, "NotFile");
      const text = emu.state.addFile(0, "a.txt", Buffer.from("x"));
      assertError(await call(emu, "POST", `/v2/files/${text.id}/mp4`), 400, "INVALID_MEDIA");
    });
  });
});
