/**
 * Issue 25, defect 7: two Node-RED processes (a Home Assistant add-on and a NAS container) download
 * into one target folder at the same time. Two real Node-RED 4.1 processes with the package linked
 * from this build, each with the default download node behind an http in, against one emulator.
 * Nobody removes the other's temp files, every file ends complete and verified, no `.putio-*` temp,
 * state or lock file is left, and a later run skips everything and leaves no orphans.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startEmulator, type Emulator } from "./emulator";
import { accountNode, type FlowNode } from "./e2e/harness";
import { ownLeftovers, regularFiles } from "./support/local-disk";
import { startLinkedNodeRed, type LinkedNodeRed } from "./support/node-red-procs";

const MiB = 1024 * 1024;
const TAB = "procs-tab";

/** http in POST /go → the default download node → the job's msg (or the error a Catch node got) → http response. */
function flow(emu: Emulator, target: string, dl: Partial<FlowNode> = {}): FlowNode[] {
  return [
    { id: TAB, type: "tab", label: "two processes" },
    accountNode("acc", emu, emu.token),
    { id: "in", type: "http in", z: TAB, url: "/go", method: "post", upload: false, swaggerDoc: "", x: 100, y: 100, wires: [["dl"]] },
    { id: "dl", type: "putio-download", z: TAB, account: "acc", target, targetType: "str", x: 300, y: 100, wires: [["done"]], ...dl },
    {
      id: "done",
      type: "switch",
      z: TAB,
      property: "topic",
      propertyType: "msg",
      rules: [{ t: "eq", v: "putio/download/done", vt: "str" }],
      checkall: "true",
      repair: false,
      outputs: 1,
      x: 500,
      y: 100,
      wires: [["res"]],
    },
    { id: "c", type: "catch", z: TAB, scope: null, uncaught: false, x: 100, y: 200, wires: [["err"]] },
    {
      id: "err",
      type: "function",
      z: TAB,
      func: "msg.payload = { error: String(msg.error && msg.error.message), job: msg.payload };\nreturn msg;",
      outputs: 1,
      x: 300,
      y: 200,
      wires: [["res"]],
    },
    { id: "res", type: "http response", z: TAB, statusCode: "", headers: {}, x: 700, y: 100, wires: [] },
  ];
}

interface JobPayload {
  downloaded?: number;
  skipped?: number;
  failed?: number;
  errors?: Array<{ message: string }>;
  error?: string;
}

async function go(p: LinkedNodeRed, source: string): Promise<JobPayload> {
  const res = await fetch(`${p.nr.url}/go`, { method: "POST", headers: { "content-type": "text/plain" }, body: source });
  const text = await res.text();
  try {
    return JSON.parse(text) as JobPayload;
  } catch {
    return { error: `${res.status} ${text}` };
  }
}

describe("local disk: two real Node-RED processes on one target folder (issue 25, defect 7) @e2e", function () {
  this.timeout(300_000);
  let emu: Emulator;
  let work: string;
  const procs: LinkedNodeRed[] = [];

  beforeEach(async () => {
    emu = await startEmulator();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-2proc-"));
  });
  afterEach(async () => {
    await Promise.allSettled(procs.splice(0).map((p) => p.close()));
    await emu.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("both download the same folder at once: nobody removes the other's temp files, all complete and verified, no .putio-* left; a later run skips and leaves no orphans", async () => {
    const target = path.join(work, "nas");
    const shared = emu.state.addFolder(0, "Shared");
    const ids = Array.from({ length: 6 }, (_, i) => emu.state.addFile(shared.id, `ep${i + 1}.mkv`, { size: 6 * MiB + i * 1000, seed: 10 + i }).id);
    // Slow enough that the two processes' downloads overlap.
    emu.knobs.storageLinkBytesPerSec = 24 * MiB;
    const [a, b] = await Promise.all([startLinkedNodeRed(), startLinkedNodeRed()]);
    procs.push(a!, b!);
    await Promise.all([a!.nr.deploy(flow(emu, target)), b!.nr.deploy(flow(emu, target))]);

    const [ra, rb] = await Promise.all([go(a!, "/Shared"), go(b!, "/Shared")]);
    const logs = () => `\n--- A ---\n${a!.nr.log.slice(-3000)}\n--- B ---\n${b!.nr.log.slice(-3000)}`;
    assert.equal(ra.error, undefined, `A: ${JSON.stringify(ra)}${logs()}`);
    assert.equal(rb.error, undefined, `B: ${JSON.stringify(rb)}${logs()}`);
    assert.deepEqual([ra.failed, rb.failed], [0, 0], JSON.stringify({ ra: ra.errors, rb: rb.errors }));
    assert.equal((ra.downloaded ?? 0) + (ra.skipped ?? 0), 6);
    assert.equal((rb.downloaded ?? 0) + (rb.skipped ?? 0), 6);
    assert.deepEqual(ownLeftovers(target), [], "no .putio-* temp, state or lock file left after both finished");
    const local = regularFiles(target);
    assert.equal(local.length, 6, local.map((f) => f.path).join(", "));
    for (const [i, id] of ids.entries()) {
      const p = path.join(target, "Shared", `ep${i + 1}.mkv`);
      assert.ok(fs.readFileSync(p).equals(emu.state.fileBytes(id)), `${p} is complete and put.io's bytes`);
    }

    const again = await go(a!, "/Shared");
    assert.deepEqual([again.downloaded, again.skipped, again.failed], [0, 6, 0], JSON.stringify(again));
    assert.deepEqual(ownLeftovers(target), [], "a later run leaves no orphans");
    assert.equal(regularFiles(target).length, 6);
  });
  it("one process is killed mid-download (SIGKILL): the other takes its stale locks over, finishes every file verified, and leaves no .putio-* file", async () => {
    const target = path.join(work, "nas");
    const shared = emu.state.addFolder(0, "Shared");
    const ids = Array.from({ length: 4 }, (_, i) => emu.state.addFile(shared.id, `ep${i + 1}.mkv`, { size: 8 * MiB, seed: 30 + i }).id);
    emu.knobs.storageLinkBytesPerSec = 4 * MiB;
    const [a, b] = await Promise.all([startLinkedNodeRed(), startLinkedNodeRed()]);
    procs.push(a!, b!);
    await Promise.all([a!.nr.deploy(flow(emu, target)), b!.nr.deploy(flow(emu, target))]);
    void go(a!, "/Shared").catch(() => {});
    // A holds its first claims (lock files) and has bytes on disk: then it dies without a word.
    const deadline = Date.now() + 60_000;
    while (!ownLeftovers(target).some((f) => /\.putio-lock-/.test(f)) || !ownLeftovers(target).some((f) => /\.part$/.test(f))) {
      if (Date.now() > deadline) throw new Error(`A never started: ${a!.nr.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    a!.nr.kill();
    emu.knobs.storageLinkBytesPerSec = null;
    const rb = await go(b!, "/Shared");
    assert.equal(rb.error, undefined, `B: ${JSON.stringify(rb)}\n${b!.nr.log.slice(-3000)}`);
    assert.deepEqual([rb.downloaded, rb.failed], [4, 0], JSON.stringify(rb));
    for (const [i, id] of ids.entries()) {
      const p = path.join(target, "Shared", `ep${i + 1}.mkv`);
      assert.ok(fs.readFileSync(p).equals(emu.state.fileBytes(id)), `${p} is complete and put.io's bytes`);
    }
    assert.deepEqual(ownLeftovers(target), [], "A's temp, state and lock files are gone once B finished");
  });
});
