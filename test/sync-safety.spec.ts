/**
 * The putio-sync node keeps what the user owns, in a real Node-RED runtime against the emulator:
 * a user's edit of a synced file (between runs, and during a run that replaces the file) is kept
 * as a local copy; one bad listing of put.io (empty, an empty subfolder, a first page that ends
 * early) removes nothing; a file without put.io's CRC32 is never adopted by its size; case twins
 * settle after one of them is deleted on put.io.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { crc32, crcHex } from "../lib/core/crc";
import { isKeptCopyName, keptCopyName, replaceOwnCopy } from "../lib/local/conflict";
import { nodeFs } from "../lib/local/fs";
import { sanitizeName } from "../lib/local/names";
import { type ListingGlitch } from "./emulator";
import { exfatUnavailable, mountExfat, type ExfatMount } from "./support/exfat";
import { nextMessage, nr, statusMatching } from "./nr";
import { useSyncNode } from "./support/sync-node";

const MiB = 1024 * 1024;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Every regular file under `dir` (the package's own `.putio-` names included) → its bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const visit = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(full, r);
      else if (e.isFile()) out.set(r, fs.readFileSync(full));
    }
  };
  if (fs.existsSync(dir)) visit(dir, "");
  return out;
}

// On the machine's temp folder, and on exFAT (case-insensitive, no hard links: the commits' other path).
for (const disk of ["tmp", "exfat"] as const)
  describe(`putio-sync keeps what the user owns (${disk}) @nr`, function () {
    this.timeout(90_000);
    let mount: ExfatMount | null = null;

    before(async function () {
      if (disk !== "exfat") return;
      const reason = exfatUnavailable();
      if (reason) {
        console.warn(`      exFAT skipped: ${reason}`);
        this.skip();
      }
      mount = await mountExfat();
    });
    after(async () => {
      await mount?.unmount();
    });

    const rig = useSyncNode({ work: "putio-sync-safety-", workIn: () => (mount ? mount.dir : os.tmpdir()) });
    const { loadSync: load, run, storageGets } = rig;

    /** The bytes are in some file under the target (its own folder, a kept copy or the local trash). */
    const keptSomewhere = (bytes: Buffer) => [...filesUnder(rig.target).values()].some((b) => b.equals(bytes));

    describe("a user's edit of a synced file", () => {
      it("edited in place between runs (same inode), put.io unchanged: the edit is kept as a local copy, put.io's version goes back", async () => {
        const m = rig.emu.state.addFolder(0, "Media");
        const f0 = rig.emu.state.addFile(m.id, "f0.mkv", Buffer.from("put.io's bytes"));
        await load({});
        await run();
        const file = path.join(rig.target, "f0.mkv");
        const ino = fs.statSync(file).ino;
        fs.appendFileSync(file, " + the user's own additions");
        assert.equal(fs.statSync(file).ino, ino, "edited in place");
        const edited = fs.readFileSync(file);

        const r = await run();
        assert.ok(keptSomewhere(edited), "the edited bytes are kept");
        assert.deepEqual(
          r.keptCopies.map((k: any) => k.path),
          ["f0.mkv"],
        );
        assert.ok(fs.readFileSync(path.join(rig.target, ...r.keptCopies[0].keptAs.split("/"))).equals(edited), "the report says where");
        assert.match(r.keptCopies[0].keptAs, /^f0 \(local copy [0-9 -]+\)\.mkv$/);
        assert.ok(fs.readFileSync(file).equals(rig.emu.state.fileBytes(f0.id)), "put.io's version at its path");
        assert.deepEqual(r.failed, []);

        // Settled: the next run copies nothing, and the kept copy stays (also with "remove local extras").
        await nr.helper.unload();
        await load({ removeExtras: true, propagateDeletes: true });
        const again = await run();
        assert.deepEqual([again.copied, again.deleted, again.failed, again.keptCopies], [[], [], [], []]);
        assert.ok(keptSomewhere(edited));
      });

      it("edited in place while a run replaces the file with put.io's new version: the edit is kept", async () => {
        const m = rig.emu.state.addFolder(0, "Media");
        const f0 = rig.emu.state.addFile(m.id, "f0.mkv", { size: MiB, seed: 1 });
        await load({});
        await run();
        rig.emu.state.replaceFileContent(f0.id, { size: 4 * MiB, seed: 2 });
        rig.emu.knobs.storageLinkBytesPerSec = MiB; // about 4 s, however many connections: the user edits meanwhile
        const file = path.join(rig.target, "f0.mkv");
        const got = nextMessage("out");
        nr.node("sync").receive({ payload: "go" });
        const part = path.join(rig.target, ".putio-sync-tmp", `dl-${f0.id}`, `.putio-${f0.id}.part`);
        await until(() => fs.existsSync(part), "the download of the new version");
        const fd = fs.openSync(file, "r+");
        fs.writeSync(fd, Buffer.from("the user's edit"), 0, undefined, 100);
        fs.closeSync(fd);
        const edited = fs.readFileSync(file);
        const r = (await got).payload;
        assert.ok(keptSomewhere(edited), "the edited bytes are kept");
        assert.deepEqual(
          r.keptCopies.map((k: any) => k.path),
          ["f0.mkv"],
        );
        assert.ok(fs.readFileSync(file).equals(rig.emu.state.fileBytes(f0.id)), "put.io's new version at its path");
      });

      it("a file put.io deletes that the user edited since is kept, never trashed (deletions propagated)", async () => {
        const m = rig.emu.state.addFolder(0, "Media");
        const f0 = rig.emu.state.addFile(m.id, "f0.txt", Buffer.from("notes"));
        await load({ propagateDeletes: true });
        await run();
        fs.appendFileSync(path.join(rig.target, "f0.txt"), ", and mine");
        await rig.client.files.delete([f0.id]);
        const r = await run();
        assert.deepEqual([r.deleted, r.kept], [[], [{ path: "f0.txt" }]]);
        assert.equal(fs.readFileSync(path.join(rig.target, "f0.txt"), "utf8"), "notes, and mine");
      });
    });

    describe("one bad listing of put.io removes nothing", () => {
      async function library() {
        const m = rig.emu.state.addFolder(0, "Media");
        const tv = rig.emu.state.addFolder(m.id, "TV");
        for (let i = 0; i < 4; i++) rig.emu.state.addFile(m.id, `f${i}.mkv`, Buffer.from(`film ${i}`));
        for (let i = 0; i < 4; i++) rig.emu.state.addFile(tv.id, `e${i}.mkv`, Buffer.from(`episode ${i}`));
        await load({ propagateDeletes: true, removeExtras: true });
        const first = await run();
        assert.equal(first.copied.length, 8);
        return { m, tv };
      }
      const synced = () => [...filesUnder(rig.target).keys()].filter((k) => !k.startsWith(".putio-")).sort();

      for (const [what, glitch] of [
        ["an empty answer for the synced folder", (ids: { m: { id: number } }) => ({ folder: ids.m.id, keep: 0 })],
        ["an empty answer for a subfolder", (ids: { tv: { id: number } }) => ({ folder: ids.tv.id, keep: 0 })],
        ["a first page whose cursor is null (the rest missing)", (ids: { m: { id: number } }) => ({ folder: ids.m.id, keep: 2 })],
      ] as const) {
        it(`${what}: nothing trashed or forgotten, the report says why; the next run downloads nothing`, async () => {
          const ids = await library();
          const before = synced();
          assert.equal(before.length, 8);
          rig.emu.knobs.listingGlitches = [(glitch as (i: typeof ids) => ListingGlitch)(ids)];
          const r = await run();
          assert.deepEqual([r.deleted, r.kept, r.failed], [[], [], []]);
          assert.match(String(r.removalsHeld), /listing of \/Media(\/TV)? holds \d of \d items and \d+ of \d+ bytes: nothing is trashed or forgotten/);
          assert.deepEqual(synced(), before, "every synced file in place");
          const status = await statusMatching("sync", (st) => st?.text === "in sync, removals held");
          assert.equal(status.fill, "yellow");
          const gets = storageGets();
          const again = await run();
          assert.deepEqual([again.copied, again.deleted, again.skipped, again.removalsHeld], [[], [], 8, null]);
          assert.equal(storageGets(), gets, "nothing downloaded again");
        });
      }

      it("a real delete still propagates in the next run that lists the folder right", async () => {
        const { tv } = await library();
        const e0 = rig.emu.state
          .childrenOf(rig.emu.state.users.get(rig.emu.state.defaultUserId)!, rig.emu.state.files.get(tv.id)!)
          .find((c) => c.name === "e0.mkv")!;
        await rig.client.files.delete([e0.id]);
        rig.emu.knobs.listingGlitches = [{ folder: tv.id, keep: 1 }];
        let r = await run();
        assert.deepEqual(r.deleted, []);
        r = await run();
        assert.deepEqual(
          r.deleted.map((d: any) => d.path),
          ["TV/e0.mkv"],
        );
      });

      it("syncing the account root (whose size is the account's usage): a file missing once stays; missing twice, it goes", async () => {
        const a = rig.emu.state.addFile(0, "a.txt", Buffer.from("aaa"));
        rig.emu.state.addFile(0, "b.txt", Buffer.from("bbb"));
        await load({ folder: "", propagateDeletes: true });
        await run();
        rig.emu.knobs.listingGlitches = [{ folder: 0, keep: 0 }];
        let r = await run();
        assert.deepEqual([r.deleted, r.kept], [[], []]);
        assert.match(String(r.removalsHeld), /listing of \/ holds 0 of 2 items.*nothing is trashed/);
        r = await run();
        assert.deepEqual([r.deleted, r.skipped, r.removalsHeld], [[], 2, null], "listed right again: nothing was ever gone");
        await rig.client.files.delete([a.id]);
        r = await run();
        assert.deepEqual(r.deleted, [], "missing once");
        assert.match(String(r.removalsHeld), /1 local files .* stay until the next run/);
        assert.ok(fs.existsSync(path.join(rig.target, "a.txt")));
        r = await run();
        assert.deepEqual(
          r.deleted.map((d: any) => d.path),
          ["a.txt"],
          "missing twice",
        );
      });
    });

    it("a put.io file without CRC32 and a user's file of the same size: the user's file is never adopted, kept as it is", async () => {
      const m = rig.emu.state.addFolder(0, "Media");
      const v = rig.emu.state.addFile(m.id, "video.mkv", Buffer.from("put.io's video bytes!"));
      rig.emu.knobs.noCrc32 = [v.id];
      fs.mkdirSync(rig.target, { recursive: true });
      const mine = Buffer.from("the user's own video!");
      assert.equal(mine.length, rig.emu.state.fileBytes(v.id).length);
      fs.writeFileSync(path.join(rig.target, "video.mkv"), mine);
      await load({});
      let r = await run();
      assert.equal(r.skipped, 0, "not adopted by its size");
      assert.deepEqual(
        r.failed.map((f: any) => f.path),
        ["video.mkv"],
      );
      assert.match(r.failed[0].error, /not written by the sync/);
      // Were it adopted, a new version on put.io would now replace the user's file.
      rig.emu.state.replaceFileContent(v.id, Buffer.from("put.io's second cut"));
      r = await run();
      assert.ok(fs.readFileSync(path.join(rig.target, "video.mkv")).equals(mine), "the user's file is untouched");
    });

    it("a synced file without put.io's CRC32 that got another inode (an exFAT remount, a restore keeping its mtime): its own bytes are still the sync's; another's are not", async () => {
      const m = rig.emu.state.addFolder(0, "Media");
      const v = rig.emu.state.addFile(m.id, "video.mkv", Buffer.from("put.io's video bytes!"));
      const w = rig.emu.state.addFile(m.id, "other.mkv", Buffer.from("put.io's other bytes!"));
      rig.emu.knobs.noCrc32 = [v.id, w.id];
      await load({});
      await run();
      /** The file at `name` becomes a new inode with `bytes`, keeping size and mtime. */
      const renumber = (name: string, bytes: Buffer) => {
        const file = path.join(rig.target, name);
        const st = fs.statSync(file);
        fs.writeFileSync(file + ".new", bytes);
        fs.utimesSync(file + ".new", st.atime, st.mtime);
        fs.renameSync(file + ".new", file);
      };
      renumber("video.mkv", rig.emu.state.fileBytes(v.id));
      const mine = Buffer.from("the user's own bytes!");
      renumber("other.mkv", mine);
      const r = await run();
      assert.deepEqual(
        r.failed.map((f: any) => f.path),
        ["other.mkv"],
      );
      assert.equal(r.skipped, 1, "video.mkv: the sync's own bytes, adopted by the CRC32 it recorded");
      assert.ok(fs.readFileSync(path.join(rig.target, "other.mkv")).equals(mine), "the user's bytes stay");
      const again = await run();
      assert.deepEqual([again.copied, again.failed.length, again.skipped], [[], 1, 1]);
    });

    it("case twins x.mkv / X.mkv, then x.mkv deleted on put.io (deletions not propagated): the runs settle", async () => {
      const m = rig.emu.state.addFolder(0, "Media");
      const x = rig.emu.state.addFile(m.id, "x.mkv", Buffer.from("lower"));
      const X = rig.emu.state.addFile(m.id, "X.mkv", Buffer.from("UPPER"));
      await load({});
      const first = await run();
      assert.deepEqual(first.copied.map((c: any) => c.path).sort(), [`X [putio-${X.id}].mkv`, "x.mkv"]);
      await rig.client.files.delete([x.id]);
      let r = await run();
      assert.deepEqual([r.kept, r.failed], [[{ path: "x.mkv" }], []]);
      for (let i = 0; i < 2; i++) {
        r = await run();
        assert.deepEqual([r.failed, r.copied, r.renamed], [[], [], []], `run ${i + 3} settles`);
      }
      assert.equal(fs.readFileSync(path.join(rig.target, "x.mkv"), "utf8"), "lower");
      assert.equal(fs.readFileSync(path.join(rig.target, `X [putio-${X.id}].mkv`), "utf8"), "UPPER");
    });
  });

