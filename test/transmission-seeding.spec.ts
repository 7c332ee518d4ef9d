/**
 * Seeding on put.io, as Sonarr and Radarr read it (TransmissionBase: Completed once leftUntilDone
 * is 0 and the torrent is stopped or seeding; removable only when stopped and past its goal). The
 * emulator keeps finished torrents SEEDING with a growing ratio; put.io's figures reach the node
 * through the account's watcher (here woken by put.io's callback, as every reconcile does).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { nr } from "./nr";
import { WATCH_SECRET, transmissionFixture } from "./support/transmission-fixture";
import { ArrRpcClient, SONARR_FIELDS, TS, arrCanBeRemoved, arrItemStatus, until, untilReady, withHttpNode } from "./support/transmission-rpc";
import { USER, PASS } from "./support/transmission-flow";

const watchNode = require("../nodes/putio-transfer-watch");
const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));

const HASH = "0123456789abcdef0123456789abcdef01234567";
const HOUR = 3_600_000;

describe("putio-transmission and put.io's seeding @nr", function () {
  this.timeout(90_000);
  const f = transmissionFixture("putio-trs-");
  let events: any[];

  beforeEach(async () => {
    f.emu.knobs.seedTorrents = true;
    f.emu.knobs.seedRatioPerHour = 1;
    events = [];
    const flow = [
      f.account(),
      { id: "trn", type: "putio-transmission", account: "acc", downloadDir: f.work, wires: [["out"]] },
      // The account's watcher, shared with the Transmission node; put.io's callback wakes it.
      { id: "watch", type: "putio-transfer-watch", account: "acc", callback: true, callbackPath: "putio-cb", wires: [[]] },
      { id: "out", type: "helper" },
    ];
    await f.load([watchNode, transmissionNode], flow, {
      ...f.creds(),
      trn: { username: USER, password: PASS },
      watch: { callbackSecret: WATCH_SECRET },
    });
    nr.node("out").on("input", (m: any) => events.push(m));
  });
  const client = () => new ArrRpcClient(`${f.server.url}/transmission/rpc`, USER, PASS);
  const torrent = async (c: ArrRpcClient) =>
    (await c.call("torrent-get", { fields: [...SONARR_FIELDS, "uploadRatio", "percentDone"], ids: [HASH] })).torrents[0];

  async function seedingTorrent(goals: Record<string, number>) {
    const c = client();
    await untilReady(c);
    await c.call("torrent-add", { filename: `magnet:?xt=urn:btih:${HASH}&dn=Show.S01E01`, "download-dir": `${f.work}/tv` });
    // Sonarr's SetTorrentSeedingConfiguration, right after the add.
    await c.call("torrent-set", { ids: [HASH], ...goals });
    await f.emu.advance(8000);
    const t = await until(
      "copied and seeding",
      () => torrent(c),
      (x) => x.leftUntilDone === 0,
    );
    return { c, t };
  }

  it("seeding on put.io after the copy: status 6, the app's goals read back, imported but not removable; at the ratio goal put.io's seeding stops, then the app's removal cleans up", async () => {
    const goals = { seedRatioLimit: 1.5, seedRatioMode: 1, seedIdleLimit: 4320, seedIdleMode: 1 };
    const { c, t } = await seedingTorrent(goals);
    assert.equal(t.status, TS.Seeding);
    assert.equal(t.isFinished, false, "not finished while put.io seeds");
    assert.equal(t.percentDone, 1);
    assert.deepEqual({ seedRatioLimit: t.seedRatioLimit, seedRatioMode: t.seedRatioMode, seedIdleLimit: t.seedIdleLimit, seedIdleMode: t.seedIdleMode }, goals);
    assert.ok(fs.existsSync(path.join(f.work, "tv", "Show.S01E01")), "on disk: the app imports it");
    assert.equal(arrItemStatus(t), "Completed");
    const session = await c.call("session-get");
    assert.equal(arrCanBeRemoved(t, session), false, "no hit-and-run: seeding goes on");

    await f.later(HOUR);
    let x = await until(
      "put.io's ratio",
      () => torrent(c),
      (y) => y.uploadRatio >= 1,
    );
    assert.equal(x.status, TS.Seeding);
    assert.ok(x.secondsSeeding >= 3600, `seconds seeding from put.io: ${x.secondsSeeding}`);
    assert.ok(x.uploadedEver > 0);
    assert.equal(arrCanBeRemoved(x, session), false);
    const transfer = f.emu.state.transfers()[0]!;
    assert.equal(f.emu.state.getTransfer(transfer.id)!.status, "SEEDING");

    await f.later(HOUR / 2);
    x = await until(
      "stopped at the goal",
      () => torrent(c),
      (y) => y.status === TS.Stopped,
    );
    assert.equal(x.isFinished, true);
    assert.ok(x.uploadRatio >= 1.5);
    assert.equal(f.emu.state.getTransfer(transfer.id)!.status, "COMPLETED", "put.io's seeding was stopped");
    assert.ok(events.some((e) => e.topic === "transmission/seeding-stopped"));
    assert.equal(arrCanBeRemoved(x, session), true, "stopped and past its goal: Sonarr removes it");

    const fileId = f.emu.state.getTransfer(transfer.id)!.file_id as number;
    await c.call("torrent-remove", { ids: [HASH.toLowerCase()], "delete-local-data": true });
    await until(
      "removed",
      () => events.find((e) => e.topic === "transmission/removed"),
      (e) => !!e,
    );
    assert.equal(f.emu.state.getFile(fileId), undefined);
    assert.equal(f.emu.state.getTransfer(transfer.id), undefined);
    assert.equal(fs.existsSync(path.join(f.work, "tv", "Show.S01E01")), false);
  });

  it("the seeding-time goal (seedIdleLimit, minutes) stops put.io's seeding once passed", async () => {
    const { c } = await seedingTorrent({ seedIdleLimit: 90, seedIdleMode: 1 });
    await f.later(HOUR);
    assert.equal((await torrent(c)).status, TS.Seeding);
    await f.later(HOUR);
    const x = await until(
      "stopped after 90 minutes of seeding",
      () => torrent(c),
      (y) => y.status === TS.Stopped,
    );
    assert.equal(x.isFinished, true);
    assert.equal(arrCanBeRemoved(x, await c.call("session-get")), true);
  });

  it("put.io stopping its seeding by itself before the goal: stopped, finished and removable (nothing more can be uploaded)", async () => {
    f.emu.knobs.seedStopAfterMs = HOUR;
    const { c } = await seedingTorrent({ seedRatioLimit: 5, seedRatioMode: 1 });
    await f.later(HOUR + 1000);
    const x = await until(
      "stopped by put.io",
      () => torrent(c),
      (y) => y.status === TS.Stopped,
    );
    assert.equal(x.isFinished, true);
    assert.equal(x.seedRatioLimit, 5, "the goal is still read back");
    assert.equal(arrCanBeRemoved(x, await c.call("session-get")), true);
  });
});
