/**
 * The editor's put.io tab, Transmission section, in a real Node-RED against the emulator: what the
 * account publishes on `putio/sidebar/<id>` for a putio-transmission node follows each torrent
 * through its phases in order (waiting on put.io, put.io downloading, copying, seeding with put.io's
 * ratio against the app's goal, finished at the goal), shows a removal's clean-up pending while
 * put.io is down until put.io took it, a failure with its reason, and a 10 kB hostile name cut;
 * no publish ever holds the token, a signed storage URL or a local absolute path.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nr, withTab } from "./nr";
import { WATCH_SECRET, transmissionFixture } from "./support/transmission-fixture";
import { ArrRpcClient, until, untilReady, withHttpNode } from "./support/transmission-rpc";
import type { SidebarState, SidebarTorrent } from "../nodes/common/sidebar";
import { USER, PASS, HASH_A, HASH_B, HASH_C } from "./support/transmission-flow";

const accountNode = require("../nodes/putio-account");
const watchNode = require("../nodes/putio-transfer-watch");
const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));

const HOUR = 3_600_000;
const MiB = 1024 * 1024;
/** The lifecycle's order: a torrent's phase never goes back in it. */
const ORDER = ["waiting", "downloading", "copying", "verifying", "seeding", "finished", "removing"];
const TORRENT_KEYS = "bytesPerSecond,category,cleanup,error,eta,id,localBytes,name,phase,putioPercent,seeding,size";