describe("kept copies of the user's versions (lib/local/conflict.ts) @nr", () => {
  it("a kept copy's name fits the name limit, keeps the extension, and is recognised as one (fast-check)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 120 }), fc.integer({ min: 1, max: 2000 }), (raw, n) => {
        const name = sanitizeName(raw);
        const kept = keptCopyName(name, "2026-12-06 07-12-30", n);
        assert.ok(Buffer.byteLength(kept) <= 240, kept);
        assert.ok(isKeptCopyName(`a/b/${kept}`), kept);
        assert.equal(sanitizeName(kept), kept, "a clean name stays clean");
      }),
      { numRuns: 300 },
    );
    assert.equal(keptCopyName("f0.mkv", "2026-12-06 07-12-30"), "f0 (local copy 2026-12-06 07-12-30).mkv");
    assert.equal(isKeptCopyName("f0 (local copy).mkv"), false);
  });

  it("replaceOwnCopy: the package's unchanged copy is replaced; one edited without a change of size or mtime is kept (CRC32)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-kept-"));
    try {
      const to = path.join(dir, "f.bin");
      fs.writeFileSync(to, "ours-1");
      const st = fs.statSync(to);
      const own = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, crc: crcHex(crc32(Buffer.from("ours-1"))) };
      fs.writeFileSync(path.join(dir, "new1"), "new-1");
      assert.equal(await replaceOwnCopy(nodeFs, path.join(dir, "new1"), to, own), null);
      assert.equal(fs.readFileSync(to, "utf8"), "new-1");
      assert.deepEqual(fs.readdirSync(dir), ["f.bin"], "the old copy is gone, nothing left aside");

      // The user overwrites the bytes in place and puts the mtime back (or the file system keeps whole seconds).
      const st2 = fs.statSync(to);
      const own2 = { dev: st2.dev, ino: st2.ino, size: st2.size, mtimeMs: st2.mtimeMs, crc: crcHex(crc32(Buffer.from("new-1"))) };
      fs.writeFileSync(to, "mine!");
      fs.utimesSync(to, st2.atime, st2.mtime);
      fs.writeFileSync(path.join(dir, "new2"), "new-2");
      const keptAs = await replaceOwnCopy(nodeFs, path.join(dir, "new2"), to, own2);
      assert.ok(keptAs && isKeptCopyName(keptAs), String(keptAs));
      assert.equal(fs.readFileSync(keptAs!, "utf8"), "mine!");
      assert.equal(fs.readFileSync(to, "utf8"), "new-2");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
