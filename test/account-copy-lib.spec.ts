/** lib/copy: a file or folder of account A copied into a folder of account B, both emulated. */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import fc from "fast-check";
import { PutioClient } from "../lib/client";
import { PutioAbortError } from "../lib/core/errors";
import { t } from "../lib/core/texts";
import { checkStorageUrl, copyBetweenAccounts, pollingWaiter, watcherWaiter, type CopyOptions, type CopySummary, type WatcherLike } from "../lib/copy";
import type { ChangeListener } from "../lib/watch/watcher";
import type { Emulator } from "./emulator";
import { closeTwoAccounts, startTwoAccounts } from "./support/copy-accounts";
import { whileClockRuns } from "./support/emulator-clock";

type Tree = Map<string, string>;

/** Every path under a folder → "dir" or "size:crc32", as the emulator holds it. */
function treeOf(emu: Emulator, folderId: number, token: string, prefix = "", out: Tree = new Map()): Tree {
  for (const f of emu.state.listChildren(folderId, token)) {
    const path = prefix + f.name;
    if (f.file_type === "FOLDER") {
      out.set(path, "dir");
      treeOf(emu, f.id, token, path + "/", out);
    } else out.set(path, `${f.size}:${f.crc32}`);
  }
  return out;
}

const drive = <T>(emu: Emulator, p: Promise<T>) => whileClockRuns(emu, p, 3000);

