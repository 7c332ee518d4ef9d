/** The putio-sync node in a real Node-RED runtime, against the emulator (socket pushes included). */
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { nextMessage, nr } from "./nr";
import { syncModule, useSyncNode } from "./support/sync-node";

const MiB = 1024 * 1024;

/** Every entry under `dir` with its size and content hash (the dry-run checks compare these). */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string, rel: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = fs.lstatSync(full);
      if (e.isDirectory()) {
        out.push(`${r}/`);
        visit(full, r);
      } else out.push(`${r} ${st.size} ${st.mtimeMs} ${crypto.createHash("sha1").update(fs.readFileSync(full)).digest("hex")}`);
    }
  };
  visit(dir, "");
  return out;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("putio-sync node @nr", function () {
  this.timeout(60_000);
  const rig = useSyncNode({ work: "putio-sync-", node: { debounceMs: 20 } });
  const { loadSync: load, run, storageGets } = rig;

  function media() {
    const m = rig.emu.state.addFolder(0, "Media");
    const tv = rig.emu.state.addFolder(m.id, "TV");
    const a = rig.emu.state.addFile(tv.id, "a.mkv", Buffer.from("episode a"));
    const b = rig.emu.state.addFile(m.id, "b.txt", Buffer.from("bee"));
    return { m, tv, a, b };
  }

  it("first run copies the tree (verified), a second run copies nothing and downloads nothing", async () => {
    const { a, b } = media();
    await load({});
    const first = await run();
    assert.deepEqual(first.copied.map((c: any) => c.path).sort(), ["TV/a.mkv", "b.txt"]);
    // The run's listing is current: no file is read from put.io again before its download.
    assert.ok(
      !rig.emu.requests.some((r) => r.method === "GET" && (r.path === `/v2/files/${a.id}` || r.path === `/v2/files/${b.id}`)),
      "no second read per file",
    );
    assert.deepEqual([first.failed, first.skipped, first.dryRun], [[], 0, false]);
    assert.ok(fs.readFileSync(path.join(rig.target, "TV", "a.mkv")).equals(rig.emu.state.fileBytes(a.id)));
    assert.ok(fs.readFileSync(path.join(rig.target, "b.txt")).equals(rig.emu.state.fileBytes(b.id)));
    assert.deepEqual(fs.readdirSync(rig.target).sort(), [".putio-sync.json", "TV", "b.txt"], "no staging folder left behind");
    const gets = storageGets();
    const second = await run();
    assert.deepEqual([second.copied, second.renamed, second.deleted, second.failed, second.skipped], [[], [], [], [], 2]);
    assert.equal(storageGets(), gets, "nothing downloaded again");
  });

  it("follows put.io live: a new file appears, a move and a rename are local renames (no download), a changed file is replaced", async () => {
    const { tv, a, b } = media();
    await load({ live: true });
    const initial = await nextMessage("out"); // the reconcile at start, nobody sent a msg
    await until(() => rig.emu.socketCount() > 0, "the socket connected"); // pushes before it would be lost
    assert.equal(initial.payload.copied.length, 2);

    let next = nextMessage("out");
    const c = rig.emu.state.addFile(tv.id, "c.mkv", Buffer.from("episode c")); // pushes file_create
    let r = (await next).payload;
    assert.deepEqual(r.copied, [{ path: "TV/c.mkv", size: 9 }]);
    assert.ok(fs.readFileSync(path.join(rig.target, "TV", "c.mkv")).equals(rig.emu.state.fileBytes(c.id)));

    const gets = storageGets();
    next = nextMessage("out");
    await rig.client.files.rename(a.id, "a renamed.mkv");
    r = (await next).payload;
    assert.deepEqual(r.renamed, [{ from: "TV/a.mkv", to: "TV/a renamed.mkv" }]);
    assert.deepEqual(r.copied, []);

    const s2 = rig.emu.state.addFolder(tv.id, "S02"); // a file_create of its own: wait for that run first
    await nextMessage("out");
    next = nextMessage("out");
    await rig.client.files.move([b.id], s2.id);
    r = (await next).payload;
    assert.deepEqual(r.renamed, [{ from: "b.txt", to: "TV/S02/b.txt" }]);
    assert.equal(storageGets(), gets, "moves and renames download nothing");
    assert.ok(fs.readFileSync(path.join(rig.target, "TV", "S02", "b.txt")).equals(rig.emu.state.fileBytes(b.id)));
    assert.ok(!fs.existsSync(path.join(rig.target, "b.txt")) && !fs.existsSync(path.join(rig.target, "TV", "a.mkv")));

    next = nextMessage("out");
    rig.emu.state.replaceFileContent(c.id, Buffer.from("episode c, recut")); // pushes file_update
    r = (await next).payload;
    assert.deepEqual(r.copied, [{ path: "TV/c.mkv", size: 16 }]);
    assert.ok(fs.readFileSync(path.join(rig.target, "TV", "c.mkv")).equals(rig.emu.state.fileBytes(c.id)));

    next = nextMessage("out");
    await rig.client.files.delete([c.id]); // pushes file_delete; deletions are not propagated by default
    r = (await next).payload;
    assert.deepEqual([r.kept, r.deleted], [[{ path: "TV/c.mkv" }], []]);
    assert.ok(fs.existsSync(path.join(rig.target, "TV", "c.mkv")));
  });

  it("a run started by socket events lists only the folders they touched; a msg lists them all", async () => {
    const m = rig.emu.state.addFolder(0, "Media");
    const folders = [0, 1, 2, 3, 4].map((i) => rig.emu.state.addFolder(m.id, `d${i}`));
    const f = rig.emu.state.addFile(folders[1]!.id, "one.txt", Buffer.from("one"));
    await load({ live: true });
    await nextMessage("out");
    await until(() => rig.emu.socketCount() > 0, "the socket connected"); // pushes before it would be lost
    const lists = (from: number) => rig.emu.requests.slice(from).filter((q) => q.path.startsWith("/v2/files/list"));

    let mark = rig.emu.requests.length;
    let next = nextMessage("out");
    rig.emu.state.addFile(folders[3]!.id, "new.txt", Buffer.from("new"));
    let r = (await next).payload;
    assert.deepEqual(r.copied, [{ path: "d3/new.txt", size: 3 }]);
    assert.deepEqual(
      lists(mark).map((q) => Number(q.query.parent_id)),
      [folders[3]!.id],
      "only the folder of the new file",
    );

    mark = rig.emu.requests.length;
    next = nextMessage("out");
    await rig.client.files.move([f.id], folders[4]!.id);
    r = (await next).payload;
    assert.deepEqual(r.renamed, [{ from: "d1/one.txt", to: "d4/one.txt" }]);
    assert.deepEqual(
      lists(mark)
        .map((q) => Number(q.query.parent_id))
        .sort((a, b) => a - b),
      [folders[1]!.id, folders[4]!.id],
      "the folders it left and entered",
    );

    mark = rig.emu.requests.length;
    r = await run();
    assert.equal(lists(mark).length, 6, "a msg: every folder (Media and its 5 folders)");
    assert.equal(r.skipped, 2);

    // An event without parent_id (put.io's payloads are not documented): the item could be anywhere.
    mark = rig.emu.requests.length;
    next = nextMessage("out");
    rig.emu.state.push(rig.emu.state.defaultUserId, "file_move", { id: f.id });
    await next;
    assert.equal(lists(mark).length, 6, "every folder listed again");

    // An event for a file outside the synced folder starts no run.
    const other = rig.emu.state.addFolder(0, "Elsewhere");
    rig.emu.state.addFile(other.id, "x.txt", Buffer.from("x"));
    mark = rig.emu.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(lists(mark).length, 0, "no run for a change elsewhere");
  });

  it("a relative local folder or a put.io folder that is not a path is a catchable error; nothing is written", async () => {
    media();
    await load({ target: "relative/nas" });
    let caught = nextMessage("caught");
    nr.node("sync").receive({ payload: 1 });
    assert.match((await caught).error.message, /absolute path/);
    await nr.helper.unload();
    await load({ folder: "Media" });
    caught = nextMessage("caught");
    nr.node("sync").receive({ payload: 1 });
    assert.match((await caught).error.message, /id or a path like \/Media/);
    await nr.helper.unload();
    await load({ folder: "/Nope" });
    caught = nextMessage("caught");
    nr.node("sync").receive({ payload: 1 });
    assert.match((await caught).error.message, /does not exist/);
    assert.ok(!fs.existsSync(rig.target));
  });

  it("a synced file the user replaced by a file of their own (same name) is theirs: never overwritten or trashed", async () => {
    const { b } = media();
    await load({ propagateDeletes: true });
    await run();
    // Written beside it and renamed over it: another inode for sure (a deleted inode may be reused).
    fs.writeFileSync(path.join(rig.target, "b.new"), "mine now");
    fs.renameSync(path.join(rig.target, "b.new"), path.join(rig.target, "b.txt"));
    rig.emu.state.replaceFileContent(b.id, Buffer.from("bee, second cut"));
    let r = await run();
    assert.deepEqual(
      r.failed.map((f: any) => f.path),
      ["b.txt"],
    );
    assert.equal(fs.readFileSync(path.join(rig.target, "b.txt"), "utf8"), "mine now");
    await rig.client.files.delete([b.id]);
    r = await run();
    assert.deepEqual([r.deleted, r.kept], [[], [{ path: "b.txt" }]]);
    assert.equal(fs.readFileSync(path.join(rig.target, "b.txt"), "utf8"), "mine now");
  });

  it("a put.io delete: kept locally by default; with 'propagate deletions' moved to the local trash, never deleted", async () => {
    const { a, b } = media();
    await load({});
    await run();
    await rig.client.files.delete([b.id]);
    let r = await run();
    assert.deepEqual(r.kept, [{ path: "b.txt" }]);
    assert.deepEqual(r.deleted, []);
    assert.ok(fs.existsSync(path.join(rig.target, "b.txt")));
    r = await run();
    assert.deepEqual([r.kept, r.deleted, r.failed], [[], [], []], "forgotten: the user's file now");
    assert.ok(fs.existsSync(path.join(rig.target, "b.txt")));

    await nr.helper.unload();
    await load({ propagateDeletes: true });
    await rig.client.files.delete([a.id]);
    r = await run();
    assert.equal(r.deleted.length, 1);
    assert.equal(r.deleted[0].path, "TV/a.mkv");
    assert.match(r.deleted[0].trashedTo, /^\.putio-trash\/[^/]+\/TV\/a\.mkv$/);
    assert.ok(fs.readFileSync(path.join(rig.target, ...r.deleted[0].trashedTo.split("/"))).equals(Buffer.from("episode a")));
    assert.ok(!fs.existsSync(path.join(rig.target, "TV")), "the emptied folder goes");
    assert.ok(fs.existsSync(path.join(rig.target, "b.txt")), "a file the sync forgot is not touched by deletions");
  });

  it("local files not on put.io stay, unless 'remove local extras' is on (then to the local trash)", async () => {
    media();
    fs.mkdirSync(rig.target, { recursive: true });
    fs.writeFileSync(path.join(rig.target, "mine.txt"), "user data");
    await load({});
    let r = await run();
    assert.deepEqual(r.deleted, []);
    assert.equal(fs.readFileSync(path.join(rig.target, "mine.txt"), "utf8"), "user data");
    await nr.helper.unload();
    await load({ removeExtras: true });
    r = await run();
    assert.deepEqual(
      r.deleted.map((d: any) => d.path),
      ["mine.txt"],
    );
    assert.equal(fs.readFileSync(path.join(rig.target, ...r.deleted[0].trashedTo.split("/")), "utf8"), "user data");
    assert.ok(fs.existsSync(path.join(rig.target, "TV", "a.mkv")));
  });

  it("dry runs (node option or msg.dryRun) change nothing, on a fresh target and after changes", async () => {
    const { a, b } = media();
    await load({ dryRun: true, propagateDeletes: true, removeExtras: true });
    let r = await run();
    assert.equal(r.dryRun, true);
    assert.deepEqual(r.copied.map((c: any) => c.path).sort(), ["TV/a.mkv", "b.txt"]);
    assert.ok(!fs.existsSync(rig.target), "a dry run does not even create the target");
    assert.equal(storageGets(), 0);

    await run({ dryRun: false });
    fs.writeFileSync(path.join(rig.target, "extra.txt"), "x");
    await rig.client.files.rename(a.id, "a2.mkv");
    await rig.client.files.delete([b.id]);
    rig.emu.state.addFile(0, "outside.txt", Buffer.from("not synced"));
    const before = snapshot(rig.target);
    const gets = storageGets();
    r = await run();
    assert.deepEqual(r.renamed, [{ from: "TV/a.mkv", to: "TV/a2.mkv" }]);
    assert.deepEqual(r.deleted.map((d: any) => d.path).sort(), ["b.txt", "extra.txt"]);
    assert.deepEqual(snapshot(rig.target), before, "the tree is unchanged");
    assert.equal(storageGets(), gets);
  });

  it("hostile names: '..', separators, case-only and NFC/NFD twins each get their own local file; a user file in the way is never overwritten", async () => {
    const m = rig.emu.state.addFolder(0, "Media");
    const dots = rig.emu.state.addFolder(m.id, "..");
    const evil = rig.emu.state.addFile(dots.id, "..", Buffer.from("dots"));
    const colon = rig.emu.state.addFile(m.id, 'a:b*c?"d".txt', Buffer.from("colon"));
    const upper = rig.emu.state.addFile(m.id, "Case.txt", Buffer.from("upper"));
    const lower = rig.emu.state.addFile(m.id, "case.txt", Buffer.from("lower"));
    const nfc = rig.emu.state.addFile(m.id, "caf\u00e9.txt", Buffer.from("nfc"));
    const nfd = rig.emu.state.addFile(m.id, "cafe\u0301.txt", Buffer.from("nfd"));
    const same = rig.emu.state.addFile(m.id, "same.txt", Buffer.from("identical"));
    rig.emu.state.addFile(m.id, "theirs.txt", Buffer.from("put.io's"));
    fs.mkdirSync(rig.target, { recursive: true });
    fs.writeFileSync(path.join(rig.target, "theirs.txt"), "the user's own file!");
    fs.writeFileSync(path.join(rig.target, "same.txt"), "identical");
    const outside = fs.readdirSync(rig.work).sort();
    await load({});
    const r = await run();
    assert.deepEqual(
      r.failed.map((f: any) => f.path),
      ["theirs.txt"],
    );
    assert.match(r.failed[0].error, /not written by the sync/);
    assert.equal(fs.readFileSync(path.join(rig.target, "theirs.txt"), "utf8"), "the user's own file!");
    assert.equal(r.skipped, 1, "the identical user file is adopted");
    assert.deepEqual(fs.readdirSync(rig.work).sort(), outside, "nothing written beside the target");
    const contents = new Map<string, string>();
    const walk = (d: string, rel: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.name.startsWith(".putio-")) continue;
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full, rel + e.name + "/");
        else contents.set(rel + e.name, fs.readFileSync(full, "utf8"));
      }
    };
    walk(rig.target, "");
    for (const f of [evil, colon, upper, lower, nfc, nfd, same]) {
      assert.ok([...contents.values()].filter((v) => v === rig.emu.state.fileBytes(f.id).toString()).length === 1, `${f.name} has one local copy`);
    }
    const folded = [...contents.keys()].map((k) => k.normalize("NFKC").toLowerCase());
    assert.equal(new Set(folded).size, folded.length, "no two local names fold to one");
    const again = await run();
    assert.deepEqual([again.copied, again.renamed, again.failed.length], [[], [], 1]);
  });

  it("a second trigger during a run is coalesced into one more run; runs never overlap", async () => {
    const m = rig.emu.state.addFolder(0, "Media");
    for (let i = 0; i < 6; i++) rig.emu.state.addFile(m.id, `f${i}.bin`, { size: MiB, seed: i + 1 });
    rig.emu.knobs.latencyMs = 20;
    await load({});
    const outs: any[] = [];
    nr.node("out").on("input", (msg: any) => outs.push(msg));
    for (let i = 0; i < 4; i++) nr.node("sync").receive({ payload: i });
    await until(() => outs.length >= 2, "two reports");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(outs.length, 2, "four msgs, two runs");
    assert.equal(outs[0].payload.copied.length, 6);
    assert.equal(outs[1].payload.skipped, 6);
  });

  it("two names swapped on put.io: two local moves through the staging folder, nothing downloaded", async () => {
    const m = rig.emu.state.addFolder(0, "Media");
    const x = rig.emu.state.addFile(m.id, "x.txt", Buffer.from("xxx"));
    const y = rig.emu.state.addFile(m.id, "y.txt", Buffer.from("yyyy"));
    await load({});
    await run();
    await rig.client.files.rename(x.id, "tmp.txt");
    await rig.client.files.rename(y.id, "x.txt");
    await rig.client.files.rename(x.id, "y.txt");
    const gets = storageGets();
    const r = await run();
    assert.deepEqual(r.renamed.map((e: any) => `${e.from}>${e.to}`).sort(), ["x.txt>y.txt", "y.txt>x.txt"]);
    assert.equal(storageGets(), gets);
    assert.equal(fs.readFileSync(path.join(rig.target, "x.txt"), "utf8"), "yyyy");
    assert.equal(fs.readFileSync(path.join(rig.target, "y.txt"), "utf8"), "xxx");
  });

  it("two sync nodes on one local folder take turns: every file is copied once, nothing fails", async () => {
    const m = rig.emu.state.addFolder(0, "Media");
    for (let i = 0; i < 5; i++) rig.emu.state.addFile(m.id, `f${i}.bin`, { size: MiB / 2, seed: i + 1 });
    rig.emu.knobs.latencyMs = 10;
    await load({});
    const flow = [
      rig.account(),
      ...["s1", "s2"].map((id) => ({
        id,
        type: "putio-sync",
        account: "acc",
        folder: "/Media",
        folderType: "str",
        target: rig.target,
        targetType: "str",
        wires: [["out"]],
      })),
      { id: "out", type: "helper" },
    ];
    await nr.helper.unload();
    await rig.load([syncModule], flow);
    const outs: any[] = [];
    nr.node("out").on("input", (msg: any) => outs.push(msg.payload));
    nr.node("s1").receive({});
    nr.node("s2").receive({});
    await until(() => outs.length === 2, "both reports");
    assert.deepEqual(
      outs.map((o) => o.failed),
      [[], []],
    );
    assert.equal(outs[0].copied.length + outs[1].copied.length, 5);
    assert.equal(outs[0].skipped + outs[1].skipped, 5, "the second run found everything done");
    assert.equal(storageGets(), 5);
  });

  it("a half-downloaded file whose put.io file is deleted meanwhile leaves nothing behind in the staging folder", async () => {
    const m = rig.emu.state.addFolder(0, "Media");
    const big = rig.emu.state.addFile(m.id, "big.mkv", { size: 4 * MiB, seed: 9 });
    rig.emu.state.addFile(m.id, "small.txt", Buffer.from("small"));
    rig.emu.knobs.stallDownloadAfterBytes = 2 * MiB;
    rig.emu.knobs.stallsRemaining = 1;
    await load({});
    nr.node("sync").receive({ payload: "go" });
    const part = path.join(rig.target, ".putio-sync-tmp", `dl-${big.id}`, `.putio-${big.id}.part`);
    await until(() => fs.existsSync(part), "the part file");
    await nr.stop();
    await rig.client.files.delete([big.id]);
    await nr.start();
    await load({});
    const r = (await nextMessage("out")).payload; // the interrupted run is finished at start
    assert.deepEqual(r.failed, []);
    assert.ok(!fs.existsSync(path.join(rig.target, ".putio-sync-tmp")), "staging folder removed");
    assert.deepEqual(fs.readdirSync(rig.target).sort(), [".putio-sync.json", "small.txt"]);
  });

  it("a restart mid-run: the next start finishes the run, resuming the half-downloaded file", async () => {
    const m = rig.emu.state.addFolder(0, "Media");
    const big = rig.emu.state.addFile(m.id, "big.mkv", { size: 4 * MiB, seed: 9 });
    rig.emu.knobs.stallDownloadAfterBytes = 2 * MiB;
    rig.emu.knobs.stallsRemaining = 1;
    await load({});
    nr.node("sync").receive({ payload: "go" });
    const side = path.join(rig.target, ".putio-sync-tmp", `dl-${big.id}`, `.putio-${big.id}.part.json`);
    const progressed = () => {
      try {
        return JSON.parse(fs.readFileSync(side, "utf8")).segments.some((s: any) => s.pos > 0);
      } catch {
        return false;
      }
    };
    await until(progressed, "a checkpoint of the part");
    await nr.stop();
    assert.ok(!fs.existsSync(path.join(rig.target, "big.mkv")), "nothing half-written at the final path");
    assert.equal(JSON.parse(fs.readFileSync(path.join(rig.target, ".putio-sync.json"), "utf8")).running, true);

    await nr.start();
    const before = rig.emu.requests.length;
    await load({});
    const r = (await nextMessage("out")).payload; // nobody sends a msg: the node finishes the run itself
    assert.deepEqual(r.copied, [{ path: "big.mkv", size: 4 * MiB }]);
    assert.ok(fs.readFileSync(path.join(rig.target, "big.mkv")).equals(rig.emu.state.fileBytes(big.id)));
    const ranges = rig.emu.requests.slice(before).filter((q) => q.path.startsWith("/download/") && q.range);
    assert.ok(ranges.length > 0 && ranges.every((q) => !/^bytes=0-/.test(q.range!)), `resumed, not started over: ${ranges.map((q) => q.range).join(", ")}`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(rig.target, ".putio-sync.json"), "utf8")).running, false);
  });
});
