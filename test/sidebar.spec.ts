/**
 * The editor's put.io sidebar, runtime side, in a real Node-RED against the emulator: what an account
 * publishes on `putio/sidebar/<id>` follows a transfer (through the account's watcher) and a download
 * (percent grows, then done), shows a node's error, never holds the token nor a local path, and costs
 * put.io not one request (the same flow without the publisher makes the same requests).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { startEmulator } from "./emulator";
import { catchAll, nr, statusMatching, withTab } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";
import { TransferWatcher } from "../lib/watch/watcher";
import type { PutioClient } from "../lib/client";
import type { PutioSocket } from "../lib/core/socket";
import type { SidebarState } from "../nodes/common/sidebar";

const accountNode = require("../nodes/putio-account");
const downloadNode = require("../nodes/putio-download");
const watchNode = require("../nodes/putio-transfer-watch");
const sidebarModule = require("../nodes/common/sidebar");
const MiB = 1024 * 1024;

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe("put.io sidebar: what an account publishes for the editor @nr", function () {
  this.timeout(60_000);
  /** Every publish on putio/sidebar/*, in order, as JSON text (what goes over the wire). */
  let published: Array<{ topic: string; retain: boolean; json: string; data: any; at: number }>;
  let RED: any;
  const onComms = (e: { topic: string; data: unknown; retain: boolean }) => {
    if (e.topic.startsWith("putio/sidebar/"))
      published.push({ topic: e.topic, retain: e.retain, json: JSON.stringify(e.data), data: JSON.parse(JSON.stringify(e.data)), at: Date.now() });
  };
  const captureRed = (red: any) => {
    RED = red;
    red.events.on("comms", onComms);
  };

  beforeEach(() => {
    published = [];
  });
  afterEach(() => {
    RED?.events.removeListener("comms", onComms);
  });
  const rig = useNodeRed({ work: "putio-sidebar-" });

  const states = (): SidebarState[] => published.filter((p) => p.topic === "putio/sidebar/acc" && p.retain).map((p) => p.data);
  const last = (): SidebarState | undefined => states().at(-1);

  async function load(): Promise<void> {
    await nr.load(
      [captureRed, accountNode, watchNode, downloadNode],
      withTab([
        rig.account({ name: "home" }),
        { id: "watch", type: "putio-transfer-watch", name: "watcher", account: "acc", mode: "socket", statuses: "COMPLETED", emitMissed: true, wires: [["w"]] },
        { id: "w", type: "helper" },
        { id: "dl", type: "putio-download", name: "to the NAS", account: "acc", target: rig.work, targetType: "str", connections: 1, wires: [["out"]] },
        { id: "out", type: "helper" },
        catchAll("c", "caught"),
        { id: "caught", type: "helper" },
      ]),
      { acc: { accessToken: rig.emu.token } },
    );
  }

  /**
   * A transfer that goes through its lifecycle, a slow download, and a msg the download node refuses.
   * `follow`: after each emulator second, wait until the sidebar shows it (the publisher speaks at most
   * once a second, so a burst of seconds would be one publish).
   */
  async function scenario(follow: boolean): Promise<void> {
    await statusMatching("watch", (s) => /connected/.test(s.text ?? ""));
    await until(() => rig.emu.requests.some((r) => r.path === "/v2/transfers/list" && r.status === 200));
    await new Promise((r) => setTimeout(r, 100)); // the watch node finishes priming after the list is answered
    const watched = new Promise((resolve) => nr.node("w").on("input", resolve));
    const tr = rig.emu.state.addTransfer({ url: "magnet:?xt=urn:btih:" + "ab".repeat(20) + "&dn=Big.Buck.Bunny" });
    for (let i = 0; i < 8; i++) {
      await rig.emu.advance(1000);
      const now = rig.emu.state.getTransfer(tr.id)!;
      if (follow) await until(() => !!last()?.transfers?.some((t) => t.id === tr.id && t.status === now.status && t.percent === now.percent_done));
    }
    await watched;

    const f = rig.emu.state.addFile(0, "movie.mkv", { size: 2 * MiB, seed: 3 });
    rig.emu.knobs.bandwidthPerConnection = 512 * 1024;
    const done = new Promise((resolve) => nr.node("out").on("input", (m: any) => m.topic === "putio/download/done" && resolve(m)));
    nr.node("dl").receive({ payload: f.id });
    await done;
    rig.emu.knobs.bandwidthPerConnection = null;

    const caught = new Promise((resolve) => nr.node("caught").on("input", resolve));
    nr.node("dl").receive({ payload: { not: "a source" } });
    await caught;
  }

  it("follows a transfer and a download, shows a node's error, and never holds the token or a local path", async () => {
    await load();
    await until(() => last()?.state === "ready");
    const first = last()!;
    assert.equal(first.name, "home");
    assert.equal(first.user?.username, "emulator");
    assert.ok(first.user!.disk.size > 0 && typeof first.user!.disk.used === "number", "the disk usage read at validation");

    await scenario(true);
    await until(() => (last()?.errors.length ?? 0) > 0 && last()!.downloads.some((d) => d.status === "done"));

    const seen = states();
    // The transfer: its percent grows through DOWNLOADING, and it ends COMPLETED.
    const percents = seen.flatMap((s) => (s.transfers ?? []).filter((t) => t.name === "Big.Buck.Bunny" && t.status === "DOWNLOADING").map((t) => t.percent!));
    assert.ok(percents.length >= 2, `the transfer was published while it downloaded (${percents})`);
    assert.ok(percents.some((p) => p > 0 && p < 100) && percents.at(-1)! > percents[0]!, `its percent grows: ${percents}`);
    assert.ok(
      seen.some((s) => s.transfers?.some((t) => t.name === "Big.Buck.Bunny" && t.status === "COMPLETED")),
      "the transfer is shown completed",
    );
    // The download: running with a percent, a speed and an ETA, then done at 100 %.
    const running = seen.flatMap((s) => s.downloads.filter((d) => d.name === "movie.mkv" && d.status === "running"));
    assert.ok(running.length >= 1, "the download was published while it ran");
    assert.ok(
      running.some((d) => d.percent > 0 && d.percent < 100 && d.bytesPerSecond > 0 && d.eta !== null && d.eta > 0),
      JSON.stringify(running),
    );
    const fin = last()!.downloads.find((d) => d.name === "movie.mkv")!;
    assert.deepEqual([fin.status, fin.percent, fin.bytes, fin.size, fin.eta], ["done", 100, 2 * MiB, 2 * MiB, null]);
    // The error, with the node's name.
    const err = last()!.errors[0]!;
    assert.equal(err.node, "to the NAS");
    assert.equal(err.nodeId, "dl");
    assert.match(err.text, /a source/);
    assert.ok(err.time > 0);

    const all = published.map((p) => p.json).join("\n");
    assert.ok(!all.includes(rig.emu.token), "the token is never published");
    assert.ok(!all.includes(rig.work), "no local path is published");
    assert.ok(
      seen.every((s) => Object.keys(s).sort().join() === "downloads,errors,id,name,state,transfers,user"),
      "nothing but the documented fields",
    );
  });

  it("a job's files end done, already there, or failed (its reason shown); the job's failure is among the errors", async () => {
    const folder = rig.emu.state.addFolder(0, "Batch");
    const a = rig.emu.state.addFile(folder.id, "a.mkv", { size: MiB, seed: 1 });
    rig.emu.state.addFile(folder.id, "b.mkv", { size: MiB, seed: 2 });
    const c = rig.emu.state.addFile(folder.id, "c.mkv", { size: MiB, seed: 3 });
    fs.mkdirSync(path.join(rig.work, "Batch"));
    fs.writeFileSync(path.join(rig.work, "Batch", "a.mkv"), rig.emu.state.fileBytes(a.id));
    rig.emu.state.corruptCrc(c.id);
    await load();
    const caught = new Promise((resolve) => nr.node("caught").on("input", resolve));
    nr.node("dl").receive({ payload: folder.id });
    await caught;
    await until(() => last()!.downloads.length === 3 && last()!.errors.length === 1);
    const byName = Object.fromEntries(last()!.downloads.map((d) => [d.name, d]));
    assert.deepEqual(Object.keys(byName).sort(), ["Batch/a.mkv", "Batch/b.mkv", "Batch/c.mkv"], "put.io paths, not local ones");
    assert.equal(byName["Batch/a.mkv"]!.status, "skipped");
    assert.equal(byName["Batch/b.mkv"]!.status, "done");
    assert.equal(byName["Batch/c.mkv"]!.status, "failed");
    assert.match(byName["Batch/c.mkv"]!.error!, /CRC32/);
    assert.match(last()!.errors[0]!.text, /1 of 3 file\(s\) failed/);
    // An error may name where it did not write: inside the target the user configured, nowhere else.
    assert.ok(!published.some((p) => p.json.split(rig.work).join("").includes(os.tmpdir())), "no local path outside the configured target");
    assert.ok(
      last()!.downloads.every((d) => !JSON.stringify({ ...d, error: "" }).includes(rig.work)),
      "the downloads name no local path",
    );
  });

  it("publishes at most once a second per account, retained; a removed account is withdrawn", async () => {
    await load();
    await scenario(false);
    await until(() => last()!.downloads.some((d) => d.status === "done") && last()!.errors.length > 0);
    const retained = published.filter((p) => p.retain);
    assert.ok(retained.length >= 3);
    // A lower bound only: a busy machine makes the gaps longer, never shorter (timers may round by a ms).
    for (let i = 1; i < retained.length; i++) assert.ok(retained[i]!.at - retained[i - 1]!.at >= 990, `publishes ${i - 1} and ${i} are a second apart`);
    await nr.helper.unload();
    await until(() => published.some((p) => !p.retain && p.topic === "putio/sidebar/acc"));
    assert.deepEqual(published.at(-1)!.data, { id: "acc", removed: true });
  });

  it("causes no put.io request: the same flow without the publisher makes the same requests", async () => {
    const api = () =>
      rig.emu.requests
        .filter((r) => r.path.startsWith("/v2/"))
        .map((r) => `${r.method} ${r.path.replace(/\d+/g, "N")}`)
        .sort();
    await load();
    await scenario(false);
    await until(() => last()!.downloads.some((d) => d.status === "done"));
    const withSidebar = api();
    assert.ok(published.length > 0, "the sidebar published");

    await nr.stop();
    await rig.emu.close();
    rig.emu = await startEmulator();
    published = [];
    // An empty target again: the file must be downloaded, not found identical.
    fs.rmSync(rig.work, { recursive: true, force: true });
    fs.mkdirSync(rig.work);
    await nr.start();
    const real = sidebarModule.startSidebar;
    // The publisher replaced by one that does nothing: what the flow costs on its own.
    sidebarModule.startSidebar = () => ({ attach() {}, detach() {}, close() {}, error() {} });
    try {
      await load();
      await scenario(false);
    } finally {
      sidebarModule.startSidebar = real;
    }
    assert.equal(published.length, 0, "the stand-in published nothing");
    assert.ok(withSidebar.includes("GET /vN/files/N/url"), "both runs downloaded");
    assert.deepEqual(withSidebar, api());
  });

  it("a hostile pushed transfer is shown bounded and clean, and the watcher's users still own it", () => {
    const published: unknown[] = [];
    const fakeRED = { comms: { publish: (_t: string, data: unknown) => published.push(data) } };
    const token = "SECRET-TOKEN-1234";
    const account: any = {
      id: "a1",
      name: "x",
      state: "ready",
      info: null,
      onStateChange: () => () => {},
      tokenForRedaction: () => token,
    };
    const socket: any = new (require("node:events").EventEmitter)();
    socket.state = "connected";
    socket.start = () => {};
    const client = {
      transfers: { get: () => new Promise(() => {}), list: async function* () {} },
      transport: { closeSignal: undefined },
    } as unknown as PutioClient;
    const watcher = new TransferWatcher({ client, socket: socket as PutioSocket });
    watcher.start();
    const pub = new sidebarModule.SidebarPublisher(fakeRED, account);
    pub.attach(watcher);
    let id = 0;
    assert.equal(watcher.subscribers, 0, "observing is not subscribing: the watch nodes still stop the watcher when they leave");
    fc.assert(
      fc.property(
        fc.record({
          name: fc.oneof(fc.string({ maxLength: 2000 }), fc.constant(`x ${token} y`), fc.anything()),
          status: fc.oneof(fc.string({ maxLength: 500 }), fc.anything()),
          percent_done: fc.oneof(fc.double(), fc.anything()),
        }),
        (fields) => {
          // Each a newer transfer (the sidebar lists the newest first, 20 at most).
          const value = { ...fields, id: ++id };
          socket.emit("event", { type: "transfer_update", value });
          const s = pub.snapshot() as SidebarState;
          const t = s.transfers!.find((x) => x.id === value.id)!;
          assert.ok(t, "the pushed transfer is shown");
          assert.ok(t.name.length <= 300 && t.status.length <= 40);
          assert.ok(t.percent === null || (t.percent >= 0 && t.percent <= 100));
          assert.ok(!JSON.stringify(s).includes(token));
        },
      ),
      { numRuns: 200 },
    );
    // Not an object with a numeric id: ignored, nothing thrown into the watcher.
    for (const value of [null, 7, "x", { id: "1" }, []]) socket.emit("event", { type: "transfer_update", value });
    assert.equal(pub.snapshot().transfers!.length, 20);
    pub.close();
    watcher.stop();
  });
});