describe("lib/copy: copy between two put.io accounts", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let tokenB: string;
  let a: PutioClient;
  let b: PutioClient;
  beforeEach(async () => ({ emu, tokenB, a, b } = await startTwoAccounts()));
  afterEach(() => closeTwoAccounts({ emu, a, b }));

  const copy = (opts: Partial<CopyOptions> & { sourceId: number; targetFolderId: number }) =>
    drive(emu, copyBetweenAccounts({ from: a, to: b, waitFor: pollingWaiter(b, { baseMs: 2, maxMs: 10 }), addBackoffMs: { base: 2, max: 10 }, ...opts }));

  const bytes = (n: number) => crypto.randomBytes(n);

  function seedShow(): number {
    const show = emu.state.addFolder(0, "Show");
    const s1 = emu.state.addFolder(show.id, "Season 1");
    emu.state.addFile(s1.id, "E01.mkv", bytes(3000));
    emu.state.addFile(s1.id, "E02.mkv", { size: 2 * 1024 * 1024 + 3, seed: 5 });
    const extras = emu.state.addFolder(show.id, "Extras");
    emu.state.addFolder(extras.id, "Empty");
    emu.state.addFile(show.id, "show.nfo", bytes(0));
    return show.id;
  }

  it("rebuilds the tree (with a nested empty folder) on B, verified, renamed and cleaned; a re-run skips everything", async () => {
    const showId = seedShow();
    const dest = emu.state.addFolder(0, "Backup", tokenB);
    const progress: number[] = [];
    const summary = await copy({ sourceId: showId, targetFolderId: dest.id, onProgress: (p) => progress.push(p.done) });
    assert.deepEqual(summary.failed, []);
    assert.equal(summary.copied.length, 3);
    assert.deepEqual(summary.copied.map((c) => c.path).sort(), ["Show/Season 1/E01.mkv", "Show/Season 1/E02.mkv", "Show/show.nfo"]);
    assert.equal(summary.folders, 4);
    const expected = treeOf(emu, showId, emu.token, "Show/", new Map([["Show", "dir"]]));
    assert.deepEqual(treeOf(emu, dest.id, tokenB), expected);
    for (const c of summary.copied) assert.equal(emu.state.getFile(c.fileId, tokenB)!.size, c.size);
    // Every transfer entry was removed from B's list; A's list never had one.
    assert.deepEqual(emu.state.transfers(tokenB), []);
    assert.deepEqual(emu.state.transfers(emu.token), []);
    assert.equal(progress.at(-1), 3);

    const again = await copy({ sourceId: showId, targetFolderId: dest.id });
    assert.deepEqual(again.copied, []);
    assert.deepEqual(again.failed, []);
    assert.equal(again.folders, 0);
    assert.deepEqual(again.skipped.map((s) => s.path).sort(), ["Show/Season 1/E01.mkv", "Show/Season 1/E02.mkv", "Show/show.nfo"]);
    assert.deepEqual(treeOf(emu, dest.id, tokenB), expected);
    assert.deepEqual(emu.state.transfers(tokenB), []);
  });

  it("copies a single file into B's folder under its own name", async () => {
    const f = emu.state.addFile(0, "Film.mkv", bytes(5000));
    const summary = await copy({ sourceId: f.id, targetFolderId: 0 });
    assert.deepEqual(
      summary.copied.map((c) => c.path),
      ["Film.mkv"],
    );
    assert.deepEqual(treeOf(emu, 0, tokenB), new Map([["Film.mkv", `${f.size}:${f.crc32}`]]));
  });

  it("fails a copy whose CRC32 differs, moving B's copy to the trash; the others are copied", async () => {
    const folder = emu.state.addFolder(0, "F");
    const bad = emu.state.addFile(folder.id, "bad.bin", bytes(4096));
    emu.state.addFile(folder.id, "good.bin", bytes(4096));
    emu.state.corruptCrc(bad.id);
    const summary = await copy({ sourceId: folder.id, targetFolderId: 0 });
    assert.deepEqual(
      summary.copied.map((c) => c.path),
      ["F/good.bin"],
    );
    assert.equal(summary.failed.length, 1);
    assert.equal(summary.failed[0]!.path, "F/bad.bin");
    assert.equal(summary.failed[0]!.code, "copy.crc-mismatch");
    assert.deepEqual([...treeOf(emu, 0, tokenB).keys()], ["F", "F/good.bin"]);
    const trashed = emu.state.trashed(tokenB);
    assert.equal(trashed.length, 1);
    assert.equal(trashed[0]!.size, bad.size);
    assert.deepEqual(emu.state.transfers(tokenB), []);
  });

  it("waits and retries while B refuses more active transfers", async () => {
    emu.knobs.maxActiveTransfers = 1;
    const folder = emu.state.addFolder(0, "Many");
    for (let i = 0; i < 4; i++) emu.state.addFile(folder.id, `f${i}.bin`, bytes(100 + i));
    const summary = await copy({ sourceId: folder.id, targetFolderId: 0, concurrency: 3, addAttempts: 1000 });
    assert.deepEqual(summary.failed, []);
    assert.equal(summary.copied.length, 4);
    assert.deepEqual(treeOf(emu, 0, tokenB), treeOf(emu, 0, emu.token));
  });

  it("gives up on a file after addAttempts refusals, with a failed entry", async () => {
    emu.knobs.maxActiveTransfers = 0;
    const f = emu.state.addFile(0, "x.bin", bytes(10));
    const summary = await copy({ sourceId: f.id, targetFolderId: 0, addAttempts: 3 });
    assert.equal(summary.failed[0]?.code, "copy.queue-full");
    assert.match(summary.failed[0]!.error, /after 3 tries/);
  });

  it("aborts mid-job: the promise rejects and B's transfers of the job are cancelled", async () => {
    const folder = emu.state.addFolder(0, "Big");
    for (let i = 0; i < 6; i++) emu.state.addFile(folder.id, `f${i}.bin`, bytes(1000));
    const ac = new AbortController();
    const p = copyBetweenAccounts({
      from: a,
      to: b,
      sourceId: folder.id,
      targetFolderId: 0,
      concurrency: 2,
      signal: ac.signal,
      waitFor: pollingWaiter(b, { baseMs: 2, maxMs: 10 }),
    });
    p.catch(() => {});
    // Until two transfers are on B (the emulator clock stands still: none can finish meanwhile).
    while (emu.state.transfers(tokenB).length < 2) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await assert.rejects(p, (err: unknown) => err instanceof PutioAbortError);
    assert.deepEqual(emu.state.transfers(tokenB), []);
    await emu.advance(10_000);
    // Nothing arrives later either: only the folder was made.
    assert.deepEqual([...treeOf(emu, 0, tokenB).keys()], ["Big"]);
  });

  it("hostile names both ways: NFC/NFD and case twins, long names, names B refuses, B's own files in the way", async () => {
    const root = emu.state.addFolder(0, "Hostile");
    const nfc = "Café.txt".normalize("NFC");
    const nfd = "Café.txt".normalize("NFD");
    const long255 = "é".repeat(125) + "x.bin"; // 255 bytes: allowed
    const long256 = "é".repeat(125) + "xy.bin"; // 256 bytes: put.io refuses it
    const names = [nfc, nfd, "readme.TXT", "README.txt", long255, "  spaced  .txt", 'we"ird<>:*?|\\.bin', "🎬 movie.mkv", "..", long256, "a/b.bin", " "];
    // Seeded below the API: put.io would refuse some of these names, a copier must not choke on them.
    for (const [i, name] of names.entries()) emu.state.addFile(root.id, name, bytes(50 + i));
    const twins = emu.state.addFolder(root.id, "Sub");
    emu.state.addFolder(root.id, "sub");
    emu.state.addFile(twins.id, "in-sub.bin", bytes(7));
    const blocked = emu.state.addFolder(root.id, "Blocked");
    emu.state.addFile(blocked.id, "under.bin", bytes(8));
    // On B: a file where the folder "Blocked" goes, and a same-named file with other content.
    const destRoot = emu.state.addFolder(0, "Hostile", tokenB);
    emu.state.addFile(destRoot.id, "Blocked", bytes(3), {}, tokenB);
    emu.state.addFile(destRoot.id, "README.txt", bytes(99), {}, tokenB);
    emu.state.addFile(destRoot.id, "readme.txt", bytes(53), {}, tokenB); // not a twin of "readme.TXT": case counts

    const summary = await copy({ sourceId: root.id, targetFolderId: 0 });
    const failed = new Map(summary.failed.map((f) => [f.path, f.code]));
    assert.deepEqual(
      failed,
      new Map([
        ["Hostile/Blocked", "copy.file-in-the-way"],
        ["Hostile/README.txt", "copy.name-taken"],
        ["Hostile/..", "input.name-unusable"],
        [`Hostile/${long256}`, "input.name-too-long"],
        ["Hostile/a/b.bin", "input.name-has-slash"],
        ["Hostile/ ", "input.name-empty"],
        ["Hostile/Blocked/under.bin", "copy.folder-failed"],
      ]),
    );
    const onB = treeOf(emu, destRoot.id, tokenB);
    const onA = treeOf(emu, root.id, emu.token);
    for (const name of [nfc, nfd, "readme.TXT", long255, "  spaced  .txt", 'we"ird<>:*?|\\.bin', "🎬 movie.mkv", "Sub", "sub", "Sub/in-sub.bin"])
      assert.equal(onB.get(name), onA.get(name), name);
    // Exact names, byte for byte: the NFC and NFD twins are two files.
    const bNames = emu.state.listChildren(destRoot.id, tokenB).map((f) => f.name);
    assert.ok(bNames.includes(nfc) && bNames.includes(nfd));
    // B's own files were not touched.
    assert.equal(onB.get("Blocked"), `3:${emu.state.listChildren(destRoot.id, tokenB).find((f) => f.name === "Blocked")!.crc32}`);
    assert.equal(onB.get("README.txt")!.split(":")[0], "99");
    assert.equal(summary.copied.length, 8);
    assert.deepEqual(emu.state.transfers(tokenB), []);
    assert.deepEqual(emu.state.trashed(tokenB), []);
  });

  it("a name taken on B while the copy ran: the rename is refused, the copy goes to the trash, B's file stays", async () => {
    const f = emu.state.addFile(0, "race.bin", bytes(30));
    const p = copyBetweenAccounts({ from: a, to: b, sourceId: f.id, targetFolderId: 0, waitFor: pollingWaiter(b, { baseMs: 2, maxMs: 10 }) });
    p.catch(() => {});
    while (emu.state.transfers(tokenB).length < 1) await new Promise((r) => setTimeout(r, 5));
    const theirs = emu.state.addFile(0, "race.bin", bytes(5), {}, tokenB);
    const summary = await drive(emu, p);
    assert.equal(summary.failed[0]?.code, "api.failed");
    assert.match(summary.failed[0]!.error, /NAME_ALREADY_EXIST/);
    assert.deepEqual(
      emu.state.listChildren(0, tokenB).map((x) => x.id),
      [theirs.id],
    );
    assert.equal(emu.state.trashed(tokenB).length, 1);
    assert.deepEqual(emu.state.transfers(tokenB), []);
  });

  it("two files of one name in a source folder (put.io allows it): the first is copied, the second fails", async () => {
    const folder = emu.state.addFolder(0, "Dupes");
    const first = emu.state.addFile(folder.id, "same.bin", bytes(10));
    emu.state.addFile(folder.id, "same.bin", bytes(20));
    const summary = await copy({ sourceId: folder.id, targetFolderId: 0 });
    assert.deepEqual(
      summary.copied.map((c) => [c.path, c.size]),
      [["Dupes/same.bin", 10]],
    );
    assert.deepEqual(
      summary.failed.map((f) => [f.path, f.code]),
      [["Dupes/same.bin", "copy.same-name-twice"]],
    );
    const dest = emu.state.listChildren(0, tokenB)[0]!;
    assert.deepEqual(
      emu.state.listChildren(dest.id, tokenB).map((f) => [f.name, f.crc32]),
      [["same.bin", first.crc32]],
    );
    assert.deepEqual(emu.state.trashed(tokenB), []);
  });

  it("copies the whole account (source 0) into a folder, without a folder for the root itself", async () => {
    emu.state.addFile(0, "top.bin", bytes(10));
    emu.state.addFile(emu.state.addFolder(0, "Sub").id, "in.bin", bytes(11));
    const dest = emu.state.addFolder(0, "Everything", tokenB);
    const summary = await copy({ sourceId: 0, targetFolderId: dest.id });
    assert.deepEqual(summary.copied.map((c) => c.path).sort(), ["Sub/in.bin", "top.bin"]);
    assert.deepEqual(treeOf(emu, dest.id, tokenB), treeOf(emu, 0, emu.token));
  });

  it("never hands B a URL with a token: refused per file, the token in no text", async () => {
    const f = emu.state.addFile(0, "x.bin", bytes(10));
    const real = a.files.downloadUrl.bind(a.files);
    a.files.downloadUrl = async (id, signal) => `${await real(id, signal)}&oauth_token=${emu.token}`;
    const summary = await copy({ sourceId: f.id, targetFolderId: 0 });
    assert.equal(summary.failed[0]?.code, "copy.url-has-token");
    assert.ok(!JSON.stringify(summary).includes(emu.token));
    assert.deepEqual(emu.state.transfers(tokenB), []);
    assert.throws(() => checkStorageUrl("https://s1.put.io/download/1?u=x&Token=abc", t("op.copy-file", { path: "x" })), /access token/);
    assert.equal(checkStorageUrl("https://s1.put.io/download/1?u=x", t("op.copy-file", { path: "x" })), "https://s1.put.io/download/1?u=x");
  });

  it("property: a random tree copied to B equals A's tree by path, size and CRC32 (and a re-run skips it all)", async () => {
    const nameArb = fc.constantFrom("a", "A", "é".normalize("NFC"), "é".normalize("NFD"), "x y", "Ω.mkv", "f.txt", "F.TXT", "z");
    type Node = { name: string; size?: number; children?: Node[] };
    const treeArb: fc.Arbitrary<Node[]> = fc.letrec<{ nodes: Node[] }>((tie) => ({
      nodes: fc
        .uniqueArray(
          fc.oneof(
            { depthSize: "small", withCrossShrink: true },
            fc.record({ name: nameArb, size: fc.integer({ min: 0, max: 3000 }) }),
            fc.record({ name: nameArb, children: tie("nodes") }),
          ),
          { selector: (n) => n.name, maxLength: 4 },
        )
        .map((x) => x as Node[]),
    })).nodes;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(treeArb, async (nodes) => {
        run++;
        const root = emu.state.addFolder(0, `run${run}`);
        const seed = (parent: number, list: Node[]) => {
          for (const n of list) {
            if (n.children) seed(emu.state.addFolder(parent, n.name).id, n.children);
            else emu.state.addFile(parent, n.name, bytes(n.size!));
          }
        };
        seed(root.id, nodes);
        const summary: CopySummary = await copy({ sourceId: root.id, targetFolderId: 0, concurrency: 3 });
        assert.deepEqual(summary.failed, []);
        const onA = treeOf(emu, root.id, emu.token);
        const destId = emu.state.listChildren(0, tokenB).find((f) => f.name === `run${run}`)!.id;
        assert.deepEqual(treeOf(emu, destId, tokenB), onA);
        const again = await copy({ sourceId: root.id, targetFolderId: 0 });
        assert.equal(again.copied.length + again.failed.length, 0);
        assert.equal(again.skipped.length, summary.copied.length);
      }),
      { numRuns: 12, seed: 18 },
    );
  });

  describe("watcherWaiter", () => {
    /** A watcher that only records: the test decides what it reports. */
    function fakeWatcher() {
      const listeners = new Set<ChangeListener>();
      const hints: number[] = [];
      const w: WatcherLike = {
        subscribe: (l) => {
          listeners.add(l);
          return () => listeners.delete(l);
        },
        hint: async (id) => void hints.push(id),
      };
      return { w, listeners, hints };
    }

    it("resolves on the watcher's report of the finished transfer, asks it to read the transfer once, and unsubscribes", async () => {
      const { w, listeners, hints } = fakeWatcher();
      const added = emu.state.addTransfer({ url: "https://example.com/a.bin", userToken: tokenB });
      const p = watcherWaiter(w, b, { safetyMs: 3_600_000 })(added.id, new AbortController().signal);
      assert.deepEqual(hints, [added.id]);
      const report = (status: string, id = added.id) =>
        [...listeners].forEach((l) => void l({ transfer: { id, status }, source: "socket", path: async () => null, file: async () => null }));
      report("COMPLETED", added.id + 1); // another transfer: not ours
      report("DOWNLOADING");
      report("COMPLETED");
      assert.equal((await p).status, "COMPLETED");
      assert.equal(listeners.size, 0);
    });

    it("without a report, its own slow read finds the finished transfer (a missed push)", async () => {
      const { w, listeners } = fakeWatcher();
      const added = emu.state.addTransfer({ url: "https://example.com/b.bin", userToken: tokenB });
      const p = watcherWaiter(w, b, { safetyMs: 20 })(added.id, new AbortController().signal);
      const done = await drive(emu, p);
      assert.equal(done.status, "COMPLETED");
      assert.equal(listeners.size, 0);
    });

    it("rejects with PutioAbortError when the signal fires, and unsubscribes", async () => {
      const { w, listeners } = fakeWatcher();
      const added = emu.state.addTransfer({ url: "https://example.com/c.bin", userToken: tokenB });
      const ac = new AbortController();
      const p = watcherWaiter(w, b, { safetyMs: 20 })(added.id, ac.signal);
      ac.abort();
      await assert.rejects(p, (err: unknown) => err instanceof PutioAbortError);
      assert.equal(listeners.size, 0);
    });
  });
});