describe("putio-transmission in the editor's put.io tab @nr", function () {
  this.timeout(180_000);
  const f = transmissionFixture("putio-trsb-");
  let events: any[];
  /** Every publish on putio/sidebar/*, in order, as sent (JSON) and as read back. */
  let published: Array<{ json: string; data: SidebarState; at: number }>;
  let RED: any;
  const onComms = (e: { topic: string; data: unknown; retain: boolean }) => {
    if (e.topic.startsWith("putio/sidebar/")) published.push({ json: JSON.stringify(e.data), data: JSON.parse(JSON.stringify(e.data)), at: Date.now() });
  };
  const captureRed = (red: any) => {
    RED = red;
    red.events.on("comms", onComms);
  };
  afterEach(() => RED?.events.removeListener("comms", onComms));

  async function load(): Promise<void> {
    events = [];
    published = [];
    const flow = withTab([
      { id: "acc", type: "putio-account", name: "home", apiUrl: f.emu.apiUrl, uploadUrl: f.emu.uploadUrl, socketUrl: f.emu.socketUrl },
      { id: "trn", type: "putio-transmission", name: "sonarr bridge", account: "acc", downloadDir: f.work, wires: [["out"]] },
      // The account's watcher, shared with the Transmission node; put.io's callback wakes it.
      { id: "watch", type: "putio-transfer-watch", account: "acc", callback: true, callbackPath: "putio-cb", wires: [[]] },
      { id: "out", type: "helper" },
    ]);
    await nr.load([captureRed, accountNode, watchNode, transmissionNode], flow, {
      acc: { accessToken: f.emu.token },
      trn: { username: USER, password: PASS },
      watch: { callbackSecret: WATCH_SECRET },
    });
    nr.node("out").on("input", (m: any) => events.push(m));
  }

  const client = () => new ArrRpcClient(`${f.server.url}/transmission/rpc`, USER, PASS);
  const magnet = (hex: string, name: string) => `magnet:?xt=urn:btih:${hex}&dn=${encodeURIComponent(name)}`;
  const last = (): SidebarState | undefined => published.filter((p) => !(p.data as { removed?: boolean }).removed).at(-1)?.data;
  const section = (s: SidebarState | undefined) => s?.transmission?.find((x) => x.nodeId === "trn");
  const shown = (id: number) => section(last())?.torrents.find((x) => x.id === id);
  /** Until the tab shows torrent `id` as `pred` wants (the publisher speaks at most once a second). */
  const showing = async (what: string, id: number, pred: (x: SidebarTorrent) => boolean): Promise<SidebarTorrent> =>
    (await until(
      what,
      () => shown(id),
      (x) => !!x && pred(x),
      4000,
    ))!;
  /** Nothing a user of the editor must not see, in any publish. */
  function assertNothingSecret() {
    const all = published.map((p) => p.json).join("\n");
    assert.ok(!all.includes(f.emu.token), "the token is never published");
    assert.ok(!all.includes(f.work), "the download folder is never published");
    assert.ok(!all.includes(os.tmpdir() + path.sep), "no local absolute path is published");
    assert.doesNotMatch(all, /https?:\/\/[^"\s]*\/download\//, "no storage URL is published");
    for (const p of published)
      for (const x of section(p.data)?.torrents ?? []) assert.equal(Object.keys(x).sort().join(), TORRENT_KEYS, "nothing but the documented fields");
  }

  it("follows a torrent's phases in order: waiting, put.io downloading, copying, seeding with put.io's ratio against the goal, finished; a removal while put.io is down shows what is left to clean until put.io took it", async () => {
    f.emu.knobs.seedTorrents = true;
    f.emu.knobs.seedRatioPerHour = 1;
    f.emu.knobs.transferContents["Show.S01E01"] = [{ name: "Show.S01E01.mkv", data: Buffer.alloc(MiB, 7) }];
    await load();
    const c = client();
    await untilReady(c);
    await until(
      "the node's empty section",
      () => section(last()),
      (s) => !!s && s.total === 0 && s.node === "sonarr bridge",
    );
    const added = await c.call("torrent-add", { filename: magnet(HASH_A, "Show.S01E01"), "download-dir": `${f.work}/tv` });
    const id = added["torrent-added"].id as number;
    await c.call("torrent-set", { ids: [id], seedRatioLimit: 1.5, seedRatioMode: 1 });
    await showing("waiting on put.io", id, (x) => x.phase === "waiting" && x.category === "tv" && x.name === "Show.S01E01");

    await f.emu.advance(1000);
    await f.emu.advance(1000);
    let x = await showing("put.io downloading", id, (t) => t.phase === "downloading" && t.putioPercent > 0);
    assert.ok(x.putioPercent < 100);

    // The copy: slow enough to be seen running.
    f.emu.knobs.bandwidthPerConnection = 256 * 1024;
    await f.emu.advance(3000);
    await f.emu.advance(1000);
    x = await showing("copying", id, (t) => t.phase === "copying" && t.localBytes > 0 && t.bytesPerSecond > 0);
    assert.equal(x.putioPercent, 100);
    assert.equal(x.size, MiB);
    assert.ok(x.eta !== null && x.eta >= 0, `time left while copying: ${x.eta}`);
    f.emu.knobs.bandwidthPerConnection = null;
    x = await showing("seeding", id, (t) => t.phase === "seeding");
    assert.equal(x.localBytes, MiB);
    assert.equal(x.seeding?.goalRatio, 1.5);
    assert.equal(x.seeding?.stopped, false);

    await f.later(HOUR);
    x = await showing("put.io's ratio", id, (t) => t.phase === "seeding" && (t.seeding?.ratio ?? 0) >= 1);
    assert.ok(x.seeding!.seconds >= 3600, `seconds seeding from put.io: ${x.seeding!.seconds}`);
    assert.ok(x.seeding!.uploaded > 0);
    await f.later(HOUR / 2);
    x = await showing("finished at the goal", id, (t) => t.phase === "finished");
    assert.ok(x.seeding!.stopped && x.seeding!.ratio >= 1.5, JSON.stringify(x.seeding));

    // Removed while put.io is down: the local copy goes at once, put.io's clean-up is shown pending.
    const transfer = f.emu.state.transfers()[0]!;
    const fileId = f.emu.state.getTransfer(transfer.id)!.file_id as number;
    f.emu.knobs.fail5xx = { probability: 1, status: 503 };
    await c.call("torrent-remove", { ids: [id], "delete-local-data": true });
    x = await showing("the clean-up pending", id, (t) => t.phase === "removing" && t.error !== null);
    assert.deepEqual([x.cleanup?.files, x.cleanup?.trash, x.cleanup?.transfer], [1, true, "remove"]);
    assert.ok(x.cleanup!.attempts >= 1 && x.cleanup!.since > 0, JSON.stringify(x.cleanup));
    assert.ok(f.emu.state.getFile(fileId), "put.io still holds it");
    f.emu.knobs.fail5xx = null;
    await until(
      "the torrent gone once put.io took the clean-up",
      () => section(last()),
      (s) => !!s && s.total === 0,
      4000,
    );
    assert.equal(f.emu.state.getFile(fileId), undefined);

    // Its phases, publish by publish: in the lifecycle's order, none skipped that lasts.
    const phases: string[] = [];
    for (const p of published) {
      const t = section(p.data)?.torrents.find((y) => y.id === id);
      if (t && phases.at(-1) !== t.phase) phases.push(t.phase);
    }
    const idx = phases.map((p) => ORDER.indexOf(p));
    assert.ok(
      idx.every((v, i) => v >= 0 && (i === 0 || v > idx[i - 1]!)),
      `phases in order: ${phases}`,
    );
    for (const p of ["waiting", "downloading", "copying", "seeding", "finished", "removing"]) assert.ok(phases.includes(p), `${p} shown: ${phases}`);
    // A msg for each phase: added, put.io done (the copy starts), on disk (seeding), seeding stopped, removed (pending), cleaned.
    assert.deepEqual(
      events.map((e) => e.topic),
      ["added", "putio-done", "on-disk", "seeding-stopped", "removed", "cleaned"].map((t) => `transmission/${t}`),
    );
    assert.equal(events[2].payload.seeding.stopped, false, "on disk while put.io seeds");
    assert.equal(events[4].payload.putio, "pending");
    assertNothingSecret();
  });

  it("a failure with its reason and no local path, a copy started again says so, a 10 kB hostile name is cut; no token, storage URL or local path in any publish", async () => {
    await load();
    const c = client();
    await untilReady(c);
    // A file where the category folder must go: the copy fails with a text that names the local path.
    fs.writeFileSync(path.join(f.work, "movies"), "not a folder");
    const failing = await c.call("torrent-add", { filename: magnet(HASH_B, "Film.2026"), "download-dir": `${f.work}/movies` });
    const failId = failing["torrent-added"].id as number;
    // What a hostile put.io or app may put in a name: the token, a signed storage URL, markup,
    // direction overrides, astral characters across the cut; 10 kB in all.
    const storageUrl = `https://s100.put.io/download/12345?u=${"a".repeat(40)}`;
    const hostile = `X${f.emu.token} ${storageUrl} <img src=x onerror=alert(1)>\u202e\u0000` + "😀".repeat(5000);
    assert.ok(hostile.length > 10_000);
    const evil = await c.call("torrent-add", { filename: magnet(HASH_C, hostile), "download-dir": `${f.work}/tv` });
    const evilId = evil["torrent-added"].id as number;
    // As put.io and the app named it (on disk it becomes a cleaned name).
    const x = await showing("the hostile name", evilId, () => true);
    assert.equal(x.phase, "waiting");
    assert.ok(x.name.length <= 300, `cut: ${x.name.length}`);
    assert.doesNotMatch(x.name, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/, "never half a character");
    assert.ok(x.name.startsWith("X*** <storage URL> <img"), x.name.slice(0, 80));
    await f.emu.advance(1000);
    await f.emu.advance(6000);

    const failed = await showing("failed", failId, (t) => t.phase === "failed");
    assert.ok(failed.error && failed.error.length > 0, "the reason is shown");
    assert.ok(!failed.error.includes(f.work), `no local path in the reason: ${failed.error}`);
    // The copy started again (torrent-start) after the folder was fixed: a msg says so, and it finishes.
    fs.rmSync(path.join(f.work, "movies"));
    await c.call("torrent-start", { ids: [failId] });
    await showing("finished after the retry", failId, (t) => t.phase === "finished");
    const topics = events.filter((e) => e.payload.id === failId).map((e) => e.topic);
    assert.deepEqual(
      topics,
      ["added", "putio-done", "failed", "copying", "on-disk"].map((t) => `transmission/${t}`),
    );

    const onDisk = await showing("the hostile torrent done", evilId, (t) => t.phase === "finished" || t.phase === "failed");
    assert.ok(onDisk.name.length <= 300 && (onDisk.error?.length ?? 0) <= 300, JSON.stringify(onDisk).slice(0, 200));
    for (const p of published) assert.ok(p.json.length < 50_000, `a publish stays small: ${p.json.length}`);
    // Nothing moves any more: the section is read every second, but nothing is published again.
    const count = published.length;
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(published.length, count, "published only on a change");
    // And never twice within a second (a busy machine only spaces them more).
    for (let i = 1; i < published.length; i++)
      assert.ok(published[i]!.at - published[i - 1]!.at >= 950, `publish ${i} came ${published[i]!.at - published[i - 1]!.at} ms after the one before`);
    assertNothingSecret();
  });
});
