/**
 * putio-transmission leaves samples and extras on put.io (lib/transmission/skip.ts): the rule on
 * any generated release (the main video is never skipped, a release is never emptied), and in a
 * real Node-RED against the emulator: a category torrent lands without them, finishes, lists them,
 * and its removal cleans put.io of them too; a torrent without a category, or with the option
 * off, is copied whole; a release named "Sample…" whose only video is that one is copied.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import type { PlanCandidate } from "../lib/download/job";
import { EXTRAS_FOLDERS, keepNotExtras, skipsExtras } from "../lib/transmission/skip";
import { nr } from "./nr";
import { until } from "./support/transmission-rpc";
import { transmissionFixture } from "./support/transmission-fixture";
import { HASH_A, HASH_B, transmissionFlow } from "./support/transmission-flow";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);

/** Every file under `dir`, relative ("/"-separated), sorted. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) =>
      path
        .relative(dir, path.join(d.parentPath ?? (d as any).path, d.name))
        .split(path.sep)
        .join("/"),
    )
    .sort();
}

const candidate = (p: string, size: number, fileType?: string): PlanCandidate => {
  const parts = p.split("/");
  return { file: { id: 1, name: parts[parts.length - 1]!, size, file_type: fileType }, putioPath: `Release/${p}`, within: parts.slice(0, -1) };
};
const kept = (files: PlanCandidate[]) => {
  const keep = keepNotExtras(files);
  return files.filter((_, i) => keep[i]).map((c) => c.within.concat(c.file.name).join("/"));
};

describe("putio-transmission samples and extras @nr", function () {
  this.timeout(120_000);

  describe("the rule (skip.ts)", () => {
    it("examples: sample folders and files, extras folders, .nfo; the main video whatever its name; words, not substrings; any case", () => {
      const MB = 1 << 20;
      assert.deepEqual(
        kept([
          candidate("Movie.2019.mkv", 4000 * MB),
          candidate("Sample/movie.2019-sample.mkv", 40 * MB),
          candidate("EXTRAS/Making.Of.mkv", 900 * MB),
          candidate("Behind The Scenes/bts.mkv", 300 * MB),
          candidate("movie.nfo", 1000),
          candidate("Movie.2019.en.srt", 50_000),
          candidate("Subs/Movie.2019.de.srt", 50_000),
        ]),
        ["Movie.2019.mkv", "Movie.2019.en.srt", "Subs/Movie.2019.de.srt"],
      );
      assert.deepEqual(
        kept([candidate("Sample.Movie.2019.mkv", 700 * MB), candidate("Sample.Movie.2019.nfo", 10)]),
        ["Sample.Movie.2019.mkv"],
        "the only video is the main one",
      );
      assert.deepEqual(
        kept([candidate("Sample/only.mkv", 50 * MB), candidate("only.nfo", 10)]),
        ["Sample/only.mkv"],
        "the only video, even in a sample folder",
      );
      // A season pack: an episode titled "The Sample" is as big as its siblings; a real sample is not.
      assert.deepEqual(
        kept([
          candidate("Show.S01E01.mkv", 500 * MB),
          candidate("Show.S01E05.The.Sample.mkv", 480 * MB),
          candidate("show.s01e01.sample.mkv", 20 * MB),
          candidate("Show.S01E06.Resample.mkv", 10 * MB),
        ]),
        ["Show.S01E01.mkv", "Show.S01E05.The.Sample.mkv", "Show.S01E06.Resample.mkv"],
      );
      assert.deepEqual(
        kept([candidate("release.nfo", 10), candidate("Extras/notes.txt", 10)]),
        ["release.nfo", "Extras/notes.txt"],
        "a release the rule would empty is copied whole",
      );
      assert.deepEqual(kept([candidate("Track 01.flac", 30 * MB), candidate("album.nfo", 10)]), ["Track 01.flac"], "no video: only the rule's files go");
      assert.equal(skipsExtras(undefined, "tv"), true, "default: on in a category");
      assert.equal(skipsExtras(undefined, ""), false, "default: off without a category");
      assert.equal(skipsExtras("all", ""), true);
      assert.equal(skipsExtras("none", "tv"), false);
    });

    it("any release: the largest video is kept, something is kept, and what is kept is the main video or no sample, extra or .nfo", () => {
      const seg = fc.oneof(
        fc.constantFrom(...EXTRAS_FOLDERS, "Sample", "SAMPLES", "Season 1", "Subs", "sample.d", "extras2"),
        fc.string({ minLength: 1, maxLength: 6 }),
      );
      const name = fc.tuple(
        fc.oneof(fc.constantFrom("sample", "Sample", "movie", "resample", "The.Sample.Ep", "x-SAMPLE-y"), fc.string({ minLength: 1, maxLength: 6 })),
        fc.constantFrom(".mkv", ".mp4", ".nfo", ".NFO", ".srt", ".txt", ""),
      );
      const file = fc.record({ within: fc.array(seg, { maxLength: 3 }), name, size: fc.nat({ max: 5000 }), typed: fc.boolean() });
      fc.assert(
        fc.property(fc.uniqueArray(file, { minLength: 1, maxLength: 12, selector: (f) => [...f.within, f.name.join("")].join("/") }), (spec) => {
          const files = spec.map((f, i): PlanCandidate => {
            const n = f.name.join("");
            const video = /\.(mkv|mp4)$/.test(n);
            return {
              file: { id: i + 1, name: n, size: f.size, file_type: video && f.typed ? "VIDEO" : undefined },
              putioPath: [...f.within, n].join("/"),
              within: f.within,
            };
          });
          const keep = keepNotExtras(files);
          assert.equal(keep.length, files.length);
          assert.ok(keep.some(Boolean), "never empties a release");
          const videos = files.filter((f) => /\.(mkv|mp4)$/i.test(f.file.name));
          const biggest = Math.max(-1, ...videos.map((v) => v.file.size));
          if (videos.length)
            assert.ok(
              files.some((f, i) => keep[i] && videos.includes(f) && f.file.size === biggest),
              "the largest video is kept",
            );
          const ruleLeftSomething = files.some((f, i) => keep[i] === false);
          if (!ruleLeftSomething) return;
          files.forEach((f, i) => {
            if (!keep[i] || (videos.includes(f) && f.file.size === biggest)) return;
            assert.ok(!f.within.some((d) => EXTRAS_FOLDERS.has(d.trim().toLowerCase())), `kept in an extras folder: ${f.putioPath}`);
            assert.ok(!/\.nfo$/i.test(f.file.name), `kept an .nfo: ${f.putioPath}`);
          });
          // A permutation of the release is the same choice.
          const reversed = keepNotExtras([...files].reverse()).reverse();
          assert.deepEqual(reversed, keep);
        }),
        { numRuns: RUNS },
      );
    });
  });

  describe("in Node-RED", () => {
    const f = transmissionFixture("putio-trs-");
    const flow = transmissionFlow(f);
    const FIELDS = ["id", "name", "isFinished", "errorString", "status", "totalSize", "leftUntilDone", "files", "fileCount"];
    const finished = (c: Parameters<typeof flow.settle>[0], hash: string, name: string, dir: string) => flow.settle(c, hash, name, dir, FIELDS);

    const MAIN = Buffer.alloc(64 * 1024, 7);
    const release = () => [
      { name: "Movie.2019.1080p.mkv", data: MAIN },
      { name: "Movie.2019.1080p.en.srt", data: Buffer.from("1\n00:00:01,000 --> 00:00:02,000\nhi\n") },
      { name: "Sample/movie.2019.1080p-sample.mkv", data: Buffer.alloc(2048, 1) },
      { name: "Extras/Making.Of.mkv", data: Buffer.alloc(8192, 2) },
      { name: "movie.2019.1080p.nfo", data: Buffer.from("release notes") },
    ];

    it("a category torrent lands without its samples and extras, finishes with only what was copied, lists them, and its removal leaves nothing of it on put.io or on disk", async () => {
      f.emu.knobs.transferContents["Movie.2019.1080p"] = release();
      await flow.load();
      const c = await flow.client();
      const t = await finished(c, HASH_A, "Movie.2019.1080p", `${f.work}/movies`);
      assert.equal(t.errorString, "");
      assert.equal(t.isFinished, true);
      assert.equal(t.leftUntilDone, 0);
      const dir = path.join(f.work, "movies", "Movie.2019.1080p");
      assert.deepEqual(tree(dir), ["Movie.2019.1080p.en.srt", "Movie.2019.1080p.mkv"]);
      assert.ok(fs.readFileSync(path.join(dir, "Movie.2019.1080p.mkv")).equals(MAIN));
      assert.deepEqual(t.files.map((x: any) => x.name).sort(), ["Movie.2019.1080p/Movie.2019.1080p.en.srt", "Movie.2019.1080p/Movie.2019.1080p.mkv"]);
      assert.equal(t.fileCount, 2, "skipped files do not count");
      const onDisk = flow.events.find((e) => e.topic === "transmission/on-disk");
      assert.deepEqual([...onDisk.payload.skipped].sort(), [
        "Movie.2019.1080p/Extras/Making.Of.mkv",
        "Movie.2019.1080p/Sample/movie.2019.1080p-sample.mkv",
        "Movie.2019.1080p/movie.2019.1080p.nfo",
      ]);
      const transfer = f.emu.state.transfers()[0]!;
      const folderId = f.emu.state.getTransfer(transfer.id)!.file_id as number;
      // Nothing of the skipped files was read from put.io's storage; the main video was.
      const all = (id: number): Array<{ id: number; name: string }> =>
        f.emu.state.listChildren(id).flatMap((x) => (x.file_type === "FOLDER" ? all(x.id) : [{ id: x.id, name: x.name }]));
      const fetched = (id: number) => f.emu.requests.some((r) => r.path === `/download/${id}` || r.path === `/v2/files/${id}/url`);
      const files = all(folderId);
      assert.equal(files.length, 5);
      for (const x of files) assert.equal(fetched(x.id), /^Movie\.2019\.1080p\.(mkv|en\.srt)$/.test(x.name), x.name);

      await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
      const removed = await until(
        "removed",
        () => flow.events.find((e) => e.topic === "transmission/removed"),
        (e) => !!e,
      );
      assert.equal(removed.payload.putio, "trashed");
      assert.equal(f.emu.state.getFile(folderId), undefined, "the put.io folder went, skipped files with it");
      assert.equal(f.emu.state.getTransfer(transfer.id), undefined);
      assert.equal(fs.existsSync(dir), false, "nothing of it on disk");
    });

    it("without a category (transmission-remote's add) the default copies everything; 'copy everything' does so in a category; 'every torrent' skips without one", async () => {
      f.emu.knobs.transferContents["Movie.2019.1080p"] = release();
      f.emu.knobs.transferContents["Other.2020"] = [
        { name: "Other.2020.mkv", data: MAIN },
        { name: "other.nfo", data: Buffer.from("n") },
      ];
      await flow.load();
      const c = await flow.client();
      const t = await finished(c, HASH_A, "Movie.2019.1080p", f.work);
      assert.equal(t.errorString, "");
      assert.equal(tree(path.join(f.work, "Movie.2019.1080p")).length, 5, "all five files");
      assert.equal(flow.events.find((e) => e.topic === "transmission/on-disk").payload.skipped, undefined);

      await nr.helper.unload();
      fs.rmSync(path.join(f.work, "Movie.2019.1080p"), { recursive: true });
      await flow.load({ path: "/other/rpc", skipExtras: "none" });
      const c2 = await flow.client("/other/rpc");
      const t2 = await finished(c2, HASH_B, "Other.2020", `${f.work}/movies`);
      assert.equal(t2.errorString, "");
      assert.deepEqual(tree(path.join(f.work, "movies", "Other.2020")), ["Other.2020.mkv", "other.nfo"]);

      await nr.helper.unload();
      await flow.load({ path: "/third/rpc", skipExtras: "all" });
      const c3 = await flow.client("/third/rpc");
      const hashC = "fedcba9876543210fedcba9876543210fedcba98";
      f.emu.knobs.transferContents["Third.2021"] = [
        { name: "Third.2021.mkv", data: MAIN },
        { name: "third.nfo", data: Buffer.from("n") },
      ];
      const t3 = await finished(c3, hashC, "Third.2021", f.work);
      assert.equal(t3.errorString, "");
      assert.deepEqual(tree(path.join(f.work, "Third.2021")), ["Third.2021.mkv"]);
    });

    it("a release named Sample… whose only video is that one is copied and finishes; one whose files are all extras is copied whole and finishes", async () => {
      f.emu.knobs.transferContents["Sample.Movie.2019"] = [
        { name: "Sample.Movie.2019.mkv", data: MAIN },
        { name: "Sample/Sample.Movie.2019.nfo", data: Buffer.from("n") },
      ];
      f.emu.knobs.transferContents["Notes.Only"] = [
        { name: "Extras/readme.txt", data: Buffer.from("r") },
        { name: "notes.nfo", data: Buffer.from("n") },
      ];
      await flow.load();
      const c = await flow.client();
      const t = await finished(c, HASH_A, "Sample.Movie.2019", `${f.work}/movies`);
      assert.equal(t.errorString, "");
      assert.equal(t.name, "Sample.Movie.2019");
      assert.deepEqual(tree(path.join(f.work, "movies", "Sample.Movie.2019")), ["Sample.Movie.2019.mkv"]);
      const t2 = await finished(c, HASH_B, "Notes.Only", `${f.work}/movies`);
      assert.equal(t2.errorString, "");
      assert.deepEqual(tree(path.join(f.work, "movies", "Notes.Only")), ["Extras/readme.txt", "notes.nfo"]);
    });
  });
});
