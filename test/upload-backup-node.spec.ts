/**
 * putio-upload in folder mode (backup) in a real Node-RED against the emulator: first run, re-run,
 * dry run, one run at a time, resume after a redeploy, a file that changes while it is sent,
 * hostile names as texts in the runtime's language, and the "Only from" limit.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { writeUnder } from "./support/files";
import { catchAll, messages, nextMessage, nr, statusMatching, withTab, type FlowNode } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";
import { BACKUP_TEMP_PREFIX, PutioAbortError, type RawRequestSpec } from "../lib";

const accountNode = require("../nodes/putio-account");
const uploadNode = require("../nodes/putio-upload");

describe("putio-upload: folder mode (backup) @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed({ work: "putio-backup-node-" });
  let src: string;
  beforeEach(() => {
    src = path.join(rig.work, "src");
    fs.mkdirSync(src);
  });

  const write = (rel: string, data: Buffer | string) => writeUnder(src, rel, data);
  const flow = (extra: Record<string, unknown> = {}): FlowNode[] =>
    withTab([
      rig.account({ name: "a" }),
      {
        id: "up",
        type: "putio-upload",
        account: "acc",
        mode: "folder",
        source: "payload",
        sourceType: "msg",
        folder: "/Backup/Home",
        folderType: "str",
        chunkMb: "1",
        wires: [["out"]],
        ...extra,
      },
      catchAll("c", "caught"),
      { id: "out", type: "helper" },
      { id: "caught", type: "helper" },
    ]);
  const load = (extra: Record<string, unknown> = {}) => nr.load([accountNode, uploadNode], flow(extra), { acc: { accessToken: rig.emu.token } });
  const send = async (msg: object) => {
    const out = nextMessage("out");
    nr.node("up").receive(msg);
    return (await out).payload;
  };
  const uploads = () => rig.emu.requests.filter((r) => r.method === "POST" && r.path === "/files/").length;
  /** put.io's tree as path → bytes, from the root. */
  const tree = (id = 0, prefix = ""): Record<string, string | null> => {
    const out: Record<string, string | null> = {};
    for (const c of rig.emu.state.listChildren(id)) {
      if (c.file_type === "FOLDER") Object.assign(out, { [prefix + c.name + "/"]: null }, tree(c.id, prefix + c.name + "/"));
      else out[prefix + c.name] = rig.emu.state.fileBytes(c.id).toString("utf8");
    }
    return out;
  };

  it("backs up a tree, then a re-run uploads nothing; msg.dryRun changes nothing; the status counts and sums up", async () => {
    write("a.txt", "alpha");
    write("Docs/b.txt", "bravo");
    write("Docs/Deep/c.txt", "charlie");
    write("skip.tmp", "left out by the exclude glob");
    await load({ exclude: "*.tmp" });
    const first = await send({ payload: src });
    assert.deepEqual(
      first.uploaded.map((u: { path: string }) => u.path),
      ["Docs/Deep/c.txt", "Docs/b.txt", "a.txt"],
    );
    assert.deepEqual(first.createdFolders, ["Docs", "Docs/Deep"]);
    assert.deepEqual(first.failed, []);
    assert.equal(first.dryRun, false);
    await statusMatching("up", (s) => s.text === "backing up 2/3");
    await statusMatching("up", (s) => s.text === "3 new, 0 replaced, 0 same, 0 failed" && s.fill === "green");
    assert.deepEqual(tree(), {
      "Backup/": null,
      "Backup/Home/": null,
      "Backup/Home/Docs/": null,
      "Backup/Home/Docs/Deep/": null,
      "Backup/Home/Docs/Deep/c.txt": "charlie",
      "Backup/Home/Docs/b.txt": "bravo",
      "Backup/Home/a.txt": "alpha",
    });

    const sent = uploads();
    const second = await send({ payload: src });
    assert.equal(uploads(), sent, "the re-run sent nothing");
    assert.deepEqual([second.uploaded, second.replaced, second.skipped.length], [[], [], 3]);

    write("a.txt", "alpha 2");
    write("New/d.txt", "delta");
    const before = JSON.stringify(tree());
    const requests = rig.emu.requests.length;
    const dry = await send({ payload: src, dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.deepEqual(
      dry.uploaded.map((u: { path: string }) => u.path),
      ["New/d.txt"],
    );
    assert.deepEqual(
      dry.replaced.map((u: { path: string }) => u.path),
      ["a.txt"],
    );
    assert.deepEqual(dry.createdFolders, ["New"]);
    assert.equal(JSON.stringify(tree()), before, "the dry run changed nothing on put.io");
    assert.ok(rig.emu.requests.slice(requests).every((r) => r.method === "GET"));
    await statusMatching("up", (s) => s.text === "dry run: 1 new, 1 replaced, 2 same, 0 failed");

    // A put.io folder that does not exist yet: the dry run plans everything and creates nothing, not even the folder.
    await nr.helper.unload();
    await load({ exclude: "*.tmp", folder: "/Elsewhere/New" });
    const none = await send({ payload: src, dryRun: true });
    assert.equal(none.folderId, null);
    assert.equal(none.uploaded.length, 4);
    assert.deepEqual(none.createdFolders, ["Docs", "Docs/Deep", "New"]);
    assert.equal(JSON.stringify(tree()), before, "nothing was created on put.io");
  });

  it("one run at a time: a second msg waits for the first, then finds nothing to do", async () => {
    for (let i = 0; i < 5; i++) write(`f${i}.bin`, Buffer.alloc(300_000, i));
    await load();
    const out = messages("out", 2);
    nr.node("up").receive({ payload: src });
    nr.node("up").receive({ payload: src });
    const [a, b] = await out;
    assert.equal(a.payload.uploaded.length, 5);
    assert.equal(b.payload.uploaded.length, 0, "the second run started after the first ended");
    assert.equal(b.payload.skipped.length, 5);
    assert.equal(uploads(), 5, "no file was sent twice");
    assert.equal(Object.keys(tree()).filter((k) => !k.endsWith("/")).length, 5);
  });

  it("resumes an upload cut by a redeploy, and sends a file again that changed while it was sent", async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 10, 1);
    const big = write("big.bin", data);
    await load();
    // The second chunk hangs until the flow stops (a redeploy in mid-transfer).
    let transport = (nr.node("acc") as any).client.transport;
    let raw = transport.requestRaw.bind(transport);
    let patches = 0;
    transport.requestRaw = (spec: RawRequestSpec) =>
      spec.method === "PATCH" && ++patches === 2
        ? new Promise((_, reject) => spec.signal!.addEventListener("abort", () => reject(new PutioAbortError(spec.attempted, spec.signal!.reason))))
        : raw(spec);
    nr.node("up").receive({ payload: src });
    await statusMatching("up", (s) => s.text === "comparing");
    while (patches < 2) await new Promise((r) => setImmediate(r));
    await nr.helper.unload();
    await load();
    const res = await send({ payload: src });
    assert.equal(uploads(), 1, "the stored upload was resumed, not started again");
    assert.equal(rig.emu.requests.filter((r) => r.method === "PATCH").length, 4, "one chunk before the redeploy, three after");
    assert.deepEqual(rig.emu.state.fileBytes(res.uploaded[0].fileId), data);

    // A file written to while its first chunk is sent: that copy is dropped and the file sent again.
    fs.writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 2));
    transport = (nr.node("acc") as any).client.transport;
    raw = transport.requestRaw.bind(transport);
    let grown = false;
    transport.requestRaw = async (spec: RawRequestSpec) => {
      const r = await raw(spec);
      if (spec.method === "PATCH" && !grown) {
        grown = true;
        fs.appendFileSync(big, "tail");
      }
      return r;
    };
    const again = await send({ payload: src });
    assert.deepEqual(again.failed, []);
    assert.equal(again.replaced.length, 1);
    assert.equal(
      rig.emu.state.fileBytes(again.replaced[0].fileId).toString("latin1"),
      fs.readFileSync(big).toString("latin1"),
      "stored as it is now, not mixed",
    );
    assert.ok(!Object.keys(tree()).some((k) => k.includes(BACKUP_TEMP_PREFIX)), "no copy left behind");
    assert.equal(rig.emu.state.trashed().length, 1, "the old version is in the trash");
  });

  it("hostile names fail with a text in the runtime's language; links are listed as ignored", async () => {
    write("caf\u00e9.txt", "nfc");
    write("cafe\u0301.txt", "nfd");
    write("  ", "blank");
    fs.symlinkSync("/etc/hostname", path.join(src, "outside"));
    await load();
    const res = await send({ payload: src });
    assert.deepEqual(
      res.uploaded.map((u: { path: string }) => u.path),
      ["cafe\u0301.txt"],
    );
    const errors = Object.fromEntries(res.failed.map((f: { path: string; error: string }) => [f.path, f.error]));
    assert.match(errors["caf\u00e9.txt"], /differs from "cafe\u0301.txt" only in Unicode form/);
    assert.match(errors["  "], /the name is empty/);
    assert.deepEqual(res.ignored, [{ path: "outside", reason: "a symbolic link: links are not followed" }]);
    await statusMatching("up", (s) => s.text === "1 new, 0 replaced, 0 same, 2 failed" && s.fill === "yellow");
    await nr.language("de");
    try {
      const de = await send({ payload: src });
      const deErrors = Object.fromEntries(de.failed.map((f: { path: string; error: string }) => [f.path, f.error]));
      assert.match(deErrors["caf\u00e9.txt"], /nur in der Unicode-Form/);
    } finally {
      await nr.language("en-US");
    }
  });

  it("'Only from' limits the local folder (the folder itself is allowed); no put.io folder is an error", async () => {
    write("a.txt", "alpha");
    fs.mkdirSync(path.join(rig.work, "other"));
    await load({ root: src, rootType: "str" });
    assert.equal((await send({ payload: src })).uploaded.length, 1);
    const caught = messages("caught", 3);
    nr.node("up").receive({ payload: path.join(rig.work, "other") });
    nr.node("up").receive({ payload: path.join(src, "..") });
    nr.node("up").receive({ payload: "" });
    const errs = (await caught).map((m) => m.error.message);
    assert.match(errs[0], /outside the allowed folder/);
    assert.match(errs[1], /outside the allowed folder/);
    assert.match(errs[2], /send the path of a local folder/);
    await nr.helper.unload();
    await load({ folder: "" });
    const caught2 = nextMessage("caught");
    nr.node("up").receive({ payload: src });
    assert.match((await caught2).error.message, /a backup needs a put.io folder/);
  });
});
