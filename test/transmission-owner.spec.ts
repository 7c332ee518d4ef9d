/**
 * putio-transmission's owner and mode of what lands on the NAS (lib/transmission/owner.ts), in a
 * real Node-RED against the emulator: as root, the uid, gid and modes are on every file the node
 * wrote and every folder it created, never on the user's folders or files, and already when the
 * flow hears the torrent is on disk; as another user, a chown put.io's copy cannot do fails the
 * torrent with a clear errorString (Node-RED keeps serving) while modes alone work. Run as root,
 * the non-root test runs again in a child process as user nobody (65534), so it is never skipped
 * on a machine where the tests run as root.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { applyOwner, parseId, parseMode } from "../lib/transmission/owner";
import { nr } from "./nr";
import { until } from "./support/transmission-rpc";
import { transmissionFixture } from "./support/transmission-fixture";
import { HASH_A, HASH_B, transmissionFlow } from "./support/transmission-flow";
const IS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** This spec's tests titled `[non-root]`, run as user nobody; resolves with the exit code and the output. */
function runAsNobody(): Promise<{ code: number | null; out: string }> {
  const mocha = path.join(process.cwd(), "node_modules", "mocha", "bin", "mocha.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mocha, __filename, "--grep", "\\[non-root\\]"], {
      uid: NOBODY,
      gid: NOBODY,
      env: { ...process.env, HOME: "/tmp" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("putio-transmission owner and mode @nr", function () {
  this.timeout(180_000);

  it("uid, gid and modes as typed: empty is none, whole numbers and 3–4 octal digits, anything else refused", () => {
    assert.equal(parseId(""), null);
    assert.equal(parseId(" 1000 "), 1000);
    assert.equal(parseId("0"), 0);
    for (const bad of ["-1", "1e3", "abc", "4294967295", "1.5"]) assert.equal(parseId(bad), undefined, bad);
    assert.equal(parseMode(""), null);
    assert.equal(parseMode("664"), 0o664);
    assert.equal(parseMode("0775"), 0o775);
    assert.equal(parseMode("2775"), 0o2775);
    for (const bad of ["8", "64", "999", "rwx", "17777", "0o644", "6 44"]) assert.equal(parseMode(bad), undefined, bad);
  });

  it("never through a link, never on another file than the one written (its inode), and a file gone is nothing to do", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-own-"));
    try {
      const mode = (p: string) => fs.statSync(p).mode & 0o7777;
      const o = { uid: null, gid: null, fileMode: 0o600, dirMode: 0o700 };
      const target = path.join(dir, "target");
      fs.writeFileSync(target, "t");
      fs.chmodSync(target, 0o644);
      fs.mkdirSync(path.join(dir, "d"));
      fs.chmodSync(path.join(dir, "d"), 0o755);
      fs.symlinkSync(target, path.join(dir, "link"));
      fs.symlinkSync(path.join(dir, "d"), path.join(dir, "dlink"));
      assert.equal(await applyOwner(path.join(dir, "link"), "file", o), null);
      assert.equal(mode(target), 0o644, "not through a link to a file");
      assert.equal(await applyOwner(path.join(dir, "dlink"), "dir", o), null);
      assert.equal(mode(path.join(dir, "d")), 0o755, "not through a link to a folder");
      const ino = fs.statSync(target).ino;
      assert.equal(await applyOwner(target, "file", o, ino + 1), null);
      assert.equal(mode(target), 0o644, "another inode: not the file written");
      assert.equal(await applyOwner(path.join(dir, "gone"), "file", o), null);
      assert.equal(await applyOwner(target, "file", o, ino), null);
      assert.equal(mode(target), 0o600);
      assert.equal(await applyOwner(path.join(dir, "d"), "dir", o), null);
      assert.equal(mode(path.join(dir, "d")), 0o700);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("in Node-RED", () => {
    const f = transmissionFixture("putio-tro-");
    const flow = transmissionFlow(f);
    /** Owner and mode of each torrent's files when the flow heard it was on disk. */
    let seenAtOnDisk: Array<Record<string, { uid: number; gid: number; mode: number }>>;
    const load = (extra: Record<string, unknown>) => {
      seenAtOnDisk = [];
      return flow.load(extra, (m) => {
        if (m.topic !== "transmission/on-disk") return;
        const seen: Record<string, { uid: number; gid: number; mode: number }> = {};
        for (const x of m.payload.files) {
          const st = fs.statSync(path.join(m.payload.localDir, ...x.name.split("/")));
          seen[x.name] = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
        }
        seenAtOnDisk.push(seen);
      });
    };
    const settled = flow.settle;
    const stat = (...p: string[]) => {
      const st = fs.statSync(path.join(f.work, ...p));
      return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
    };

    it("as root: uid, gid and modes on every file written and every folder created, none on the user's, and already when the flow hears of it", async function () {
      if (!IS_ROOT) return this.skip(); // needs root: only root may give files to another user
      const uid = 12345;
      const gid = 23456;
      f.emu.knobs.transferContents["Show"] = [
        { name: "S01E02.mkv", data: Buffer.from("episode two") },
        { name: "Subs/S01E02.en.srt", data: Buffer.from("1\n00:00:01,000 --> 00:00:02,000\nhi\n") },
      ];
      f.emu.knobs.transferContents["Film"] = [
        { name: "Film.mkv", data: Buffer.from("the film") },
        { name: "Film.en.srt", data: Buffer.from("1\n00:00:01,000 --> 00:00:02,000\nhello\n") },
      ];
      // The user's category folder and a folder of the torrent's name in it, with a file of the user's.
      fs.mkdirSync(path.join(f.work, "tv", "Show"), { recursive: true, mode: 0o755 });
      fs.chmodSync(path.join(f.work, "tv"), 0o755);
      fs.chmodSync(path.join(f.work, "tv", "Show"), 0o755);
      fs.writeFileSync(path.join(f.work, "tv", "Show", "mine.txt"), "mine", { mode: 0o644 });
      await load({ uid: String(uid), gid: String(gid), fileMode: "640", dirMode: "0750", subtitles: true, subtitleLanguages: "eng" });
      const c = await flow.client();
      const a = await settled(c, HASH_A, "Show", `${f.work}/tv`);
      assert.equal(a.errorString, "");
      const b = await settled(c, HASH_B, "Film", `${f.work}/movies`);
      assert.equal(b.errorString, "");

      const file = { uid, gid, mode: 0o640 };
      const dir = { uid, gid, mode: 0o750 };
      assert.deepEqual(stat("tv", "Show", "S01E02.mkv"), file);
      assert.deepEqual(stat("tv", "Show", "Subs", "S01E02.en.srt"), file);
      assert.deepEqual(stat("tv", "Show", "Subs"), dir, "a folder the copy created");
      assert.deepEqual(stat("movies"), dir, "a category folder the node created");
      assert.deepEqual(stat("movies", "Film"), dir);
      assert.deepEqual(stat("movies", "Film", "Film.mkv"), file);
      assert.deepEqual(stat("movies", "Film", "Film.eng.srt"), file, "a subtitle the node wrote beside the video");
      // The user's folders and file are as they were.
      assert.deepEqual(stat("tv"), { uid: 0, gid: 0, mode: 0o755 });
      assert.deepEqual(stat("tv", "Show"), { uid: 0, gid: 0, mode: 0o755 });
      assert.deepEqual(stat("tv", "Show", "mine.txt"), { uid: 0, gid: 0, mode: 0o644 });
      assert.equal(stat(".").uid, 0, "the download folder stays the user's");
      // Set before the flow (and the app) heard of it.
      assert.equal(seenAtOnDisk.length, 2);
      for (const seen of seenAtOnDisk) for (const [name, s] of Object.entries(seen)) assert.deepEqual(s, file, name);
      // The subtitle is the node's file too: a removal with the data takes it, and the folder with it.
      await c.call("torrent-remove", { ids: [HASH_B], "delete-local-data": true });
      await until(
        "removed",
        () => flow.events.find((e) => e.topic === "transmission/removed"),
        (e) => !!e,
      );
      assert.equal(fs.existsSync(path.join(f.work, "movies", "Film")), false);
    });

    it("[non-root] a chown not permitted fails the torrent with a clear errorString and msg, Node-RED keeps serving; modes alone work", async function () {
      if (IS_ROOT) {
        // Run as user nobody in a child process: the same test, for real.
        const { code, out } = await runAsNobody();
        assert.equal(code, 0, out);
        assert.match(out, /1 passing/, out);
        assert.doesNotMatch(out, /pending|failing/, out);
        return;
      }
      f.emu.knobs.transferContents["Show"] = [{ name: "S01E02.mkv", data: Buffer.from("episode two") }];
      f.emu.knobs.transferContents["Film"] = [{ name: "Film.mkv", data: Buffer.from("the film") }];
      fs.mkdirSync(path.join(f.work, "tv"), { mode: 0o755 });
      fs.chmodSync(path.join(f.work, "tv"), 0o755);
      // uid 0: only root may give a file to root.
      await load({ uid: "0", fileMode: "640" });
      const c = await flow.client();
      const a = await settled(c, HASH_A, "Show", `${f.work}/tv`);
      assert.equal(a.isFinished, false);
      assert.equal(a.error, 3);
      assert.match(a.errorString, /could not give ".*S01E02\.mkv" to uid 0, mode 640: not permitted \(Node-RED does not run as root/);
      const failed = await until(
        "failed msg",
        () => flow.events.find((e) => e.topic === "transmission/failed"),
        (e) => !!e,
      );
      assert.match(failed.payload.error, /not permitted/);
      assert.equal(stat("tv").mode, 0o755, "the user's category folder is untouched");
      assert.equal((await c.call("session-stats")).torrentCount, 1, "still serving");

      // Modes alone need no root.
      await nr.helper.unload();
      await load({ path: "/modes/rpc", fileMode: "600", dirMode: "700" });
      const c2 = await flow.client("/modes/rpc");
      const b = await settled(c2, HASH_B, "Film", `${f.work}/movies`);
      assert.equal(b.errorString, "");
      const me = { uid: process.getuid!(), gid: process.getgid!() };
      assert.deepEqual(stat("movies", "Film", "Film.mkv"), { ...me, mode: 0o600 });
      assert.deepEqual(stat("movies", "Film"), { ...me, mode: 0o700 });
      assert.deepEqual(stat("movies"), { ...me, mode: 0o700 });
    });

    it("an unusable uid or mode is a configuration error: the node serves nothing", async () => {
      for (const bad of [{ uid: "-1" }, { gid: "users" }, { fileMode: "999" }, { dirMode: "rwx" }]) {
        await load(bad);
        const res = await fetch(`${f.server.url}/transmission/rpc`);
        await res.arrayBuffer();
        assert.equal(res.status, 404, JSON.stringify(bad));
        await nr.helper.unload();
      }
    });
  });
});
