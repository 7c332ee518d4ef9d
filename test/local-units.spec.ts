/**
 * lib/local on its own: places, the no-clobber commit (with and without hard links), the checked
 * replace, claims across two registries (as two processes would hold them), stale lock takeover,
 * and the ownership ledger.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import {
  NameTakenError,
  OwnershipLedger,
  PlaceClaims,
  commitNoClobber,
  commitReplacing,
  lockPath,
  markOf,
  nodeFs,
  placeOf,
  tryLock,
  type LocalFs,
} from "../lib/local";

describe("local disk layer (lib/local)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-local-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The same file system without hard links (exFAT, FAT, some FUSE and SMB mounts). */
  const noLinks: LocalFs = {
    ...nodeFs,
    link: async () => {
      throw Object.assign(new Error("operation not permitted"), { code: "EPERM" });
    },
  };

  it("a place is the real folder and the folded name: a folder link, a second path and another case are one place", async () => {
    fs.mkdirSync(path.join(dir, "Films"));
    fs.symlinkSync("Films", path.join(dir, "Movies"));
    fs.symlinkSync(".", path.join(dir, "loop"));
    const a = await placeOf(nodeFs, path.join(dir, "Films", "a.mkv"));
    assert.equal((await placeOf(nodeFs, path.join(dir, "Movies", "a.mkv"))).key, a.key);
    assert.equal((await placeOf(nodeFs, path.join(dir, "loop", "Films", "A.MKV"))).key, a.key);
    assert.equal((await placeOf(nodeFs, path.join(dir, "Films", "e\u0301.mkv"))).key, (await placeOf(nodeFs, path.join(dir, "Movies", "\u00e9.mkv"))).key);
    assert.notEqual((await placeOf(nodeFs, path.join(dir, "Films", "b.mkv"))).key, a.key);
  });

  for (const [label, lfs] of [
    ["hard links", nodeFs],
    ["no hard links (placeholder)", noLinks],
  ] as const) {
    it(`commitNoClobber with ${label}: moves into a free name, never replaces a file, folder or link`, async () => {
      const tmp = path.join(dir, ".tmp");
      fs.writeFileSync(tmp, "ours");
      await commitNoClobber(lfs, tmp, path.join(dir, "free"));
      assert.equal(fs.readFileSync(path.join(dir, "free"), "utf8"), "ours");
      assert.ok(!fs.existsSync(tmp));
      for (const make of [(p: string) => fs.writeFileSync(p, "user's"), (p: string) => fs.mkdirSync(p), (p: string) => fs.symlinkSync("/etc/passwd", p)]) {
        fs.writeFileSync(tmp, "ours");
        const taken = path.join(dir, `taken-${Math.random()}`);
        make(taken);
        const before = fs.lstatSync(taken);
        await assert.rejects(commitNoClobber(lfs, tmp, taken), NameTakenError);
        const after = fs.lstatSync(taken);
        assert.equal(after.ino, before.ino);
        if (after.isFile()) assert.equal(fs.readFileSync(taken, "utf8"), "user's");
        assert.equal(fs.readFileSync(tmp, "utf8"), "ours", "the temp file is kept for the next run");
      }
    });

    it(`commitNoClobber with ${label}: of many commits racing for one name exactly one wins and nothing is lost`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 8 }), async (n) => {
          const sub = fs.mkdtempSync(path.join(dir, "race-"));
          const temps = Array.from({ length: n }, (_, i) => {
            const p = path.join(sub, `.t${i}`);
            fs.writeFileSync(p, `writer ${i}`);
            return p;
          });
          const results = await Promise.allSettled(temps.map((t) => commitNoClobber(lfs, t, path.join(sub, "final"))));
          const won = results.filter((r) => r.status === "fulfilled").length;
          assert.equal(won, 1);
          // Every loser still has its bytes in its temp file; the winner's are at the name.
          const texts = [fs.readFileSync(path.join(sub, "final"), "utf8"), ...temps.filter((t) => fs.existsSync(t)).map((t) => fs.readFileSync(t, "utf8"))];
          assert.deepEqual(texts.sort(), temps.map((_, i) => `writer ${i}`).sort());
        }),
        { numRuns: 25 },
      );
    });
  }

  it("commitReplacing replaces only the expected file; a user's file that took its place is put back untouched", async () => {
    const final = path.join(dir, "video.mkv");
    fs.writeFileSync(final, "our old copy");
    const ours = markOf(fs.lstatSync(final));
    fs.writeFileSync(path.join(dir, ".new"), "new bytes");
    await commitReplacing(nodeFs, path.join(dir, ".new"), final, ours);
    assert.equal(fs.readFileSync(final, "utf8"), "new bytes");
    // The user replaced our file since we looked: it is not the expected one.
    fs.writeFileSync(path.join(dir, ".new2"), "newer bytes");
    fs.rmSync(final);
    fs.writeFileSync(final, "the user's own");
    await assert.rejects(commitReplacing(nodeFs, path.join(dir, ".new2"), final, ours), NameTakenError);
    assert.equal(fs.readFileSync(final, "utf8"), "the user's own");
    assert.deepEqual(
      fs.readdirSync(dir).filter((n) => n.startsWith(".putio-replaced")),
      [],
    );
  });

  it("claims: two registries (two processes) on one place take turns through the lock file, also through a folder link", async () => {
    fs.mkdirSync(path.join(dir, "Films"));
    fs.symlinkSync("Films", path.join(dir, "Movies"));
    const a = new PlaceClaims();
    const b = new PlaceClaims();
    const releaseA = await a.claim([path.join(dir, "Films", "x.mkv")]);
    assert.equal(await b.tryClaim(path.join(dir, "Movies", "X.mkv")), null, "the other process sees it held");
    let bHas = false;
    const waiting = b.claim([path.join(dir, "Movies", "x.mkv")]).then((r) => {
      bHas = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(bHas, false);
    await releaseA();
    const releaseB = await waiting;
    assert.equal(bHas, true);
    await releaseB();
    assert.deepEqual(
      fs.readdirSync(path.join(dir, "Films")).filter((n) => n.startsWith(".putio-lock")),
      [],
      "no lock file left",
    );
  });

  it("a lock whose holder stopped its heartbeat is taken over; a live one is not", async () => {
    const timing = { heartbeatMs: 40, staleMs: 200 };
    const file = lockPath(dir, "x.mkv");
    const live = await tryLock(nodeFs, file, timing);
    assert.ok(live);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await tryLock(nodeFs, file, timing), null, "its heartbeat keeps it");
    await live.release();
    // A lock left by a process that died: nobody refreshes it.
    fs.writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 7, host: "elsewhere", token: "gone" }));
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file, old, old);
    assert.equal(await tryLock(nodeFs, file, timing), null, "not before its heartbeat was seen missing");
    let taken = null;
    for (let i = 0; i < 40 && !taken; i++) {
      await new Promise((r) => setTimeout(r, 25));
      taken = await tryLock(nodeFs, file, timing);
    }
    assert.ok(taken, "taken over");
    await taken.release();
    assert.ok(!fs.existsSync(file));
  });

  it("ownership ledger: a recorded file is ours until its content changes; the record survives a restart", async () => {
    const file = path.join(dir, "a.mkv");
    fs.writeFileSync(file, "abc");
    const state = path.join(dir, "state", "owned.json");
    const ledger = new OwnershipLedger(state);
    await ledger.record(file, fs.lstatSync(file), { crc32: "352441C2", fileId: 7 });
    assert.equal((await ledger.lookup(file))?.fileId, 7);
    await ledger.flush();
    const again = new OwnershipLedger(state);
    assert.equal((await again.lookup(file))?.crc32, "352441c2");
    // Renamed: still ours (same inode, same content).
    fs.renameSync(file, path.join(dir, "b.mkv"));
    assert.ok(await again.lookup(path.join(dir, "b.mkv")));
    // Edited in place: the user's now.
    fs.appendFileSync(path.join(dir, "b.mkv"), "user edit");
    assert.equal(await again.lookup(path.join(dir, "b.mkv")), null);
    // A link is never ours.
    fs.symlinkSync("b.mkv", path.join(dir, "c.mkv"));
    assert.equal(await again.lookup(path.join(dir, "c.mkv")), null);
  });

  it("ownership ledger: the records are let go from memory a while after the last look, and read again when needed", async () => {
    const state = path.join(dir, "owned.jsonl");
    const ledger = new OwnershipLedger(state, nodeFs, 50);
    for (let i = 0; i < 20; i++) {
      const f = path.join(dir, `f${i}`);
      fs.writeFileSync(f, `bytes ${i}`);
      await ledger.record(f, fs.lstatSync(f), { crc32: "00000000", fileId: i });
    }
    assert.ok(await ledger.lookup(path.join(dir, "f3")));
    assert.ok(ledger.held);
    await ledger.flush();
    for (let i = 0; i < 40 && ledger.held; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(ledger.held, false, "nothing held while nobody looks");
    assert.equal((await ledger.lookup(path.join(dir, "f17")))?.fileId, 17, "read again from the file");
  });
});
