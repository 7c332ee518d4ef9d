/**
 * The backup of a local folder to put.io (lib/upload/backup.ts): the planner's invariants as
 * fast-check properties, and whole runs against the emulator (first run, re-run, replace, resume,
 * a file that changes while it is sent, hostile names, links, dry run).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { writeUnder } from "./support/files";
import { startEmulator, type Emulator } from "./emulator";
import {
  BACKUP_TEMP_PREFIX,
  PutioClient,
  backupFolder,
  backupTempName,
  planBackup,
  type BackupOptions,
  type LocalFile,
  type PlanStep,
  type RemoteItem,
} from "../lib";

// ---------- the planner ----------

/** Names that stress the rules: case and Unicode-form twins, our own prefix, blank, long, dots. */
const NAME_PIECES = ["a", "A", "b", "é", "e\u0301", "ß", "SS", " ", ".", "x.txt", "X.TXT", "Ω", "\u2126", BACKUP_TEMP_PREFIX];
const nameArb = fc.oneof(
  { weight: 10, arbitrary: fc.array(fc.constantFrom(...NAME_PIECES), { minLength: 1, maxLength: 3 }).map((p) => p.join("")) },
  { weight: 1, arbitrary: fc.constantFrom("z".repeat(256), "é".repeat(128), "  ", ".hidden") },
);
const relPathArb = fc.array(nameArb, { minLength: 1, maxLength: 3 }).map((parts) => parts.join("/"));
const crcArb = fc.constantFrom("00000001", "00000002", "0000000a");

interface LocalSpec {
  path: string;
  size: number;
  crc: string;
}
/** Files whose path is not also a folder of another file's path. */
function withoutFolderClashes<T extends { path: string }>(files: T[]): T[] {
  const dirs = new Set(
    files.flatMap((f) =>
      f.path
        .split("/")
        .slice(0, -1)
        .map((_, i, a) => a.slice(0, i + 1).join("/")),
    ),
  );
  return files.filter((f) => !dirs.has(f.path));
}
/** A local tree: unique paths, and no path is both a file and a folder. */
const localArb = fc
  .uniqueArray(fc.record({ path: relPathArb, size: fc.integer({ min: 0, max: 3 }), crc: crcArb }), { maxLength: 12, selector: (f) => f.path })
  .map(withoutFolderClashes);
/** A put.io tree: duplicate names allowed (uploads may duplicate), a folder and a file may share a name. */
const remoteArb = fc
  .array(fc.record({ path: relPathArb, size: fc.integer({ min: 0, max: 3 }), crc: fc.option(crcArb, { nil: null }), folder: fc.boolean() }), { maxLength: 12 })
  .map((items) => {
    const out: RemoteItem[] = [];
    let id = 100;
    const folders = new Map<string, number>();
    for (const it of items) {
      const parts = it.path.split("/");
      let prefix = "";
      for (const part of parts.slice(0, -1)) {
        prefix = prefix ? `${prefix}/${part}` : part;
        if (!folders.has(prefix)) {
          folders.set(prefix, ++id);
          out.push({ path: prefix, id, isFolder: true, size: 0, crc32: null });
        }
      }
      if (it.folder) {
        if (!folders.has(it.path)) {
          folders.set(it.path, ++id);
          out.push({ path: it.path, id, isFolder: true, size: 0, crc32: null });
        }
      } else out.push({ path: it.path, id: ++id, isFolder: false, size: it.size, crc32: it.crc });
    }
    return out;
  });

const localOf = (specs: LocalSpec[]): { files: LocalFile[]; dirs: string[] } => ({
  files: specs.map((s) => ({ path: s.path, size: s.size, mtimeMs: 1, crc32: s.crc })),
  dirs: [],
});

/** put.io after the plan ran: folders made, files stored under their names, old versions gone. */
function apply(steps: PlanStep[], remote: RemoteItem[], local: LocalSpec[]): RemoteItem[] {
  let next = [...remote];
  let id = 10_000;
  // Local path → put.io path (a folder matched by its NFC form keeps put.io's name).
  const at = new Map<string, string>([["", ""]]);
  const parentOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
  const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  const remotePath = (p: string) => {
    const dir = at.get(parentOf(p))!;
    return dir ? `${dir}/${baseOf(p)}` : baseOf(p);
  };
  for (const s of steps) {
    if (s.op === "dir") at.set(s.path, remote.find((r) => r.id === s.id)!.path);
    if (s.op === "mkdir") {
      const p = remotePath(s.path);
      at.set(s.path, p);
      next.push({ path: p, id: ++id, isFolder: true, size: 0, crc32: null });
    }
    if (s.op === "upload" || s.op === "replace") {
      if (s.op === "replace") next = next.filter((r) => r.id !== s.oldId);
      const spec = local.find((l) => l.path === s.path)!;
      next.push({ path: remotePath(s.path), id: ++id, isFolder: false, size: spec.size, crc32: spec.crc });
    }
  }
  return next;
}

