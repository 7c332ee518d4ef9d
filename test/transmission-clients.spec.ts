/**
 * Real Transmission clients against putio-transmission in a real Node-RED with the emulator:
 * Debian's transmission-remote, the npm client @ctrl/transmission, and the exact request sequences
 * of Sonarr's and Radarr's Transmission download clients (connection test, add with category,
 * polling with their field list, the import path they compute, post-import label, removal).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { encodeBencode } from "../lib/transmission/sources";
import { ArrRpcClient, SONARR_FIELDS, arrCanBeRemoved, arrItemStatus, arrVersion, until, untilReady, withHttpNode } from "./support/transmission-rpc";
import { transmissionFixture } from "./support/transmission-fixture";

const run = promisify(execFile);
const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));

const USER = "arr";
const PASS = "arr-password-1";
const HASH = "89abcdef0123456789abcdef0123456789abcdef";

function hasTransmissionRemote(): boolean {
  try {
    fs.accessSync("/usr/bin/transmission-remote", fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

describe("putio-transmission with real clients @nr", function () {
  this.timeout(60_000);
  const rig = transmissionFixture("putio-trc-");

  beforeEach(async () => {
    const flow = [rig.account(), { id: "trn", type: "putio-transmission", account: "acc", downloadDir: rig.work, wires: [[]] }];
    await rig.load([transmissionNode], flow, { ...rig.creds(), trn: { username: USER, password: PASS } });
  });

  const rpcUrl = () => `${rig.server.url}/transmission/rpc`;

  const ready = untilReady;

  (hasTransmissionRemote() ? it : it.skip)("Debian's transmission-remote adds, lists and removes (with its local data)", async () => {
    await ready(new ArrRpcClient(rpcUrl(), USER, PASS));
    const host = rig.server.url.replace(/^http:\/\//, "") + "/transmission/rpc";
    const tr = (...args: string[]) => run("transmission-remote", [host, "-n", `${USER}:${PASS}`, ...args], { timeout: 20_000 });
    const added = await tr("-a", `magnet:?xt=urn:btih:${HASH}&dn=Debian.Test`, "-w", path.join(rig.work, "tv"));
    assert.match(added.stdout + added.stderr, /success/);
    await assert.rejects(run("transmission-remote", [host, "-n", `${USER}:nope`, "-l"], { timeout: 20_000 }), /Unauthorized|401/);
    await rig.emu.advance(8000);
    const c = new ArrRpcClient(rpcUrl(), USER, PASS);
    await until(
      "on disk",
      () => c.call("torrent-get", { fields: ["isFinished"] }),
      (a) => a.torrents[0]?.isFinished === true,
    );
    const list = await tr("-l");
    assert.match(list.stdout, /Debian\.Test/);
    assert.match(list.stdout, /100%/);
    assert.match(list.stdout, /Stopped|Finished/);
    assert.ok(fs.existsSync(path.join(rig.work, "tv", "Debian.Test")));
    const removed = await tr("-t", "1", "--remove-and-delete");
    assert.match(removed.stdout + removed.stderr, /success/);
    assert.equal(fs.existsSync(path.join(rig.work, "tv", "Debian.Test")), false);
    assert.doesNotMatch((await tr("-l")).stdout, /Debian\.Test/);
  });

  it("npm @ctrl/transmission: session, add a magnet into a category, list and normalise, remove", async () => {
    const { Transmission } = require("@ctrl/transmission") as typeof import("@ctrl/transmission");
    await ready(new ArrRpcClient(rpcUrl(), USER, PASS));
    const client = new Transmission({ baseUrl: rig.server.url, username: USER, password: PASS, timeout: 20_000 });
    const session = await client.getSession();
    assert.equal(session.arguments["download-dir"], rig.work);
    const added = await client.addMagnet(`magnet:?xt=urn:btih:${HASH}&dn=Ctrl.Test`, { "download-dir": `${rig.work}/movies`, labels: ["movies"] } as never);
    assert.equal(added.arguments["torrent-added"]?.hashString, HASH);
    await rig.emu.advance(8000);
    await until(
      "finished",
      () => client.getTorrent(HASH),
      (t) => t.isCompleted,
    );
    const all = await client.getAllData();
    assert.equal(all.torrents.length, 1);
    const t = all.torrents[0]!;
    assert.equal(t.id, HASH);
    assert.equal(t.savePath, `${rig.work}/movies`);
    assert.equal(t.label, "movies");
    assert.equal(t.progress, 1);
    await client.removeTorrent(HASH, true);
    assert.equal((await client.listTorrents()).arguments.torrents.length, 0);
    assert.equal(fs.existsSync(path.join(rig.work, "movies", "Ctrl.Test")), false);
  });

  it("Sonarr's sequence: connection test, add with category and labels, poll, import path, post-import label, removal", async () => {
    const sonarr = new ArrRpcClient(rpcUrl(), USER, PASS);
    // Test(): ValidateVersion (GetClientVersion → session-get) then TestGetTorrents.
    await until(
      "connection test",
      async () => {
        const cfg = await sonarr.call("session-get");
        const v = arrVersion(cfg.version);
        assert.ok(v[0]! > 2 || (v[0] === 2 && v[1]! >= 40), `version ${cfg.version} is accepted`);
        return sonarr.call("torrent-get", { fields: SONARR_FIELDS }).then(
          () => true,
          (e: Error) => (/starting/.test(e.message) ? false : Promise.reject(e)),
        );
      },
      (ok) => ok,
    );
    assert.deepEqual(
      sonarr.log.slice(0, 2).map((l) => [l.httpMethod, l.status]),
      [
        ["GET", 409],
        ["POST", 200],
      ],
      "the bare GET learns the session id",
    );
    // GetStatus: download-dir + "/" + category is the output root.
    const config = await sonarr.call("session-get");
    const category = "tv-sonarr";
    const downloadDir = `${config["download-dir"].replace(/\/$/, "")}/${category}`;
    // AddFromMagnetLink → AddTorrentFromUrl (paused, download-dir, labels) → SetTorrentSeedingConfiguration → MoveTorrentToTopInQueue.
    await sonarr.call("torrent-add", {
      filename: `magnet:?xt=urn:btih:${HASH}&dn=Show.S02E03.720p`,
      paused: false,
      "download-dir": downloadDir,
      labels: [category],
    });
    await sonarr.call("torrent-set", { ids: [HASH], seedRatioLimit: 1.0, seedRatioMode: 1, seedIdleLimit: 60, seedIdleMode: 1 });
    await sonarr.call("queue-move-top", { ids: [HASH] });

    const items = async () => {
      const torrents = (await sonarr.call("torrent-get", { fields: SONARR_FIELDS })).torrents as any[];
      // GetItems: with labels (version ≥ 4.0) the category must be among them.
      return torrents.filter((t) => t.labels.some((l: string) => l.toLowerCase() === category));
    };
    let item = (await items())[0];
    assert.ok(item, "found by its label");
    assert.equal(item.hashString.toUpperCase(), HASH.toUpperCase());
    assert.equal(arrItemStatus(item), "Queued", "totalSize is known from put.io before the copy, or the item waits as queued");
    await rig.emu.advance(3000);
    item = await until(
      "downloading",
      async () => (await items())[0],
      (t) => arrItemStatus(t) === "Downloading",
    );
    await rig.emu.advance(5000);
    item = await until(
      "completed",
      async () => (await items())[0],
      (t) => arrItemStatus(t) === "Completed",
    );
    assert.equal(arrCanBeRemoved(item, await sonarr.call("session-get")), true);
    // The import path: OutputPath = downloadDir + name (":" replaced).
    const outputPath = path.join(item.downloadDir, item.name.replace(/:/g, "_"));
    assert.ok(fs.statSync(outputPath).size > 0, "the files are where Sonarr looks");
    // MarkItemAsImported: torrent-get by lower-case hash, then torrent-set labels.
    const hash = item.hashString.toUpperCase().toLowerCase();
    const found = (await sonarr.call("torrent-get", { fields: SONARR_FIELDS, ids: [hash] })).torrents[0];
    await sonarr.call("torrent-set", { ids: [hash], labels: [...found.labels.filter((l: string) => l !== category), "tv-imported"] });
    assert.deepEqual((await sonarr.call("torrent-get", { fields: ["labels"], ids: [HASH.toUpperCase()] })).torrents[0].labels, ["tv-imported"]);
    // RemoveItem(deleteData: true) with the lower-cased DownloadId.
    await sonarr.call("torrent-remove", { ids: [hash], "delete-local-data": true });
    assert.equal(fs.existsSync(outputPath), false);
    assert.deepEqual((await sonarr.call("torrent-get", { fields: SONARR_FIELDS })).torrents, []);
    const transfer = rig.emu.requests.filter((r) => r.path === "/v2/transfers/remove");
    assert.equal(transfer.length, 1, "put.io cleaned once");
  });

  it("Radarr's sequence with a .torrent over 1 MB: metainfo add, the info hash it computed itself, category by folder, removal", async () => {
    const radarr = new ArrRpcClient(rpcUrl(), USER, PASS);
    await ready(radarr);
    // A real-shaped .torrent whose piece list makes the request body well over 1 MB.
    const info = { name: "Film.2026.2160p", "piece length": 262_144, length: 40_000 * 262_144, pieces: Buffer.alloc(20 * 40_000, 7) };
    const torrent = encodeBencode({ announce: "http://tracker.invalid/announce", info });
    const infoHash = createHash("sha1").update(encodeBencode(info)).digest("hex");
    const body = Buffer.from(torrent).toString("base64");
    assert.ok(body.length > 1024 * 1024, "the body is over 1 MB");
    const cfg = await radarr.call("session-get");
    const downloadDir = `${cfg["download-dir"]}/radarr`;
    const added = await radarr.call("torrent-add", { metainfo: body, paused: false, "download-dir": downloadDir });
    assert.equal(added["torrent-added"].hashString, infoHash, "the hash Radarr computed from the file is the one it can poll by");
    await radarr.call("torrent-set", { ids: [infoHash], seedRatioLimit: 2, seedRatioMode: 1 });
    await rig.emu.advance(8000);
    const t = await until(
      "completed",
      async () => ((await radarr.call("torrent-get", { fields: SONARR_FIELDS })).torrents as any[]).find((x) => x.downloadDir.split("/").includes("radarr")),
      (x) => !!x && arrItemStatus(x) === "Completed",
    );
    assert.equal(t.hashString, infoHash);
    assert.ok(fs.existsSync(path.join(t.downloadDir, t.name)));
    assert.equal(arrCanBeRemoved(t, await radarr.call("session-get")), true, "a per-torrent ratio goal does not keep a put.io torrent forever");
    await radarr.call("torrent-remove", { ids: [infoHash.toLowerCase()], "delete-local-data": false });
    assert.ok(fs.existsSync(path.join(t.downloadDir, t.name)), "local data kept when not asked to delete");
    assert.equal(rig.emu.state.transfers().length, 0);
  });

  it("1,000 torrent-get polls on the torrents cost put.io no request", async () => {
    const c = new ArrRpcClient(rpcUrl(), USER, PASS);
    await ready(c);
    for (let i = 0; i < 5; i++) await c.call("torrent-add", { filename: `magnet:?xt=urn:btih:${String(i).repeat(40)}&dn=Poll.${i}` });
    await rig.emu.advance(8000);
    await until(
      "all on disk",
      () => c.call("torrent-get", { fields: ["isFinished"] }),
      (a) => a.torrents.every((t: any) => t.isFinished),
    );
    // The state saves of the last phase changes (not caused by polls) land first.
    await until(
      "the node's own requests to settle",
      async () => {
        const before = rig.emu.requests.length;
        await new Promise((r) => setTimeout(r, 200));
        return before === rig.emu.requests.length;
      },
      (quiet) => quiet,
    );
    const before = rig.emu.requests.length;
    for (let i = 0; i < 1000; i++) await c.call("torrent-get", { fields: SONARR_FIELDS });
    assert.deepEqual(
      rig.emu.requests.slice(before).map((r) => r.path),
      [],
    );
  });
});
