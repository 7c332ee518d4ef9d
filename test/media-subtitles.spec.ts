// writeSubtitles against the emulator: `<video>.<lang>.srt` beside the local video, in the order asked,
// atomically, skipped when identical, never through a link; a video without subtitles, a fetch that
// 404s or comes empty, the account's languages, hostile language codes and file names.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { PutioClient } from "../lib/client";
import { PutioError, PutioInputError } from "../lib/core/errors";
import { nodeFs, type LocalFs } from "../lib/local/fs";
import { writeSubtitles } from "../lib/media-jobs";
import { Emulator, startEmulator } from "./emulator";
import { addSubtitle, setSubtitleText } from "./emulator/routes-media";

const srt = (text: string) => `1\n00:00:01,000 --> 00:00:02,000\n${text}\n`;

describe("media: writeSubtitles", () => {
  let emu: Emulator;
  let c: PutioClient;
  let dir: string;
  beforeEach(async () => {
    emu = await startEmulator();
    c = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-subs-"));
  });
  afterEach(async () => {
    await c.close();
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const video = (name = "Movie (2020).mkv") => {
    const folder = emu.state.addFolder(0, "Movies");
    const v = emu.state.addFile(folder.id, name, { size: 10_000, seed: 2 });
    const local = path.join(dir, name);
    fs.writeFileSync(local, "local video");
    return { v, local, folder };
  };
  const listing = () => fs.readdirSync(dir).sort();

  it("writes one file per language in the order asked (put.io's best source first; 'en' finds 'eng'), and counts", async () => {
    const { v, local, folder } = video();
    emu.state.addFile(folder.id, "Movie (2020).tur.srt", Buffer.from(srt("Merhaba from the folder")));
    addSubtitle(emu.state, v.id, { language_code: "tur", text: srt("Merhaba from OpenSubtitles") });
    addSubtitle(emu.state, v.id, { language_code: "eng", text: srt("Hello") });
    const res = await writeSubtitles(c, v, local, { languages: "tur, en ,fre" });
    assert.deepEqual([res.written, res.identical, res.missing, res.failed.length], [2, 0, ["fre"], 0]);
    assert.deepEqual(
      res.outcomes.map((o) => [o.language, o.status, o.source]),
      [
        ["tur", "written", "folder"],
        ["en", "written", "opensubtitles"],
        ["fre", "missing", undefined],
      ],
    );
    assert.deepEqual(listing(), ["Movie (2020).en.srt", "Movie (2020).mkv", "Movie (2020).tur.srt"]);
    assert.equal(fs.readFileSync(path.join(dir, "Movie (2020).tur.srt"), "utf8"), srt("Merhaba from the folder"));
    assert.equal(fs.readFileSync(path.join(dir, "Movie (2020).en.srt"), "utf8"), srt("Hello"));
  });

  it("no languages given: the account's subtitle_languages; a second run finds them identical and writes nothing", async () => {
    const { v, local } = video("clip.mp4");
    emu.state.users.get(emu.state.defaultUserId)!.settings.subtitle_languages = ["ger", "eng"];
    addSubtitle(emu.state, v.id, { language_code: "eng", text: srt("Hi") });
    addSubtitle(emu.state, v.id, { language_code: "ger", text: srt("Hallo") });
    const first = await writeSubtitles(c, v, local);
    assert.deepEqual(
      first.outcomes.map((o) => `${o.language}:${o.status}`),
      ["ger:written", "eng:written"],
    );
    const mtime = fs.statSync(path.join(dir, "clip.ger.srt")).mtimeMs;
    const second = await writeSubtitles(c, v, local);
    assert.deepEqual([second.written, second.identical], [0, 2]);
    assert.equal(fs.statSync(path.join(dir, "clip.ger.srt")).mtimeMs, mtime);
    // A subtitle changed on put.io replaces the package's own earlier file.
    setSubtitleText(emu.state, v.id, "eng", srt("Hi again"));
    const third = await writeSubtitles(c, v, local);
    assert.deepEqual(
      third.outcomes.map((o) => `${o.language}:${o.status}`),
      ["ger:identical", "eng:written"],
    );
    assert.equal(fs.readFileSync(path.join(dir, "clip.eng.srt"), "utf8"), srt("Hi again"));
    // The user's edit of it is theirs: kept, and that language fails saying so.
    fs.writeFileSync(path.join(dir, "clip.eng.srt"), "my own timing fixes");
    setSubtitleText(emu.state, v.id, "eng", srt("Hi"));
    const fourth = await writeSubtitles(c, v, local);
    assert.deepEqual(
      fourth.outcomes.map((o) => `${o.language}:${o.status}`),
      ["ger:identical", "eng:failed"],
    );
    assert.match(String(fourth.failed[0]?.error.message), /did not write; it was kept/);
    assert.equal(fs.readFileSync(path.join(dir, "clip.eng.srt"), "utf8"), "my own timing fixes");
    assert.ok(!listing().some((n) => n.includes("putio-subtitle")), "no temp file left");
  });

  it("a video without subtitles writes nothing and reports every language missing", async () => {
    const { v, local } = video();
    const res = await writeSubtitles(c, v, local, { languages: ["eng", "tur"] });
    assert.deepEqual([res.written, res.missing], [0, ["eng", "tur"]]);
    assert.deepEqual(listing(), ["Movie (2020).mkv"]);
  });

  it("a subtitle fetch that 404s or comes empty is a failed language; the others are still written", async () => {
    const { v, local } = video();
    addSubtitle(emu.state, v.id, { language_code: "eng", text: srt("one") });
    addSubtitle(emu.state, v.id, { language_code: "tur", text: srt("iki") });
    addSubtitle(emu.state, v.id, { language_code: "ger", text: srt("drei") });
    emu.knobs.subtitle404Next = 1;
    const res = await writeSubtitles(c, v, local, { languages: "eng" });
    assert.equal(res.failed.length, 1);
    assert.match(res.failed[0].error.message, /not found/i);
    emu.knobs.subtitleEmptyNext = 1;
    const res2 = await writeSubtitles(c, v, local, { languages: "tur,ger" });
    assert.deepEqual(
      res2.outcomes.map((o) => `${o.language}:${o.status}`),
      ["tur:failed", "ger:written"],
    );
    assert.match(res2.failed[0].error.message, /empty/);
    assert.deepEqual(listing(), ["Movie (2020).ger.srt", "Movie (2020).mkv"]);
  });

  it("a link or a folder where the subtitle goes is left alone (failed), nothing is written through it", async () => {
    const { v, local } = video();
    addSubtitle(emu.state, v.id, { language_code: "eng", text: srt("x") });
    addSubtitle(emu.state, v.id, { language_code: "tur", text: srt("y") });
    const outside = path.join(dir, "..", `outside-${path.basename(dir)}.txt`);
    fs.writeFileSync(outside, "keep");
    try {
      fs.symlinkSync(outside, path.join(dir, "Movie (2020).eng.srt"));
      fs.mkdirSync(path.join(dir, "Movie (2020).tur.srt"));
      const res = await writeSubtitles(c, v, local, { languages: "eng,tur" });
      assert.deepEqual(
        res.outcomes.map((o) => o.status),
        ["failed", "failed"],
      );
      assert.match(res.failed[0].error.message, /symbolic link/);
      assert.equal(fs.readFileSync(outside, "utf8"), "keep");
    } finally {
      fs.rmSync(outside, { force: true });
    }
  });

  it("a failed write leaves no temp file and throws; the old subtitle stays", async () => {
    const { v, local } = video();
    addSubtitle(emu.state, v.id, { language_code: "eng", text: "old" });
    await writeSubtitles(c, v, local, { languages: "eng" });
    setSubtitleText(emu.state, v.id, "eng", srt("new"));
    const fullDisk: LocalFs = {
      ...nodeFs,
      open: async (p, flags, mode) => {
        const fh = await nodeFs.open(p, flags, mode);
        return {
          ...fh,
          write: async () => {
            throw Object.assign(new Error("no space left"), { code: "ENOSPC" });
          },
          writev: fh.writev.bind(fh),
          read: fh.read.bind(fh),
          truncate: fh.truncate.bind(fh),
          sync: fh.sync.bind(fh),
          stat: fh.stat.bind(fh),
          close: fh.close.bind(fh),
        };
      },
    };
    await assert.rejects(writeSubtitles(c, v, local, { languages: "eng", fs: fullDisk }), /no space/);
    assert.deepEqual(listing(), ["Movie (2020).eng.srt", "Movie (2020).mkv"]);
    assert.equal(fs.readFileSync(path.join(dir, "Movie (2020).eng.srt"), "utf8"), "old");
  });

  it("a subtitle download that put.io redirects is followed without the token; a redirect loop or an odd scheme is an error", async () => {
    const seen: Array<{ url: string; auth: string | undefined }> = [];
    const server = http.createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      if (req.url!.startsWith("/v2/files/7/subtitles/k1")) return void res.writeHead(302, { Location: "/store/k1.srt" }).end();
      if (req.url === "/store/k1.srt") return void res.writeHead(200, { "Content-Type": "application/x-subrip" }).end(srt("via redirect"));
      if (req.url!.startsWith("/v2/files/7/subtitles/loop")) return void res.writeHead(302, { Location: "/v2/files/7/subtitles/loop" }).end();
      if (req.url!.startsWith("/v2/files/7/subtitles/ftp")) return void res.writeHead(302, { Location: "ftp://example.invalid/x" }).end();
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ error_type: "NotFound", error_message: "no", status_code: 404 }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fake = new PutioClient({
      apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: "SECRETTOKEN1234567890",
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
    });
    try {
      assert.equal(String(await fake.media.subtitle(7, "k1")), srt("via redirect"));
      assert.deepEqual(
        seen.map((s) => [s.url.split("?")[0], s.auth === undefined ? "no token" : "token"]),
        [
          ["/v2/files/7/subtitles/k1", "token"],
          ["/store/k1.srt", "no token"],
        ],
      );
      await assert.rejects(fake.media.subtitle(7, "loop"), (e: unknown) => e instanceof PutioError && e.statusCode === 302);
      await assert.rejects(fake.media.subtitle(7, "ftp"), PutioError);
      await assert.rejects(fake.media.subtitle(7, "missing"), (e: unknown) => e instanceof PutioError && e.statusCode === 404 && e.errorType === "NotFound");
      for (const key of ["..", ".", "", "a/b", "k?x=1", "%2e%2e"]) await assert.rejects(fake.media.subtitle(7, key), PutioInputError, key);
    } finally {
      await fake.close();
      server.close();
    }
  });

  it("hostile language codes and paths are refused before any call", async () => {
    const { v, local } = video();
    const before = emu.requests.length;
    for (const languages of ["../../etc/passwd", "en/../x", "eng\0", ".", "e", "english", ["eng", "../x"], 42, [{}], "eng;rm"]) {
      await assert.rejects(writeSubtitles(c, v, local, { languages: languages as string }), PutioInputError, String(languages));
    }
    await assert.rejects(writeSubtitles(c, v, "relative/movie.mkv", { languages: "eng" }), PutioInputError);
    await assert.rejects(writeSubtitles(c, { ...v, file_type: "TEXT" }, local, { languages: "eng" }), PutioInputError);
    assert.equal(emu.requests.length, before);
  });

  it("property: whatever the language codes, nothing is written outside the video's folder", async () => {
    const { v, local } = video();
    addSubtitle(emu.state, v.id, { language_code: "eng", text: srt("p") });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("eng", "en", "../eng", "eng/..", "ENG", "pt-br")), { maxLength: 4 }),
        async (codes) => {
          try {
            await writeSubtitles(c, v, local, { languages: codes });
          } catch (e) {
            assert.ok(e instanceof PutioInputError, String(e));
          }
          for (const name of fs.readdirSync(dir)) assert.match(name, /^Movie \(2020\)\.(mkv|[a-z]{2,3}(-[a-z0-9]{2,4})?\.srt)$/);
          assert.deepEqual(
            fs.readdirSync(path.dirname(dir)).filter((n) => n.endsWith(".srt")),
            [],
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