describe("backup: the planner (properties)", () => {
  it("touches only put.io items of the folder, plans every local file once, and skips identical files", () => {
    fc.assert(
      fc.property(localArb, remoteArb, (local, remote) => {
        const steps = planBackup(localOf(local), remote);
        const ids = new Set(remote.map((r) => r.id));
        for (const s of steps) {
          if (s.op === "dir") assert.ok(ids.has(s.id));
          if (s.op === "skip") assert.ok(ids.has(s.fileId));
          if (s.op === "replace") assert.ok(ids.has(s.oldId));
          if (s.op === "upload" || s.op === "replace") for (const tmp of s.temps) assert.ok(ids.has(tmp.id));
        }
        // Every local file: one step of its own, or under exactly one failed folder.
        for (const f of local) {
          const own = steps.filter((s) => s.path === f.path);
          const failedAbove = steps.filter((s) => s.op === "fail" && f.path.startsWith(s.path + "/"));
          assert.equal(own.length + failedAbove.length, 1, `${f.path}: ${JSON.stringify(steps)}`);
        }
        // A local file whose exact path is a put.io file of the same size and CRC32, through matched folders, is skipped.
        for (const f of local) {
          const twin = remote.find((r) => !r.isFolder && r.path === f.path && r.size === f.size && r.crc32 === f.crc);
          const own = steps.find((s) => s.path === f.path);
          if (twin && own && own.op !== "fail") assert.equal(own.op, "skip", JSON.stringify({ f, own }));
        }
        // Names put.io would refuse, and our own temp names, never reach put.io.
        for (const s of steps)
          if (s.op === "upload" || s.op === "replace" || s.op === "mkdir") {
            assert.ok(s.name.trim() !== "" && Buffer.byteLength(s.name) <= 255 && !s.name.startsWith(BACKUP_TEMP_PREFIX));
          }
      }),
      { numRuns: 400 },
    );
  });

  it("applying the plan and planning again leaves only skips", () => {
    fc.assert(
      fc.property(localArb, remoteArb, (local, remote) => {
        const first = planBackup(localOf(local), remote);
        const again = planBackup(localOf(local), apply(first, remote, local));
        const work = again.filter((s) => s.op === "upload" || s.op === "replace" || s.op === "mkdir");
        assert.deepEqual(work, [], JSON.stringify({ first, again }));
        assert.deepEqual(
          again.filter((s) => s.op === "fail").map((s) => s.path),
          first.filter((s) => s.op === "fail").map((s) => s.path),
        );
      }),
      { numRuns: 400 },
    );
  });

  it("local names that differ only in Unicode form: one is backed up, the other fails; case-only twins are both backed up", () => {
    const steps = planBackup(
      localOf([
        { path: "caf\u00e9.txt", size: 1, crc: "00000001" },
        { path: "cafe\u0301.txt", size: 1, crc: "00000002" },
        { path: "Read.me", size: 1, crc: "00000001" },
        { path: "read.me", size: 1, crc: "00000002" },
      ]),
      [],
    );
    const by = (p: string) => steps.find((s) => s.path === p)!;
    assert.equal(by("cafe\u0301.txt").op, "upload", "code-unit order: the decomposed form sorts first");
    assert.equal(by("caf\u00e9.txt").op, "fail");
    assert.equal(by("Read.me").op, "upload");
    assert.equal(by("read.me").op, "upload");
  });
});

// ---------- whole runs against the emulator ----------

