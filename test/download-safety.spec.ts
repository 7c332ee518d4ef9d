/**
 * Download safety at the edges, against the emulator: names that collide after cleaning or under
 * case/Unicode folding, the user's own files at our old temp names, storage that ignores Range,
 * links at temp and final paths, targets that cannot be created, handles and listeners on the
 * error paths, and two jobs writing one folder at once.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PutioInputError } from "../lib/core/errors";
import type { EngineOptions } from "../lib/download";
import { foldName, nodeFs, planLocalNames, type LocalFs } from "../lib/local";
import { tree } from "./support/files";
import { useDownloadFixture } from "./support/download";
import type { Emulator } from "./emulator";

const MiB = 1024 * 1024;
const FAST: Partial<EngineOptions> = { stallMs: 2_000, backoffBaseMs: 1, backoffMaxMs: 5, checkpointMs: 20 };

describe("download safety", function () {
  this.timeout(60_000);
  const fx = useDownloadFixture({ engine: FAST, tmpPrefix: "putio-safe-" });
  const { scheduler, assertSameAsRemote, downloadRequests } = fx;
  let emu: Emulator;
  let work: string;
  let target: string;
  beforeEach(() => ({ emu, work, target } = fx));

  describe("names that collide", () => {
    const COLLIDING = [
      "a",
      "b",
      "z",
      "z.",
      "a:b",
      "a_b",
      "Movie?",
      "Movie*",
      "..",
      ".",
      "   ",
      "...",
      "Film.mkv",
      "film.MKV",
      "caf\u00e9",
      "cafe\u0301",
      "CON",
      "_CON",
    ];

    it("every remote file gets its own local path (also under case and Unicode folding), deterministic across runs, and delete-after deletes each verified file", async () => {
      const folder = emu.state.addFolder(0, "Batch");
      const ids = COLLIDING.map((n, i) => emu.state.addFile(folder.id, n, Buffer.from(`content of #${i} ${JSON.stringify(n)}`)).id);
      const remote = new Map(ids.map((id) => [id, emu.state.fileBytes(id)]));
      const r = await scheduler({ filesAtOnce: 4 }).run({ source: { folderId: folder.id }, target, deleteAfter: {} });
      assert.equal(r.failed, 0, JSON.stringify(r.errors.map((e) => e.error.message)));
      assert.equal(r.downloaded, COLLIDING.length);
      const paths = r.files.map((f) => f.path);
      assert.equal(new Set(paths.map(foldName)).size, paths.length, "local paths distinct after folding");
      for (const f of r.files) assert.ok(fs.readFileSync(f.path).equals(remote.get(f.fileId)!), `bytes of ${f.path}`);
      assert.deepEqual(new Set(r.deletedFileIds), new Set(ids));
      // The names that needed no cleaning keep them; the others carry their put.io id.
      const byId = new Map(r.files.map((f) => [f.fileId, path.basename(f.path)]));
      assert.equal(byId.get(ids[COLLIDING.indexOf("a_b")]), "a_b");
      assert.equal(byId.get(ids[COLLIDING.indexOf("a:b")]), `a_b [putio-${ids[COLLIDING.indexOf("a:b")]}]`);
      assert.equal(byId.get(ids[COLLIDING.indexOf("z")]), "z");
      assert.equal(byId.get(ids[COLLIDING.indexOf("Film.mkv")]), "Film.mkv");
      assert.equal(byId.get(ids[COLLIDING.indexOf("film.MKV")]), `film [putio-${ids[COLLIDING.indexOf("film.MKV")]}].MKV`);
      assert.equal(tree(target).length, COLLIDING.length, tree(target).join("\n"));
    });

    it("a second run maps every file to the same path again (all skipped as identical)", async () => {
      const folder = emu.state.addFolder(0, "Again");
      for (const [i, n] of COLLIDING.entries()) emu.state.addFile(folder.id, n, Buffer.from(`again #${i}`));
      const first = await scheduler().run({ source: { folderId: folder.id }, target });
      const second = await scheduler().run({ source: { folderId: folder.id }, target });
      assert.equal(second.skipped, COLLIDING.length);
      const where = (r: typeof first) => new Map(r.files.map((f) => [f.fileId, f.path]));
      assert.deepEqual(where(second), where(first));
    });

    it("a folder and a file that clean up to one name do not merge", async () => {
      const top = emu.state.addFolder(0, "Mix");
      const dir = emu.state.addFolder(top.id, "x:");
      emu.state.addFile(dir.id, "inner.txt", Buffer.from("inner"));
      const file = emu.state.addFile(top.id, "x_", Buffer.from("file"));
      const r = await scheduler().run({ source: { folderId: top.id }, target });
      assert.equal(r.failed, 0, JSON.stringify(r.errors.map((e) => e.error.message)));
      assert.equal(r.files.find((f) => f.fileId === file.id)!.path, path.join(target, "Mix", "x_"));
      assert.equal(r.files.find((f) => f.fileId !== file.id)!.path, path.join(target, "Mix", `x_ [putio-${dir.id}]`, "inner.txt"));
    });

    it("planLocalNames does not depend on the order it is given", () => {
      const entries = COLLIDING.map((n, i) => ({ folders: [], file: { id: 100 + i, name: n } }));
      const a = planLocalNames(entries).map((p) => p.name);
      const b = planLocalNames([...entries].reverse())
        .map((p) => p.name)
        .reverse();
      assert.deepEqual(a, b);
    });

    it("two jobs writing the same files into one folder at once: each path written by one file at a time, both jobs end verified", async () => {
      const folder = emu.state.addFolder(0, "Twice");
      for (const n of ["z", "z.", "Z", "k"]) emu.state.addFile(folder.id, n, { size: 2 * MiB + n.length, seed: n.charCodeAt(0) });
      // Two schedulers: as two accounts' download nodes would be.
      const [r1, r2] = await Promise.all([
        scheduler().run({ source: { folderId: folder.id }, target }),
        scheduler().run({ source: { folderId: folder.id }, target }),
      ]);
      assert.equal(r1.failed + r2.failed, 0, JSON.stringify([...r1.errors, ...r2.errors].map((e) => e.error.message)));
      assert.equal(r1.downloaded + r2.downloaded, 4, "each file downloaded once");
      assert.equal(r1.skipped + r2.skipped, 4, "the other job found it identical");
      for (const f of [...r1.files, ...r2.files]) assertSameAsRemote(f.path, f.fileId);
      assert.equal(tree(target).length, 4, tree(target).join("\n"));
    });
  });

  describe("the user's own files", () => {
    it("files named like the old temp names (x.bin.part, y.bin.part.json) are never touched", async () => {
      const x = emu.state.addFile(0, "x.bin", Buffer.from("remote x"));
      const y = emu.state.addFile(0, "y.bin", { size: 3 * MiB, seed: 9 });
      fs.mkdirSync(target, { recursive: true });
      fs.writeFileSync(path.join(target, "x.bin.part"), "the user's own x.bin.part");
      fs.writeFileSync(path.join(target, "y.bin.part.json"), "the user's own state-like file");
      for (const f of [x, y]) {
        const r = await scheduler().run({ source: { fileId: f.id }, target });
        assert.equal(r.downloaded, 1);
        assertSameAsRemote(r.files[0].path, f.id);
      }
      assert.equal(fs.readFileSync(path.join(target, "x.bin.part"), "utf8"), "the user's own x.bin.part");
      assert.equal(fs.readFileSync(path.join(target, "y.bin.part.json"), "utf8"), "the user's own state-like file");
      assert.deepEqual(tree(target), ["x.bin", "x.bin.part", "y.bin", "y.bin.part.json"]);
    });

    it("a file at our temp path without our state is refused and left as it was; the job's other files still arrive", async () => {
      const folder = emu.state.addFolder(0, "F");
      const a = emu.state.addFile(folder.id, "a.bin", Buffer.from("remote a"));
      const b = emu.state.addFile(folder.id, "b.bin", Buffer.from("remote b"));
      const dir = path.join(target, "F");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `.putio-${a.id}.part`), "not ours");
      fs.writeFileSync(path.join(dir, `.putio-${b.id}.part.json`), '{"v":1}');
      const r = await scheduler().run({ source: { folderId: folder.id }, target, deleteAfter: {} });
      assert.equal(r.failed, 2);
      for (const e of r.errors) assert.match(e.error.message, /did not create it and left it alone/);
      assert.equal(fs.readFileSync(path.join(dir, `.putio-${a.id}.part`), "utf8"), "not ours");
      assert.equal(fs.readFileSync(path.join(dir, `.putio-${b.id}.part.json`), "utf8"), '{"v":1}');
      assert.deepEqual(r.deletedFileIds, [], "nothing deleted when a file failed");
      assert.ok(emu.state.getFile(a.id) && emu.state.getFile(b.id));
    });

    it("a remote file named like our temp files is saved under another name", async () => {
      const f = emu.state.addFile(0, ".putio-1.part", Buffer.from("a remote file with our prefix"));
      const r = await scheduler().run({ source: { fileId: f.id }, target });
      assert.equal(path.basename(r.files[0].path), "_.putio-1.part");
      assertSameAsRemote(r.files[0].path, f.id);
    });
  });

  describe("storage that ignores Range", () => {
    it("a file above the split size falls back to one stream and arrives verified", async () => {
      emu.knobs.ignoreRange = true;
      const f = emu.state.addFile(0, "big.bin", { size: 6 * MiB + 3, seed: 21 });
      const r = await scheduler({ segmentThreshold: MiB, connectionsPerFile: 4 }).run({ source: { fileId: f.id }, target });
      assert.equal(r.downloaded, 1);
      assertSameAsRemote(r.files[0].path, f.id);
      // One refused range is enough to switch: at most one request per range, then the one stream.
      assert.ok(downloadRequests().length <= 5, String(downloadRequests().length));
      assert.deepEqual(tree(target), ["big.bin"]);
    });

    it("cuts start over from byte 0; a failure says the part was removed, and none is left", async () => {
      emu.knobs.ignoreRange = true;
      const f = emu.state.addFile(0, "cut.bin", { size: 2 * MiB, seed: 22 });
      emu.knobs.cutDownloadAfterBytes = MiB;
      emu.knobs.cutsRemaining = 2;
      let r = await scheduler({ segmentThreshold: MiB }).run({ source: { fileId: f.id }, target });
      assert.equal(r.downloaded, 1);
      assertSameAsRemote(r.files[0].path, f.id);
      const g = emu.state.addFile(0, "never.bin", { size: 2 * MiB, seed: 23 });
      emu.knobs.cutsRemaining = null; // every response is cut
      r = await scheduler({ segmentThreshold: MiB }, { retries: 2 }).run({ source: { fileId: g.id }, target });
      assert.equal(r.failed, 1);
      assert.match(r.errors[0].error.message, /does not resume downloads, so the partial file was removed/);
      assert.doesNotMatch(r.errors[0].error.message, /resumes it/);
      assert.deepEqual(tree(target), ["cut.bin"]);
    });
  });

  describe("links", () => {
    it("a link at the temp path is not followed: the file outside is unchanged and the error is clear", async () => {
      const f = emu.state.addFile(0, "l.bin", Buffer.from("remote bytes"));
      const outside = path.join(work, "outside.txt");
      fs.writeFileSync(outside, "outside");
      fs.mkdirSync(target, { recursive: true });
      fs.symlinkSync(outside, path.join(target, `.putio-${f.id}.part`));
      const r = await scheduler().run({ source: { fileId: f.id }, target });
      assert.equal(r.failed, 1);
      assert.match(r.errors[0].error.message, /is a symbolic link/);
      assert.equal(fs.readFileSync(outside, "utf8"), "outside");
      assert.ok(!fs.existsSync(path.join(target, "l.bin")));
    });

    it("a link at the state path or the final path is refused too", async () => {
      const f = emu.state.addFile(0, "m.bin", Buffer.from("remote m"));
      const g = emu.state.addFile(0, "n.bin", Buffer.from("remote n"));
      const outside = path.join(work, "outside.txt");
      fs.writeFileSync(outside, "remote n"); // even an identical file behind a link is not "on disk" here
      fs.mkdirSync(target, { recursive: true });
      fs.symlinkSync(outside, path.join(target, `.putio-${f.id}.part.json`));
      fs.symlinkSync(outside, path.join(target, "n.bin"));
      for (const [file, overwrite] of [
        [f, false],
        [g, false],
        [g, true],
      ] as const) {
        const r = await scheduler().run({ source: { fileId: file.id }, target, ifExists: overwrite ? "overwrite" : "skip-identical", deleteAfter: {} });
        assert.equal(r.failed, 1);
        assert.match(r.errors[0].error.message, /symbolic link/);
        assert.deepEqual(r.deletedFileIds, []);
      }
      assert.equal(fs.readFileSync(outside, "utf8"), "remote n");
      assert.ok(fs.lstatSync(path.join(target, "n.bin")).isSymbolicLink());
    });
  });

  describe("targets", () => {
    it("a target that cannot be created fails fast with a clear error (no hang)", async function () {
      if (process.platform !== "linux") this.skip();
      emu.state.addFile(0, "t.bin", Buffer.from("t"));
      await assert.rejects(
        scheduler().run({ source: { folderId: 0 }, target: "/proc/putio-nas" }),
        (err: Error) => err instanceof PutioInputError && /could not be created/.test(err.message),
      );
      const file = path.join(work, "a-file");
      fs.writeFileSync(file, "x");
      await assert.rejects(scheduler().run({ source: { folderId: 0 }, target: path.join(file, "sub") }), /is not a folder/);
      await assert.rejects(scheduler().run({ source: { folderId: 0 }, target: "relative/dir" }), /not an absolute path/);
    });
  });

  describe("resources on error paths", () => {
    it("every opened handle is closed when writes fail after open, and many waiting files add no listener warning", async () => {
      const folder = emu.state.addFolder(0, "Many");
      for (let i = 0; i < 14; i++) emu.state.addFile(folder.id, `f${i}.bin`, Buffer.from(`file ${i}`));
      let open = 0;
      const failing: LocalFs = {
        ...nodeFs,
        async open(p, flags, mode) {
          const fh = await nodeFs.open(p, flags, mode);
          open++;
          const close = fh.close.bind(fh);
          return Object.assign(Object.create(fh), {
            close: async () => {
              open--;
              await close();
            },
            truncate: async () => {
              throw Object.assign(new Error("no space left"), { code: "ENOSPC" });
            },
            write: fh.write.bind(fh),
            writev: fh.writev.bind(fh),
            read: fh.read.bind(fh),
            sync: fh.sync.bind(fh),
            stat: fh.stat.bind(fh),
          });
        },
      };
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on("warning", onWarning);
      try {
        const r = await scheduler({ filesAtOnce: 1 }, {}, failing).run({ source: { folderId: folder.id }, target });
        assert.equal(r.failed, 14);
        assert.match(r.errors[0].error.message, /disk is full/);
      } finally {
        process.off("warning", onWarning);
      }
      assert.equal(open, 0, "handles left open");
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
      assert.deepEqual(
        tree(target).filter((p) => p.includes(".putio-")),
        [],
        "no temp files left",
      );
    });
  });

  describe("the last look before put.io's copy is deleted", () => {
    // The user (or another program) acts on a file after the job verified it and before the
    // deletion: the job's onFile callback runs in exactly that gap.
    const CHANGES: Array<[string, (p: string) => void]> = [
      ["deleted", (p) => fs.unlinkSync(p)],
      [
        "edited in place (same size)",
        (p) => {
          const fd = fs.openSync(p, "r+");
          fs.writeSync(fd, Buffer.from("EDIT"), 0, 4, 0);
          fs.closeSync(fd);
        },
      ],
      [
        "edited in place, its mtime put back",
        (p) => {
          const st = fs.statSync(p);
          const fd = fs.openSync(p, "r+");
          fs.writeSync(fd, Buffer.from("EDIT"), 0, 4, 0);
          fs.closeSync(fd);
          fs.utimesSync(p, st.atime, st.mtime);
        },
      ],
      [
        "replaced by a copy of the same bytes (another file now)",
        (p) => {
          fs.writeFileSync(p + ".tmp", fs.readFileSync(p));
          fs.renameSync(p + ".tmp", p);
        },
      ],
      ["renamed away", (p) => fs.renameSync(p, p + ".moved")],
    ];

    for (const [what, change] of CHANGES) {
      it(`a verified file ${what} before the deletion: nothing is deleted on put.io, and the error names the file`, async () => {
        const folder = emu.state.addFolder(0, "Look");
        const a = emu.state.addFile(folder.id, "a.mkv", Buffer.alloc(64 * 1024, 7));
        const b = emu.state.addFile(folder.id, "b.mkv", Buffer.alloc(64 * 1024, 9));
        let changed = "";
        const run = scheduler({ filesAtOnce: 1 }).run({
          source: { folderId: folder.id },
          target,
          deleteAfter: { skipTrash: true },
          onFile: (r) => {
            if (r.fileId !== a.id) return;
            change(r.path);
            changed = r.path;
          },
        });
        await assert.rejects(run, (err: Error & { code?: string }) => {
          assert.equal(err.code, "download.not-on-disk", err.message);
          assert.ok(err.message.includes(changed), err.message);
          return true;
        });
        assert.ok(changed, "the change was made");
        assert.deepEqual(emu.state.deletionLog, [], "put.io deleted nothing");
        assert.ok(emu.state.getFile(a.id) && emu.state.getFile(b.id));
      });
    }

    it("untouched, the same job deletes both files (the check above is what stops it)", async () => {
      const folder = emu.state.addFolder(0, "Look");
      const a = emu.state.addFile(folder.id, "a.mkv", Buffer.alloc(64 * 1024, 7));
      const b = emu.state.addFile(folder.id, "b.mkv", Buffer.alloc(64 * 1024, 9));
      const r = await scheduler({ filesAtOnce: 1 }).run({ source: { folderId: folder.id }, target, deleteAfter: { skipTrash: true }, onFile: () => {} });
      assert.deepEqual(new Set(r.deletedFileIds), new Set([a.id, b.id]));
    });
  });

  describe("dry run", () => {
    it("lists where every file would land and what would be deleted; writes and deletes nothing", async () => {
      const folder = emu.state.addFolder(0, "Dry");
      const a = emu.state.addFile(folder.id, "z", Buffer.from("z"));
      const b = emu.state.addFile(folder.id, "z.", Buffer.from("z."));
      const before = emu.requests.length;
      const r = await scheduler().run({ source: { folderId: folder.id }, target, deleteAfter: {}, dryRun: true });
      assert.equal(r.downloaded, 0);
      assert.deepEqual(
        r.dryRun!.files.map((f) => [f.fileId, f.path]).sort(),
        [
          [a.id, path.join(target, "Dry", "z")],
          [b.id, path.join(target, "Dry", `z [putio-${b.id}]`)],
        ].sort(),
      );
      assert.deepEqual(new Set(r.dryRun!.wouldDeleteFileIds), new Set([a.id, b.id]));
      assert.ok(!fs.existsSync(target), "nothing written, not even the target folder");
      assert.ok(emu.requests.slice(before).every((q) => !q.path.startsWith("/download/") && !q.path.includes("delete")));
      assert.ok(emu.state.getFile(a.id) && emu.state.getFile(b.id));
    });
  });
});
