/**
 * putio-transmission's removals, in a real Node-RED against the emulator: exactly what the node
 * wrote is deleted locally (a torrent folder merged into a user's folder keeps the user's files),
 * and put.io is cleaned whatever happens meanwhile: put.io down (the clean-up is kept and retried,
 * also across a restart), a failed torrent, a removal mid-copy.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { nr, type FlowNode } from "./nr";
import { ArrRpcClient, until, untilReady, withHttpNode } from "./support/transmission-rpc";
import { transmissionFixture } from "./support/transmission-fixture";
import { USER, PASS, HASH_A, HASH_B } from "./support/transmission-flow";

const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map(String).sort();
}

describe("putio-transmission removals @nr", function () {
  this.timeout(120_000);
  const f = transmissionFixture("putio-trc-");
  let events: any[];

  async function load(extra: Partial<FlowNode> = {}): Promise<void> {
    events = [];
    const flow = [
      f.account(),
      { id: "trn", type: "putio-transmission", account: "acc", downloadDir: f.work, wires: [["out"]], ...extra },
      { id: "out", type: "helper" },
    ];
    await f.load([transmissionNode], flow, { ...f.creds(), trn: { username: USER, password: PASS } });
    nr.node("out").on("input", (m: any) => events.push(m));
  }

  const client = () => new ArrRpcClient(`${f.server.url}/transmission/rpc`, USER, PASS);
  const magnet = (hex: string, name: string) => `magnet:?xt=urn:btih:${hex}&dn=${encodeURIComponent(name)}`;
  const get = async (c: ArrRpcClient, hash: string) =>
    (await c.call("torrent-get", { fields: ["id", "name", "isFinished", "errorString", "status"], ids: [hash] })).torrents[0];
  const event = (topic: string) =>
    until(
      topic,
      () => events.find((e) => e.topic === topic),
      (e) => !!e,
      2000,
    );

  async function finished(c: ArrRpcClient, hash: string, name: string, dir: string) {
    await c.call("torrent-add", { filename: magnet(hash, name), "download-dir": `${f.work}/${dir}` });
    await f.emu.advance(8000);
    return until(
      `${name} on disk`,
      () => get(c, hash),
      (t) => t?.isFinished === true || !!t?.errorString,
    );
  }

  it("delete-local-data on a torrent folder merged into the user's folder deletes only the node's files (issue 25, defect 3)", async () => {
    f.emu.knobs.transferContents["Show"] = [
      { name: "S01E02.mkv", data: Buffer.from("episode two from put.io") },
      { name: "S01E03.mkv", data: Buffer.from("episode three from put.io") },
    ];
    f.emu.knobs.transferContents["Fresh.Show"] = [{ name: "E01.mkv", data: Buffer.from("fresh") }];
    // The user's folder of the same name, with files that were never on put.io.
    fs.mkdirSync(path.join(f.work, "tv", "Show"), { recursive: true });
    fs.writeFileSync(path.join(f.work, "tv", "Show", "my-notes.txt"), "mine");
    fs.writeFileSync(path.join(f.work, "tv", "Show", "S01E01.mkv"), "my own episode one");
    await load();
    const c = client();
    await untilReady(c);
    const t = await finished(c, HASH_A, "Show", "tv");
    assert.equal(t.errorString, "");
    assert.deepEqual(tree(path.join(f.work, "tv", "Show")), ["S01E01.mkv", "S01E02.mkv", "S01E03.mkv", "my-notes.txt"]);
    const fresh = await finished(c, HASH_B, "Fresh.Show", "tv");
    assert.equal(fresh.errorString, "");

    await c.call("torrent-remove", { ids: [HASH_A, HASH_B], "delete-local-data": true });
    await until(
      "both removed",
      () => events.filter((e) => e.topic === "transmission/removed").length,
      (n) => n === 2,
    );
    assert.deepEqual(tree(path.join(f.work, "tv", "Show")), ["S01E01.mkv", "my-notes.txt"], "the user's files survive");
    assert.equal(fs.readFileSync(path.join(f.work, "tv", "Show", "S01E01.mkv"), "utf8"), "my own episode one");
    assert.equal(fs.existsSync(path.join(f.work, "tv", "Fresh.Show")), false, "a folder the node created is removed once empty");
    assert.ok(fs.existsSync(path.join(f.work, "tv")), "the category folder stays");
  });

  it("a file of the node's that the user changed since is kept and reported", async () => {
    f.emu.knobs.transferContents["Pack"] = [
      { name: "a.mkv", data: Buffer.from("aaaa") },
      { name: "b.mkv", data: Buffer.from("bbbb") },
    ];
    await load();
    const c = client();
    await untilReady(c);
    await finished(c, HASH_A, "Pack", "tv");
    fs.appendFileSync(path.join(f.work, "tv", "Pack", "b.mkv"), " and my edit");
    await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
    const removed = await event("transmission/removed");
    assert.deepEqual(tree(path.join(f.work, "tv", "Pack")), ["b.mkv"]);
    assert.equal(removed.payload.localDeleted, false);
    assert.deepEqual(removed.payload.localKept, ["Pack/b.mkv"]);
  });

  /** put.io down: every API request answers 503 (the transport's retries included). */
  const putioDown = () => (f.emu.knobs.fail5xx = { probability: 1, status: 503 });
  const putioBack = () => (f.emu.knobs.fail5xx = null);

  it("a start while put.io is unreachable answers from the stored state at once (defect 5)", async () => {
    await load();
    let c = client();
    await untilReady(c);
    const t = await finished(c, HASH_A, "Film.2026", "movies");
    assert.equal(t.isFinished, true);
    await nr.stop();
    putioDown();
    await nr.start();
    await load();
    c = client();
    const seen = await until(
      "an answer from the stored state",
      () => get(c, HASH_A).catch((e: Error) => (/starting/.test(e.message) ? null : Promise.reject(e))),
      (x) => x !== null,
    );
    assert.equal(seen.isFinished, true);
    assert.equal(seen.name, "Film.2026");
    assert.equal(seen.errorString, "");
  });

  it("removal while put.io is down: local data at once, put.io's copy and transfer once put.io is back, reported (defect 4a)", async () => {
    await load();
    const c = client();
    await untilReady(c);
    await finished(c, HASH_A, "Film.2026", "movies");
    const transfer = f.emu.state.transfers()[0]!;
    const fileId = f.emu.state.getTransfer(transfer.id)!.file_id as number;
    putioDown();
    await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
    const removed = await event("transmission/removed");
    assert.equal(removed.payload.putio, "pending");
    assert.equal(fs.existsSync(path.join(f.work, "movies", "Film.2026")), false, "the local copy goes at once");
    assert.ok(f.emu.state.getFile(fileId), "put.io still holds it while down");
    putioBack();
    const cleaned = await until(
      "the clean-up once put.io is back",
      () => events.find((e) => e.topic === "transmission/cleaned"),
      (e) => !!e,
      4000, // at most about a minute (25 ms × 4000 = 100 s of polling)
    );
    assert.equal(cleaned.payload.putio, "trashed");
    assert.equal(f.emu.state.getFile(fileId), undefined, "put.io's file is in the trash");
    assert.equal(f.emu.state.getTransfer(transfer.id), undefined, "the transfer is removed");
  });

  it("a pending clean-up survives a Node-RED restart while put.io is still down, and is done after it (defect 4a)", async () => {
    await load();
    let c = client();
    await untilReady(c);
    await finished(c, HASH_A, "Film.2026", "movies");
    const transfer = f.emu.state.transfers()[0]!;
    const fileId = f.emu.state.getTransfer(transfer.id)!.file_id as number;
    putioDown();
    await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": false });
    assert.equal((await event("transmission/removed")).payload.putio, "pending");
    await nr.stop();
    await nr.start();
    await load();
    c = client();
    const state = await until(
      "the state",
      () => c.call("torrent-get", { fields: ["id"] }).catch(() => null),
      (x) => x !== null,
    );
    assert.deepEqual(state!.torrents, []);
    putioBack();
    await until(
      "the clean-up after the restart",
      () => events.find((e) => e.topic === "transmission/cleaned"),
      (e) => !!e,
      4000,
    );
    assert.equal(f.emu.state.getFile(fileId), undefined);
    assert.equal(f.emu.state.getTransfer(transfer.id), undefined);
    assert.ok(fs.existsSync(path.join(f.work, "movies", "Film.2026")), "local data kept as asked");
  });

  it("removing a failed torrent cleans put.io: its transfer goes (defect 4b)", async () => {
    await load();
    const c = client();
    await untilReady(c);
    await c.call("torrent-add", { filename: magnet(HASH_A, "will-fail") + "&tr=http://fail.invalid/", "download-dir": `${f.work}/tv` });
    await f.emu.advance(8000);
    await until(
      "failed",
      () => get(c, HASH_A),
      (t) => !!t?.errorString,
    );
    assert.equal(f.emu.state.transfers().length, 1);
    await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
    const removed = await event("transmission/removed");
    assert.equal(removed.payload.putio, "cancelled");
    assert.equal(f.emu.state.transfers().length, 0, "put.io's list holds nothing of it");
  });

  it("removing a torrent mid-copy removes its part and state files and put.io's copy (defect 4c)", async () => {
    f.emu.knobs.bandwidthPerConnection = 32 * 1024;
    await load();
    const c = client();
    await untilReady(c);
    await c.call("torrent-add", { filename: magnet(HASH_A, "Slow.Movie.2026"), "download-dir": `${f.work}/movies` });
    await f.emu.advance(8000);
    await until(
      "a part file on disk",
      () => tree(path.join(f.work, "movies")),
      (names) => names.some((n) => /\.putio-\d+\.part$/.test(n)),
    );
    const transfer = f.emu.state.transfers()[0]!;
    const fileId = f.emu.state.getTransfer(transfer.id)!.file_id as number;
    await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
    const removed = await event("transmission/removed");
    assert.equal(removed.payload.putio, "trashed");
    assert.deepEqual(tree(path.join(f.work, "movies")), [], "no part, state or copied file left");
    assert.equal(f.emu.state.getFile(fileId), undefined, "put.io's copy is in the trash (never deleted for good without a verified copy)");
    assert.equal(f.emu.state.getTransfer(transfer.id), undefined);
  });

  it("a failed torrent's msg says why in the runtime's language (a text by code), the app reads English", async () => {
    await nr.language("de");
    try {
      await load();
      const c = client();
      await untilReady(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "will-fail"), "download-dir": `${f.work}/tv` });
      await f.emu.advance(8000);
      const failed = await event("transmission/failed");
      assert.match(failed.payload.error, /^put\.io konnte ihn nicht herunterladen/);
      assert.match((await get(c, HASH_A)).errorString, /^put\.io could not download it/);
    } finally {
      await nr.language("en-US");
    }
  });
});
