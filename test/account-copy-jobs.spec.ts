/**
 * lib/copy as jobs on a shared target: two copies of one source at once (same or different
 * targets), a full disk on the target, a folder where a file goes; and as jobs that outlive an
 * interruption: a crash (nothing runs after it), a lost answer, a failed read after completion,
 * a removed node, each followed by a re-run that must copy nothing twice and leave nothing behind.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { PutioAbortError } from "../lib/core/errors";
import { CopyJournal, copyBetweenAccounts, pollingWaiter, undoCopies, type CopyLedger, type CopyOptions, type CopyRecord, type CopySummary } from "../lib/copy";
import type { Emulator } from "./emulator";
import { closeTwoAccounts, startTwoAccounts } from "./support/copy-accounts";
import { whileClockRuns } from "./support/emulator-clock";

describe("lib/copy: jobs sharing a target account", function () {
  this.timeout(90_000);
  let emu: Emulator;
  let tokenB: string;
  let a: PutioClient;
  let b: PutioClient;
  beforeEach(async () => ({ emu, tokenB, a, b } = await startTwoAccounts()));
  afterEach(() => closeTwoAccounts({ emu, a, b }));

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

  describe("interrupted jobs and their journal", () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-copy-journal-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const journalFile = () => path.join(dir, "copy.json");

    /**
     * A crash: from now on nothing of the job reaches B or the journal (SIGKILL runs no code), then
     * the process is gone. The journal as it was on disk is what the next process reads.
     */
    function crashable(ledger: CopyLedger): { ledger: CopyLedger; crash(): void } {
      let dead = false;
      return {
        ledger: {
          records: () => ledger.records(),
          put: (r: CopyRecord) => (dead ? new Promise<void>(() => {}) : ledger.put(r)),
          remove: (s: number, p: number) => (dead ? new Promise<void>(() => {}) : ledger.remove(s, p)),
        },
        crash: () => void (dead = true),
      };
    }

    /** Crash the job once `until()` holds; B hears nothing of it afterwards (all its calls fail for a while). */
    async function crashWhen(opts: Partial<CopyOptions> & { sourceId: number; targetFolderId: number }, until: () => boolean): Promise<void> {
      const journal = new CopyJournal(journalFile());
      const c = crashable(journal);
      const ac = new AbortController();
      const p = job({ ...opts, journal: c.ledger, signal: ac.signal });
      p.catch(() => {});
      while (!until()) await new Promise((r) => setTimeout(r, 5));
      c.crash();
      emu.knobs.apiFaults.push({ path: /./, token: tokenB, status: 502, times: 1_000_000 });
      ac.abort();
      await assert.rejects(p, (err: unknown) => err instanceof PutioAbortError);
      await journal.close();
      emu.knobs.apiFaults = [];
    }

    /** B's view of the copy: each source file once, verified, no transfer, nothing in the trash, no stray. */
    function assertOneCopyEach(folderId: number, expected: Map<string, string>) {
      assert.deepEqual(new Map(emu.state.listChildren(folderId, tokenB).map((f) => [f.name, `${f.size}:${f.crc32}`])), expected);
      assert.deepEqual(emu.state.transfers(tokenB), []);
    }

    it("a crash while B holds queued transfers: the re-run adopts them, copies nothing twice, leaves no stray or transfer", async () => {
      const show = seedShow();
      await crashWhen({ sourceId: show.id, targetFolderId: 0, concurrency: 4 }, () => emu.state.transfers(tokenB).length >= 4);
      // Meanwhile B finishes the queued transfers (under put.io's names for them).
      await emu.advance(10_000);
      if (process.env.COPY_DEBUG)
        console.log(
          JSON.stringify(await new CopyJournal(journalFile()).records()),
          emu.state.transfers(tokenB).map((x) => [x.id, x.status, x.file_id]),
        );
      const summary = await whileClockRuns(emu, job({ sourceId: show.id, targetFolderId: 0, journal: new CopyJournal(journalFile()) }));
      if (process.env.COPY_DEBUG)
        console.log(
          JSON.stringify(summary),
          emu.requests
            .filter((r) => r.token === tokenB)
            .slice(-30)
            .map((r) => `${r.method} ${r.path} ${r.status}`),
        );
      assert.deepEqual(summary.failed, []);
      assert.equal(summary.copied.length + summary.skipped.length, 5);
      assertOneCopyEach(emu.state.listChildren(0, tokenB).find((f) => f.name === "Show")!.id, show.files);
      assert.deepEqual(emu.state.trashed(tokenB), []);
      assert.ok(!fs.existsSync(journalFile()), "nothing left under way");
      // And once more: all there, nothing to do.
      const again = await whileClockRuns(emu, job({ sourceId: show.id, targetFolderId: 0, journal: new CopyJournal(journalFile()) }));
      assert.deepEqual([again.copied.length, again.skipped.length, again.failed.length], [0, 5, 0]);
    });

    it("an add whose answer was lost (502 after put.io took it) is found, not added twice", async () => {
      const f = emu.state.addFile(0, "lost.bin", crypto.randomBytes(3000));
      emu.knobs.apiFaults = [{ method: "POST", path: "/v2/transfers/add", token: tokenB, status: 502, after: true, times: 1 }];
      const summary = await whileClockRuns(emu, job({ sourceId: f.id, targetFolderId: 0, journal: new CopyJournal(journalFile()) }));
      assert.deepEqual(summary.failed, []);
      assert.equal(summary.copied.length, 1);
      assertOneCopyEach(0, new Map([["lost.bin", `${f.size}:${f.crc32}`]]));
      assert.deepEqual(emu.state.trashed(tokenB), []);
    });

    it("a read of the copy that fails after its transfer completed: the file fails, and the re-run adopts that copy", async () => {
      const f = emu.state.addFile(0, "late.bin", crypto.randomBytes(3000));
      // Every read of a file by id on B fails for this run (the first is the target folder: let it through).
      emu.knobs.apiFaults = [{ method: "GET", path: /^\/v2\/files\/\d+$/, token: tokenB, status: 404, skip: 1, times: 50 }];
      const first = await whileClockRuns(emu, job({ sourceId: f.id, targetFolderId: 0, journal: new CopyJournal(journalFile()) }));
      assert.equal(first.failed.length, 1);
      emu.knobs.apiFaults = [];
      const summary = await whileClockRuns(emu, job({ sourceId: f.id, targetFolderId: 0, journal: new CopyJournal(journalFile()) }));
      assert.deepEqual(summary.failed, []);
      assertOneCopyEach(0, new Map([["late.bin", `${f.size}:${f.crc32}`]]));
      assert.deepEqual(emu.state.trashed(tokenB), []);
    });

    it("a crash after the add went out and before its answer, with the transfer entry cleaned by the user: the re-run knows its copy by size and CRC32", async () => {
      const f = emu.state.addFile(0, "blind.bin", crypto.randomBytes(3000));
      await crashWhen({ sourceId: f.id, targetFolderId: 0 }, () => emu.state.transfers(tokenB).length >= 1);
      const records = await new CopyJournal(journalFile()).records();
      assert.equal(records.length, 1);
      // As if the answer never came: the journal knows only that an add went out.
      const j = new CopyJournal(journalFile());
      await j.put({ ...records[0]!, transfer: undefined });
      await j.close();
      await emu.advance(10_000);
      const [stray] = emu.state.listChildren(0, tokenB);
      assert.notEqual(stray!.name, "blind.bin");
      emu.state.removeTransfer(emu.state.transferMap.get(emu.state.transfers(tokenB)[0]!.id as number)!);
      const summary = await whileClockRuns(emu, job({ sourceId: f.id, targetFolderId: 0, journal: new CopyJournal(journalFile()) }));
      assert.deepEqual(summary.failed, []);
      assert.deepEqual(
        summary.copied.map((c) => c.fileId),
        [stray!.id],
      );
      assertOneCopyEach(0, new Map([["blind.bin", `${f.size}:${f.crc32}`]]));
    });

    it("two nodes (two journals) copy one source into one folder, one of them crashed before: one copy each at the end, its strays gone", async () => {
      const show = seedShow(4);
      const dest = emu.state.addFolder(0, "Backup", tokenB);
      await crashWhen({ sourceId: show.id, targetFolderId: dest.id, concurrency: 4 }, () => emu.state.transfers(tokenB).length >= 4);
      await emu.advance(10_000);
      const other = new CopyJournal(path.join(dir, "other.json"));
      const mine = new CopyJournal(journalFile());
      const [s2, s1] = await whileClockRuns(
        emu,
        Promise.all([job({ sourceId: show.id, targetFolderId: dest.id, journal: other }), job({ sourceId: show.id, targetFolderId: dest.id, journal: mine })]),
      );
      for (const s of [s1, s2]) assert.deepEqual(s.failed, []);
      assertOneCopyEach(emu.state.listChildren(dest.id, tokenB).find((f) => f.name === "Show")!.id, show.files);
      assert.deepEqual(await mine.records(), []);
      assert.deepEqual(await other.records(), []);
    });

    it("a removed node undoes what its interrupted copies left: transfers cancelled, unnamed copies trashed, finished copies kept", async () => {
      const show = seedShow();
      const journal = new CopyJournal(journalFile());
      const ac = new AbortController();
      const p = job({ sourceId: show.id, targetFolderId: 0, concurrency: 2, journal, signal: ac.signal });
      p.catch(() => {});
      // Two finish, two more are queued.
      while (emu.state.transfers(tokenB).length < 2) await new Promise((r) => setTimeout(r, 5));
      await whileClockRuns(
        emu,
        (async () => {
          while (emu.state.listChildren(emu.state.listChildren(0, tokenB)[0]!.id, tokenB).filter((x) => x.name.startsWith("E")).length < 2)
            await new Promise((r) => setTimeout(r, 5));
        })(),
      );
      while (emu.state.transfers(tokenB).filter((x) => x.status !== "COMPLETED" && x.status !== "ERROR").length < 2) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      await assert.rejects(p);
      assert.ok(emu.state.transfers(tokenB).length > 0, "an abort with a journal leaves them for a resume");
      await undoCopies(b, journal);
      assert.deepEqual(emu.state.transfers(tokenB), []);
      await emu.advance(10_000);
      const folder = emu.state.listChildren(0, tokenB)[0]!;
      const names = emu.state.listChildren(folder.id, tokenB).map((x) => x.name);
      assert.ok(names.length >= 2 && names.every((n) => show.files.has(n)), names.join());
      assert.deepEqual(await journal.records(), []);
    });
  });
});