describe("backup: runs against the emulator", function () {
  this.timeout(60_000);
  let emu: Emulator;
  let client: PutioClient;
  let tmp: string;
  let src: string;
  let stateDir: string;
  let folderId: number;
  beforeEach(async () => {
    emu = await startEmulator();
    client = new PutioClient({ apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, token: emu.token, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "putio-backup-"));
    src = path.join(tmp, "src");
    stateDir = path.join(tmp, "state");
    fs.mkdirSync(src);
    folderId = emu.state.addFolder(0, "Backup").id;
  });
  afterEach(async () => {
    await client.close();
    await emu.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const write = (rel: string, data: Buffer | string) => writeUnder(src, rel, data);
  const run = (extra: Partial<BackupOptions> = {}) =>
    backupFolder(client, {
      localFolder: src,
      remoteFolderId: folderId,
      stateDir,
      cacheFile: path.join(stateDir, "cache.json"),
      chunkSize: 64 * 1024,
      ...extra,
    });
  /** put.io's tree under the backup folder: path → bytes (folders: null), temp copies included. */
  const tree = (id = folderId, prefix = ""): Map<string, string | null> => {
    const out = new Map<string, string | null>();
    for (const c of emu.state.listChildren(id)) {
      const p = prefix + c.name;
      if (c.file_type === "FOLDER") {
        out.set(p + "/", null);
        for (const [k, v] of tree(c.id, p + "/")) out.set(k, v);
      } else out.set(p, emu.state.fileBytes(c.id).toString("latin1"));
    }
    return out;
  };
  const uploads = () => emu.requests.filter((r) => r.method === "POST" && r.path === "/files/").length;
  const patches = () => emu.requests.filter((r) => r.method === "PATCH").length;
  const changesOnPutio = () => emu.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD" && !/\/list(\/continue)?$/.test(r.path)).length;

  it("first run uploads the tree; a re-run uploads nothing and reads no unchanged file; a changed file is replaced, the old one in the trash", async () => {
    const big = Buffer.alloc(200_000, 7);
    // Whole seconds, so the test can put the same mtime back.
    const fixed = new Date("2026-01-02T03:04:05Z");
    fs.utimesSync(write("a.txt", "alpha"), fixed, fixed);
    write("Photos/2026/img.jpg", big);
    write("Photos/empty.bin", "");
    write("seed.torrent", "d8:announce13:http://t/ann4:infod4:name5:a.iso12:piece lengthi16384e6:pieces0:6:lengthi5eee");
    fs.mkdirSync(path.join(src, "Empty/Deeper"), { recursive: true });
    const first = await run();
    assert.deepEqual(first.failed, []);
    assert.deepEqual(first.uploaded.map((u) => u.path).sort(), ["Photos/2026/img.jpg", "Photos/empty.bin", "a.txt", "seed.torrent"]);
    assert.deepEqual(first.createdFolders.sort(), ["Empty", "Empty/Deeper", "Photos", "Photos/2026"]);
    const t1 = tree();
    assert.equal(t1.get("a.txt"), "alpha");
    assert.equal(t1.get("Photos/2026/img.jpg"), big.toString("latin1"));
    assert.equal(t1.get("Photos/empty.bin"), "");
    assert.ok(t1.has("seed.torrent"), "a .torrent is backed up as a file, not started as a transfer");
    assert.equal(emu.state.transfers().length, 0);
    assert.ok(![...t1.keys()].some((k) => k.includes(BACKUP_TEMP_PREFIX)), "no temporary copy left");
    for (const u of first.uploaded) assert.equal(emu.state.getFile(u.fileId!)!.name, path.posix.basename(u.path));

    const before = { uploads: uploads(), patches: patches(), changes: changesOnPutio() };
    const second = await run();
    assert.deepEqual([second.uploaded, second.replaced, second.createdFolders, second.failed], [[], [], [], []]);
    assert.equal(second.skipped.length, 4);
    assert.deepEqual({ uploads: uploads(), patches: patches(), changes: changesOnPutio() }, before, "the re-run changed nothing on put.io");

    // The CRC32 cache is keyed by (path, size, mtime): a rewrite that keeps both is taken from it, not read again.
    const aPath = path.join(src, "a.txt");
    fs.writeFileSync(aPath, "ALPHA");
    fs.utimesSync(aPath, fixed, fixed);
    assert.equal((await run()).skipped.length, 4, "cached CRC used (the file was not read again)");

    // A real change (new mtime): replaced, and the old version is in put.io's trash.
    const oldId = first.uploaded.find((u) => u.path === "a.txt")!.fileId!;
    fs.writeFileSync(aPath, "alpha, version 2");
    fs.utimesSync(aPath, fixed, new Date(fixed.getTime() + 5000));
    write("Photos/new.txt", "new");
    const seen: Array<string | null | undefined> = [];
    const third = await run({
      onFileProgress: (p) => {
        // While the new version is sent, the real names hold the old version, or nothing yet for a new file.
        if (p === "a.txt") seen.push(tree().get("a.txt"));
        if (p === "Photos/new.txt") seen.push(tree().get("Photos/new.txt") ?? "absent");
      },
    });
    assert.deepEqual([...new Set(seen)].sort(), ["absent", "alpha"]);
    assert.deepEqual(third.failed, []);
    assert.deepEqual(
      third.replaced.map((r) => [r.path, r.oldFileId]),
      [["a.txt", oldId]],
    );
    assert.deepEqual(
      third.uploaded.map((u) => u.path),
      ["Photos/new.txt"],
    );
    assert.equal(tree().get("a.txt"), "alpha, version 2");
    assert.ok(
      emu.state.trashed().some((f) => f.id === oldId && f.name === "a.txt"),
      "the old version went to the trash",
    );
  });

  it("an interrupted upload resumes from put.io's offset on the next run", async () => {
    const data = Buffer.alloc(64 * 1024 * 4 + 100, 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    write("big.bin", data);
    const ac = new AbortController();
    await assert.rejects(
      run({
        signal: ac.signal,
        onFileProgress: (_p, sent) => {
          if (sent >= 2 * 64 * 1024) ac.abort();
        },
      }),
      (err: Error) => err.name === "PutioAbortError",
    );
    assert.equal(uploads(), 1);
    const patchesBefore = patches();
    assert.equal(patchesBefore, 2);
    const res = await run();
    assert.deepEqual(res.failed, []);
    assert.equal(uploads(), 1, "no new upload was created: the stored one was resumed");
    assert.equal(patches() - patchesBefore, 3, "only the three chunks after the offset were sent");
    assert.deepEqual(emu.state.fileBytes(res.uploaded[0]!.fileId!), data);
  });

  it("a file that changes while it is sent is sent again, never stored half old, half new; one that keeps changing fails and leaves nothing", async () => {
    const f = write("log.txt", Buffer.alloc(64 * 1024 * 3, "a"));
    let grown = 0;
    const res = await run({
      onFileProgress: (p, sent) => {
        assert.ok(!tree().has("log.txt"), "nothing under the real name before the checked copy is renamed");
        if (p === "log.txt" && sent === 64 * 1024 && grown++ === 0) fs.appendFileSync(f, "more");
      },
    });
    assert.deepEqual(res.failed, []);
    assert.equal(uploads(), 2, "the first copy was dropped and the file sent again");
    assert.equal(tree().get("log.txt"), fs.readFileSync(f).toString("latin1"));
    assert.equal(tree().size, 1, "the dropped copy is gone");

    // Grows on every attempt: fails after the bounded tries, nothing under its name, no copy left.
    const g = write("busy.txt", Buffer.alloc(64 * 1024 * 2, "b"));
    const res2 = await run({
      attempts: 2,
      onFileProgress: (p, sent) => {
        if (p === "busy.txt" && sent === 64 * 1024) fs.appendFileSync(g, "x");
      },
    });
    assert.deepEqual(
      res2.failed.map((x) => x.path),
      ["busy.txt"],
    );
    assert.match(String((res2.failed[0]!.error as Error).message), /changed while it was uploaded, 2 times/);
    assert.deepEqual([...tree().keys()], ["log.txt"]);
  });

  it("random hostile trees (property): put.io ends up holding every backed-up file byte for byte, and a re-run sends nothing", async () => {
    const LOCAL_PIECES = ["a", "A", "é", "e\u0301", "ß", " ", ".", "x.txt", "X.TXT", "Ω", "\u2126", BACKUP_TEMP_PREFIX, "\u{1f600}", "\\", ":"];
    const localName = fc
      .array(fc.constantFrom(...LOCAL_PIECES), { minLength: 1, maxLength: 3 })
      .map((p) => p.join(""))
      .filter((n) => n !== "." && n !== "..");
    const treeArb = fc
      .uniqueArray(fc.record({ path: fc.array(localName, { minLength: 1, maxLength: 3 }).map((p) => p.join("/")), size: fc.integer({ min: 0, max: 3000 }) }), {
        minLength: 1,
        maxLength: 8,
        selector: (f) => f.path,
      })
      .map(withoutFolderClashes);
    let round = 0;
    await fc.assert(
      fc.asyncProperty(treeArb, async (files) => {
        round++;
        const dir = path.join(tmp, `p${round}`);
        for (const [i, f] of files.entries()) {
          fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
          fs.writeFileSync(path.join(dir, f.path), Buffer.alloc(f.size, i + 1));
        }
        const id = emu.state.addFolder(0, `P${round}`).id;
        const opts = { localFolder: dir, remoteFolderId: id, stateDir, chunkSize: 64 * 1024 };
        const res = await backupFolder(client, opts);
        const onPutio = tree(id);
        const bad = (p: string) => res.failed.some((x) => p === x.path || p.startsWith(x.path + "/"));
        for (const [i, f] of files.entries()) {
          if (bad(f.path)) continue;
          assert.equal(onPutio.get(f.path), Buffer.alloc(f.size, i + 1).toString("latin1"), `${f.path} on put.io`);
        }
        // Only what put.io cannot take fails: blank names, our prefix, Unicode-form twins.
        for (const x of res.failed)
          assert.match((x.error as { code?: string }).code ?? "", /^(input\.name-empty|backup\.reserved-name|backup\.name-clash)$/, x.path);
        assert.ok(![...onPutio.keys()].some((k) => path.posix.basename(k).startsWith(BACKUP_TEMP_PREFIX)), "no temporary copy left");
        const sent = uploads();
        const again = await backupFolder(client, opts);
        assert.equal(uploads(), sent);
        assert.deepEqual([again.uploaded.length, again.replaced.length, again.createdFolders.length], [0, 0, 0]);
      }),
      { numRuns: 25 },
    );
  });

  it("a file cut shorter while it is sent is sent again at its new size", async () => {
    const f = write("shrinks.bin", Buffer.alloc(64 * 1024 * 4, 1));
    let cut = false;
    const res = await run({
      onFileProgress: (_p, sent) => {
        if (!cut && sent === 64 * 1024) {
          cut = true;
          fs.truncateSync(f, 1000);
        }
      },
    });
    assert.deepEqual(res.failed, []);
    assert.deepEqual(
      res.uploaded.map((u) => [u.path, u.size]),
      [["shrinks.bin", 1000]],
    );
    assert.equal(uploads(), 2);
    assert.deepEqual([...tree().entries()], [["shrinks.bin", Buffer.alloc(1000, 1).toString("latin1")]]);
  });

  it("hostile names: Unicode-form twins, case twins, names put.io refuses, our prefix, links and special files", async () => {
    write("caf\u00e9.txt", "nfc");
    write("cafe\u0301.txt", "nfd");
    write("Notes.TXT", "upper");
    write("notes.txt", "lower");
    write(" ", "blank name");
    write(`${BACKUP_TEMP_PREFIX}mine`, "reserved");
    write("emoji \u{1f600} \u202e.txt", "ok");
    write("inside/target.txt", "target");
    fs.symlinkSync(path.join(src, "inside/target.txt"), path.join(src, "link-inside.txt"));
    fs.symlinkSync("/etc/hostname", path.join(src, "link-outside"));
    fs.symlinkSync("/etc", path.join(src, "dir-link"));
    execFileSync("mkfifo", [path.join(src, "pipe")]);
    // The download node's unfinished files, as in a folder that is also a download target.
    write(".putio-77.part", "half");
    write(".putio-77.part.json", "{}");
    write(".putio-notes.txt", "a user's file that merely starts the same way");
    // A name that is not UTF-8 (Linux allows any bytes).
    const bad = Buffer.concat([Buffer.from(src + "/bad-"), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]);
    fs.writeFileSync(bad, "latin");

    const res = await run();
    const t = tree();
    assert.deepEqual(
      res.uploaded.map((u) => u.path).sort(),
      [".putio-notes.txt", "Notes.TXT", "cafe\u0301.txt", "emoji \u{1f600} \u202e.txt", "inside/target.txt", "notes.txt"].sort(),
    );
    assert.equal(t.get("Notes.TXT"), "upper");
    assert.equal(t.get("notes.txt"), "lower");
    assert.equal(t.get("cafe\u0301.txt"), "nfd");
    assert.ok(!t.has("caf\u00e9.txt"));
    const failed = new Map(res.failed.map((f) => [f.path, JSON.stringify(f.error)]));
    assert.deepEqual([...failed.keys()].sort(), [" ", `${BACKUP_TEMP_PREFIX}mine`, "bad-\ufffd\ufffd.txt", "caf\u00e9.txt"].sort());
    assert.match(failed.get(" ")!, /input.name-empty/);
    assert.match(failed.get("caf\u00e9.txt")!, /backup.name-clash/);
    assert.match(failed.get("bad-\ufffd\ufffd.txt")!, /backup.name-not-utf8/);
    assert.deepEqual(res.ignored.map((i) => [i.path, i.reason.code]).sort(), [
      [".putio-77.part", "backup.download-part"],
      [".putio-77.part.json", "backup.download-part"],
      ["dir-link", "backup.symlink"],
      ["link-inside.txt", "backup.symlink"],
      ["link-outside", "backup.symlink"],
      ["pipe", "backup.special-file"],
    ]);
    assert.ok(![...t.keys()].some((k) => k.startsWith("link") || k.startsWith("dir-link") || k === "pipe"));
    // And again: nothing left to do, the same failures.
    const again = await run();
    assert.deepEqual([again.uploaded.length, again.replaced.length, again.failed.length], [0, 0, 4]);
  });

  it("a leftover temporary copy is used when it matches and removed when it does not", async () => {
    write("a.txt", "alpha");
    write("b.txt", "bravo");
    const reused = emu.state.addFile(folderId, backupTempName("a.txt"), Buffer.from("alpha"));
    const stale = emu.state.addFile(folderId, backupTempName("b.txt"), Buffer.from("old bravo"));
    const res = await run();
    assert.deepEqual(res.failed, []);
    assert.equal(res.uploaded.find((u) => u.path === "a.txt")!.fileId, reused.id, "the matching copy was renamed into place");
    assert.equal(uploads(), 1, "only b.txt was sent");
    assert.equal(emu.state.getFile(stale.id), undefined);
    assert.deepEqual([...tree().entries()].sort(), [
      ["a.txt", "alpha"],
      ["b.txt", "bravo"],
    ]);
  });

  it("a put.io file-type filter is refused (local files have none), before anything is read or sent", async () => {
    write("film.mkv", "film");
    const before = emu.requests.length;
    await assert.rejects(run({ filter: { fileTypes: ["VIDEO"] } }), (e: unknown) => (e as { code?: string }).code === "backup.no-file-types");
    assert.equal(emu.requests.length, before);
    const ok = await run({ filter: { extensions: ["mkv"] } });
    assert.deepEqual(
      ok.uploaded.map((u) => u.path),
      ["film.mkv"],
    );
  });

  it("dry run: the plan, and nothing changes on put.io; a file or folder in the way fails its path only", async () => {
    write("a.txt", "alpha");
    write("same.txt", "same");
    write("changed.txt", "new");
    write("New/b.txt", "b");
    write("clash", "a file where put.io has a folder");
    write("Blocked/c.txt", "c");
    emu.state.addFile(folderId, "same.txt", Buffer.from("same"));
    const old = emu.state.addFile(folderId, "changed.txt", Buffer.from("old"));
    emu.state.addFolder(folderId, "clash");
    emu.state.addFile(folderId, "Blocked", Buffer.from("a file where the local tree has a folder"));
    const before = JSON.stringify([...tree()]);
    const requestsBefore = emu.requests.length;
    const res = await run({ dryRun: true });
    assert.equal(res.dryRun, true);
    assert.deepEqual(
      res.uploaded.map((u) => [u.path, u.fileId]),
      [
        ["New/b.txt", null],
        ["a.txt", null],
      ],
    );
    assert.deepEqual(
      res.replaced.map((r) => [r.path, r.oldFileId]),
      [["changed.txt", old.id]],
    );
    assert.deepEqual(
      res.skipped.map((s) => s.path),
      ["same.txt"],
    );
    assert.deepEqual(res.createdFolders, ["New"]);
    assert.deepEqual(res.failed.map((f) => [f.path, (f.error as { code: string }).code]).sort(), [
      ["Blocked", "backup.file-in-the-way"],
      ["clash", "backup.folder-in-the-way"],
    ]);
    assert.equal(JSON.stringify([...tree()]), before, "put.io's tree is unchanged");
    assert.ok(
      emu.requests.slice(requestsBefore).every((r) => r.method === "GET"),
      "only reads",
    );
    assert.ok(!fs.existsSync(path.join(stateDir, "cache.json")), "a dry run writes no state either");
    // The same plan, carried out.
    const real = await run();
    assert.deepEqual(
      real.uploaded.map((u) => u.path),
      ["New/b.txt", "a.txt"],
    );
    assert.equal(tree().get("changed.txt"), "new");
  });
});
