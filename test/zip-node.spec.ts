/** putio-zip: zips files/folders and waits for them through the socket or by polling (emulator). */
import assert from "node:assert/strict";
import { expireZip, ZIP_DONE_MS } from "./emulator/routes-zips";
import { catchAll, nextMessage, nr } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";

const zipNode = require("../nodes/putio-zip");

/** Waits (bounded only by mocha's timeout) until the condition holds. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe("putio-zip node @nr", function () {
  const rig = useNodeRed();

  async function load(cfg: object = {}) {
    const flow = [
      rig.account(),
      {
        id: "zip",
        type: "putio-zip",
        account: "acc",
        source: "payload",
        sourceType: "msg",
        wait: "poll",
        pollSeconds: "0.01",
        maxWaitMinutes: "30",
        warnFolderGb: "",
        ...cfg,
        wires: [["out"]],
      },
      catchAll("c", "caught"),
      { id: "out", type: "helper" },
      { id: "caught", type: "helper" },
    ];
    await rig.load([zipNode], flow);
    await (nr.node("acc") as any).ready();
  }

  const zipGets = () => rig.emu.requests.filter((r) => /^\/v2\/zips\/\d+$/.test(r.path)).length;

  it("polling: zips ids, a path and file objects, and sends url, size and missing files", async () => {
    await load();
    const dir = rig.emu.state.addFolder(0, "Show");
    rig.emu.state.addFile(dir.id, "e1.txt", Buffer.from("one"));
    const a = rig.emu.state.addFile(0, "a.txt", Buffer.from("aaa"));
    const b = rig.emu.state.addFile(0, "b.txt", Buffer.from("bbb"));
    const got = nextMessage("out");
    nr.node("zip").receive({ payload: ["/Show", a.id, { ...b }], keep: 1 });
    await until(() => zipGets() >= 1);
    assert.equal(rig.emu.socketCount(), 0, "polling mode opens no socket");
    await rig.emu.advance(ZIP_DONE_MS);
    const msg = await got;
    assert.equal(msg.keep, 1);
    assert.deepEqual(msg.payload.fileIds, [dir.id, a.id, b.id]);
    assert.equal(typeof msg.payload.zipId, "number");
    assert.deepEqual(msg.payload.missingFiles, []);
    const res = await fetch(msg.payload.url);
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, msg.payload.size);
  });

  it("socket: the zip_created push wakes the wait (no polling in between)", async () => {
    await load({ wait: "socket", pollSeconds: "3600" });
    const f = rig.emu.state.addFile(0, "a.txt", Buffer.from("aaa"));
    const got = nextMessage("out");
    nr.node("zip").receive({ payload: f.id });
    // One check at the start, one when the socket opens (a push may have been missed before it).
    await until(() => zipGets() >= 2 && rig.emu.socketCount() === 1);
    await rig.emu.advance(ZIP_DONE_MS);
    const msg = await got;
    assert.match(msg.payload.url, /\/zipstream\//);
    assert.equal(zipGets(), 3, "with a 1 h check interval only the push can have woken it");
  });

  it("files deleted meanwhile come back as missingFiles (yellow status)", async () => {
    await load();
    const keep = rig.emu.state.addFile(0, "keep.txt", Buffer.from("k"));
    const gone = rig.emu.state.addFile(0, "gone.txt", Buffer.from("g"));
    const got = nextMessage("out");
    nr.node("zip").receive({ payload: [keep.id, gone.id] });
    await until(() => zipGets() >= 1);
    await fetch(`${rig.emu.apiUrl}/v2/files/delete`, {
      method: "POST",
      headers: { Authorization: `token ${rig.emu.token}` },
      body: new URLSearchParams({ file_ids: String(gone.id), skip_trash: "1" }),
    });
    await rig.emu.advance(ZIP_DONE_MS);
    const msg = await got;
    assert.deepEqual(msg.payload.missingFiles, [{ id: gone.id, name: "gone.txt", missing: true }]);
  });

  it("a folder above the size set warns (node.warn and msg.warnings) and still zips", async () => {
    await load({ warnFolderGb: "0.000001" }); // about 1 kB
    const dir = rig.emu.state.addFolder(0, "Huge");
    rig.emu.state.addFile(dir.id, "big.mkv", { size: 5000 });
    const small = rig.emu.state.addFolder(0, "Small");
    rig.emu.state.addFile(small.id, "s.txt", Buffer.from("s"));
    const warned: string[] = [];
    nr.node("zip").on("call:warn", (call: any) => warned.push(String(call.args[0])));
    const got = nextMessage("out");
    nr.node("zip").receive({ payload: [dir.id, small.id] });
    await until(() => zipGets() >= 1);
    await rig.emu.advance(ZIP_DONE_MS);
    const msg = await got;
    assert.equal(msg.warnings.length, 1);
    assert.match(msg.warnings[0], /"Huge" is 0\.0 GB.*one by one/);
    assert.deepEqual(warned, msg.warnings);
  });

  it("an expired zip fails with a clear LINK_EXPIRED error a Catch node gets", async () => {
    await load();
    const f = rig.emu.state.addFile(0, "a.txt", Buffer.from("a"));
    const caught = nextMessage("caught");
    nr.node("zip").receive({ payload: f.id });
    await until(() => zipGets() >= 1);
    const zipId = Number(
      rig.emu.requests
        .find((r) => /^\/v2\/zips\/\d+$/.test(r.path))!
        .path.split("/")
        .pop(),
    );
    expireZip(rig.emu.state, zipId);
    const err = await caught;
    assert.match(err.error.message, /LINK_EXPIRED/);
    assert.match(err.error.message, /expired or never existed/);
  });

  it("put.io refusing a too big zip, unknown ids and bad input reach the Catch node", async () => {
    await load();
    const big = rig.emu.state.addFile(0, "big.bin", { size: 5000 });
    rig.emu.knobs.zipMaxTotalSize = 1000;
    let caught = nextMessage("caught");
    nr.node("zip").receive({ payload: big.id });
    assert.match((await caught).error.message, /ZIP_TOTAL_SIZE_EXCEEDED/);
    caught = nextMessage("caught");
    nr.node("zip").receive({ payload: "/Nope/x" });
    assert.match((await caught).error.message, /nothing at "\/Nope\/x"/);
    caught = nextMessage("caught");
    nr.node("zip").receive({ payload: { hello: 1 } });
    assert.match((await caught).error.message, /expected file or folder ids/);
    caught = nextMessage("caught");
    nr.node("zip").receive({ payload: [] });
    assert.match((await caught).error.message, /nothing to zip/);
  });
});
