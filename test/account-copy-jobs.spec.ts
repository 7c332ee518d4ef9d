/**
 * lib/copy as jobs on a shared target: two copies of one source at once (same or different
 * targets), a full disk on the target, a folder where a file goes.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { PutioClient } from "../lib/client";
import { copyBetweenAccounts, pollingWaiter, type CopyOptions, type CopySummary } from "../lib/copy";
import { Emulator, startEmulator } from "./emulator";
import { whileClockRuns } from "./support/emulator-clock";

describe("lib/copy: jobs sharing a target account", function () {
  this.timeout(90_000);
  let emu: Emulator;
  let tokenB: string;
  let a: PutioClient;
  let b: PutioClient;
  beforeEach(async () => {
    emu = await startEmulator();
    tokenB = emu.addUser({ username: "b" }).token;
    const retry = { baseDelayMs: 1, maxDelayMs: 5 };
    a = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl, retry });
    b = new PutioClient({ token: tokenB, apiUrl: emu.apiUrl, retry });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await emu.close();
  });

  const job = (opts: Partial<CopyOptions> & { sourceId: number; targetFolderId: number }) =>
    copyBetweenAccounts({ from: a, to: b, waitFor: pollingWaiter(b, { baseMs: 2, maxMs: 10 }), addBackoffMs: { base: 2, max: 10 }, ...opts });

  function seedShow(n = 5): { id: number; files: Map<string, string> } {
    const show = emu.state.addFolder(0, "Show");
    const files = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const f = emu.state.addFile(show.id, `E0${i}.mkv`, crypto.randomBytes(500 + i));
      files.set(f.name, `${f.size}:${f.crc32}`);
    }
    return { id: show.id, files };
  }

  /** name → "size:crc32" of the files in B's folder `parent`/`name`. */
  function onB(parentId: number, name: string): Map<string, string> {
    const folders = emu.state.listChildren(parentId, tokenB).filter((f) => f.name === name);
    assert.equal(folders.length, 1, `one folder "${name}" on B`);
    return new Map(emu.state.listChildren(folders[0]!.id, tokenB).map((f) => [f.name, `${f.size}:${f.crc32}`]));
  }

  it("two copies of one source into different folders at once: each folder gets its own copies", async () => {
    const show = seedShow();
    const one = emu.state.addFolder(0, "Backup", tokenB);
    const two = emu.state.addFolder(0, "Backup2", tokenB);
    const [s1, s2] = await whileClockRuns(
      emu,
      Promise.all([job({ sourceId: show.id, targetFolderId: one.id }), job({ sourceId: show.id, targetFolderId: two.id })]),
    );
    for (const s of [s1, s2]) {
      assert.deepEqual(s.failed, []);
      assert.equal(s.copied.length, 5);
    }
    const ids1 = new Set(s1.copied.map((c) => c.fileId));
    assert.ok(
      s2.copied.every((c) => !ids1.has(c.fileId)),
      "the two jobs report different files",
    );
    assert.deepEqual(onB(one.id, "Show"), show.files);
    assert.deepEqual(onB(two.id, "Show"), show.files);
    assert.deepEqual(emu.state.transfers(tokenB), []);
  });

  it("two copies of one source into the same folder at once: one copy of each file, no error, no stray", async () => {
    const show = seedShow();
    const dest = emu.state.addFolder(0, "Backup", tokenB);
    const [s1, s2] = await whileClockRuns(
      emu,
      Promise.all([job({ sourceId: show.id, targetFolderId: dest.id }), job({ sourceId: show.id, targetFolderId: dest.id })]),
    );
    const all: CopySummary[] = [s1, s2];
    for (const s of all) {
      assert.deepEqual(s.failed, []);
      assert.equal(s.copied.length + s.skipped.length, 5);
    }
    assert.equal(s1.copied.length + s2.copied.length, 5, "each file copied once");
    assert.deepEqual(onB(dest.id, "Show"), show.files);
    assert.deepEqual(emu.state.transfers(tokenB), []);
    assert.deepEqual(emu.state.trashed(tokenB), []);
  });

  it("a full disk on the target is said at once (one add, no waiting as if the queue were full)", async () => {
    const f = emu.state.addFile(0, "big.bin", crypto.randomBytes(4000));
    emu.knobs.diskSize[tokenB] = 1000;
    const summary = await whileClockRuns(emu, job({ sourceId: f.id, targetFolderId: 0, addBackoffMs: { base: 3_600_000, max: 3_600_000 } }));
    assert.deepEqual(
      summary.failed.map((x) => x.code),
      ["copy.disk-full"],
    );
    assert.match(summary.failed[0]!.error, /disk is full \(1000 bytes free, the file has 4000\)/);
    assert.equal(emu.requests.filter((r) => r.path === "/v2/transfers/add" && r.token === tokenB).length, 1);
    assert.deepEqual(emu.state.transfers(tokenB), []);
  });

  it("a 403 that is not about the disk still waits and retries (the queue is full)", async () => {
    emu.knobs.maxActiveTransfers = 0;
    const f = emu.state.addFile(0, "x.bin", crypto.randomBytes(10));
    const summary = await whileClockRuns(emu, job({ sourceId: f.id, targetFolderId: 0, addAttempts: 3 }));
    assert.equal(summary.failed[0]?.code, "copy.queue-full");
  });

  it("a folder where a file goes is called a folder, and left as it is", async () => {
    const src = emu.state.addFolder(0, "S");
    emu.state.addFile(src.id, "clip.mp4", crypto.randomBytes(10));
    const destS = emu.state.addFolder(0, "S", tokenB);
    const theirs = emu.state.addFolder(destS.id, "clip.mp4", tokenB);
    const summary = await whileClockRuns(emu, job({ sourceId: src.id, targetFolderId: 0 }));
    assert.deepEqual(
      summary.failed.map((x) => [x.path, x.code]),
      [["S/clip.mp4", "copy.folder-in-the-way"]],
    );
    assert.match(summary.failed[0]!.error, /a folder "clip.mp4" is where the file goes/);
    assert.deepEqual(
      emu.state.listChildren(destS.id, tokenB).map((x) => x.id),
      [theirs.id],
    );
  });
});
