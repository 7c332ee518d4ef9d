/** putio-account-copy in a real Node-RED runtime with two account nodes, against the emulator. */
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Emulator } from "./emulator";
import { whileClockRuns } from "./support/emulator-clock";
import { catchAll, nextMessage, nr, statusMatching, type FlowNode } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";

const copyNode = require("../nodes/putio-account-copy");

const drive = <T>(emu: Emulator, p: Promise<T>) => whileClockRuns(emu, p, 3000);

describe("putio-account-copy node @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed();
  let tokenB: string;
  beforeEach(() => {
    tokenB = rig.emu.addUser({ username: "friend" }).token;
  });

  const account = (id: string, name: string): FlowNode => rig.account({ id, name });

  async function load(cfg: object = {}) {
    await rig.load(
      [copyNode],
      [
        account("accA", "mine"),
        account("accB", "friend"),
        {
          id: "copy",
          type: "putio-account-copy",
          account: "accA",
          targetAccount: "accB",
          source: "payload",
          sourceType: "msg",
          target: "/From friend",
          targetType: "str",
          ...cfg,
          wires: [["out"]],
        },
        catchAll("c", "caught"),
        { id: "out", type: "helper" },
        { id: "caught", type: "helper" },
      ],
      { accA: { accessToken: rig.emu.token }, accB: { accessToken: tokenB } },
    );
  }

  function seed() {
    const movies = rig.emu.state.addFolder(0, "Movies");
    const film = rig.emu.state.addFolder(movies.id, "Film (2024)");
    rig.emu.state.addFile(film.id, "Film.mkv", crypto.randomBytes(5000));
    rig.emu.state.addFile(film.id, "Film.srt", crypto.randomBytes(300));
    rig.emu.state.addFolder(film.id, "Extras");
    return film;
  }

  it("copies a folder given as a path into a folder it creates on the other account; one summary msg; a re-run skips", async () => {
    const film = seed();
    await load();
    const copying = statusMatching("copy", (s) => /^copying \d+\/2 \(B: \d+ downloading\)$/.test(s.text ?? ""));
    const out = nextMessage("out");
    nr.node("copy").receive({ payload: "/Movies/Film (2024)" });
    const msg = await drive(rig.emu, out);
    await copying;
    assert.equal(msg.sourceId, film.id);
    assert.deepEqual(msg.payload.failed, []);
    assert.equal(msg.payload.folders, 2);
    assert.deepEqual(msg.payload.copied.map((c: { path: string }) => c.path).sort(), ["Film (2024)/Film.mkv", "Film (2024)/Film.srt"]);
    const dest = rig.emu.state.listChildren(0, tokenB).find((f) => f.name === "From friend")!;
    assert.equal(msg.targetFolderId, dest.id);
    const copyFolder = rig.emu.state.listChildren(dest.id, tokenB).find((f) => f.name === "Film (2024)")!;
    const onB = rig.emu.state
      .listChildren(copyFolder.id, tokenB)
      .map((f) => `${f.name}:${f.size}:${f.crc32}`)
      .sort();
    const onA = rig.emu.state
      .listChildren(film.id)
      .map((f) => `${f.name}:${f.size}:${f.crc32}`)
      .sort();
    assert.deepEqual(onB, onA);
    assert.deepEqual(rig.emu.state.transfers(tokenB), []);
    await statusMatching("copy", (s) => s.text === "2 copied, 0 skipped" && s.fill === "green");

    const again = nextMessage("out");
    nr.node("copy").receive({ payload: film.id });
    const second = await drive(rig.emu, again);
    assert.equal(second.payload.copied.length, 0);
    assert.equal(second.payload.skipped.length, 2);
    // Neither token anywhere in the msgs or the log.
    for (const token of [rig.emu.token, tokenB]) {
      assert.ok(!JSON.stringify([msg, second]).includes(token));
      assert.ok(!nr.logText().includes(token));
    }
  });

  it("reports a failed copy in the summary, in the runtime's language, with a yellow status", async () => {
    const f = rig.emu.state.addFile(0, "bad.bin", crypto.randomBytes(2000));
    rig.emu.state.corruptCrc(f.id);
    await load({ target: "" });
    const out = nextMessage("out");
    nr.node("copy").receive({ payload: "/bad.bin" });
    const msg = await drive(rig.emu, out);
    assert.equal(msg.payload.failed.length, 1);
    assert.equal(msg.payload.failed[0].code, "copy.crc-mismatch");
    assert.match(msg.payload.failed[0].error, /CRC32.*moved to the trash/);
    assert.equal(rig.emu.state.trashed(tokenB).length, 1);
    await statusMatching("copy", (s) => s.fill === "yellow" && s.text === "0 copied, 0 skipped, 1 failed");
  });

  it("B's refusals quoting the storage URL: no URL, signature or token in the msg, the status or the log", async () => {
    const folder = seedMany(3);
    rig.emu.knobs.apiFaults = [
      { method: "POST", path: "/v2/transfers/add", token: tokenB, status: 400, times: 1, message: 'Bad URL "{url}"' },
      { method: "POST", path: "/v2/transfers/add", token: tokenB, status: 404, times: 1 },
    ];
    await load({ concurrency: "1", target: "" });
    const out = nextMessage("out");
    nr.node("copy").receive({ payload: folder.id });
    const msg = await drive(rig.emu, out);
    assert.ok(msg.payload.failed.length >= 1);
    const statuses = (nr.node("copy") as unknown as { status: { args: unknown[][] } }).status.args.map((a) => JSON.stringify(a[0]));
    const text = JSON.stringify(msg) + statuses.join("\n") + nr.logText();
    for (const needle of ["/download/", "?u=", rig.emu.token, tokenB]) assert.ok(!text.includes(needle), `"${needle}" in ${text.slice(0, 400)}`);
    assert.match(JSON.stringify(msg.payload.failed), /<storage URL>/);
  });

  it("fails a msg to a Catch node without a target account, and for a source path that is not there", async () => {
    await load({ targetAccount: "" });
    const caught = nextMessage("caught");
    nr.node("copy").receive({ payload: "/x" });
    const err = await caught;
    assert.match(err.error.message, /no target account/);

    await nr.helper.unload();
    await load();
    const caught2 = nextMessage("caught");
    nr.node("copy").receive({ payload: "/Nope/nothing.mkv" });
    const err2 = await caught2;
    assert.match(err2.error.message, /"\/Nope\/nothing.mkv" is not on the source account/);
    assert.ok(!JSON.stringify(err2).includes(rig.emu.token) && !JSON.stringify(err2).includes(tokenB));
  });

  it("closing the node mid-copy stops the job and cancels its transfers on the other account", async () => {
    const folder = rig.emu.state.addFolder(0, "Many");
    for (let i = 0; i < 5; i++) rig.emu.state.addFile(folder.id, `f${i}.bin`, crypto.randomBytes(100));
    await load({ concurrency: "2", target: "" });
    nr.node("copy").receive({ payload: folder.id });
    // The manual clock stands still: the two transfers wait in B's queue.
    while (rig.emu.state.transfers(tokenB).length < 2) await new Promise((r) => setTimeout(r, 10));
    // Only this node closes (a modified-nodes deploy): the accounts stay up for the cancel.
    await (nr.node("copy") as unknown as { close(removed: boolean): Promise<void> }).close(true);
    assert.deepEqual(rig.emu.state.transfers(tokenB), []);
  });

  /** Run `fn` with a user directory (the journal's home) set in Node-RED's settings. */
  async function withUserDir(fn: (userDir: string, settings: () => void) => Promise<void>): Promise<void> {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
    const saved = { ...nr.helper._settings };
    const settings = () => nr.helper.settings({ ...saved, userDir });
    try {
      settings();
      await fn(userDir, settings);
    } finally {
      nr.helper.settings(saved);
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  }

  const seedMany = (n: number) => {
    const folder = rig.emu.state.addFolder(0, "Many");
    for (let i = 0; i < n; i++) rig.emu.state.addFile(folder.id, `f${i}.bin`, crypto.randomBytes(100 + i));
    return folder;
  };

  it("Node-RED stopped mid-copy: at the next start the job runs again by itself and adopts B's transfers; each file once, nothing left", async () => {
    await withUserDir(async (userDir, settings) => {
      const folder = seedMany(5);
      await load({ concurrency: "4", target: "" });
      nr.node("copy").receive({ payload: folder.id, keep: "me" });
      // The manual clock stands still: four transfers wait in B's queue.
      while (rig.emu.state.transfers(tokenB).length < 4) await new Promise((r) => setTimeout(r, 10));
      const journal = path.join(userDir, "node-red-putio", "account-copy-copy.json");
      assert.ok(fs.existsSync(journal));
      const kept = fs.readFileSync(journal, "utf8");
      assert.ok(!kept.includes(rig.emu.token) && !kept.includes(tokenB) && !kept.includes("/download/"), "no token or storage URL in the journal");
      await nr.stop();
      // B finishes them while Node-RED is down: copies under put.io's names, COMPLETED entries.
      await rig.emu.advance(10_000);
      await nr.start();
      settings();
      // Slow answers while the flow loads, so the resumed job cannot end before the helper listens.
      rig.emu.knobs.latencyMs = 200;
      await load({ concurrency: "4", target: "" });
      const out = nextMessage("out");
      rig.emu.knobs.latencyMs = 0;
      const msg = await drive(rig.emu, out);
      assert.equal(msg.keep, "me");
      assert.deepEqual(msg.payload.failed, []);
      assert.equal(msg.payload.copied.length + msg.payload.skipped.length, 5);
      const dest = rig.emu.state.listChildren(0, tokenB).find((f) => f.name === "Many")!;
      assert.deepEqual(
        rig.emu.state
          .listChildren(dest.id, tokenB)
          .map((f) => `${f.name}:${f.size}:${f.crc32}`)
          .sort(),
        rig.emu.state
          .listChildren(folder.id)
          .map((f) => `${f.name}:${f.size}:${f.crc32}`)
          .sort(),
      );
      assert.deepEqual(rig.emu.state.transfers(tokenB), []);
      for (let i = 0; i < 100 && fs.existsSync(journal); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(!fs.existsSync(journal), "a finished job is forgotten");
    });
  });

  it("a removed node (with a journal) undoes what its copy left on B: transfers cancelled, no stray arrives later", async () => {
    await withUserDir(async (userDir) => {
      const folder = seedMany(5);
      await load({ concurrency: "2", target: "" });
      nr.node("copy").receive({ payload: folder.id });
      while (rig.emu.state.transfers(tokenB).length < 2) await new Promise((r) => setTimeout(r, 10));
      await (nr.node("copy") as unknown as { close(removed: boolean): Promise<void> }).close(true);
      assert.deepEqual(rig.emu.state.transfers(tokenB), []);
      await rig.emu.advance(10_000);
      assert.deepEqual(
        rig.emu.state.listChildren(0, tokenB).map((f) => [f.name, rig.emu.state.listChildren(f.id, tokenB).length]),
        [["Many", 0]],
      );
      assert.ok(!fs.existsSync(path.join(userDir, "node-red-putio", "account-copy-copy.json")));
    });
  });

  it("the example (copy-between-accounts.json) as shipped, with the two accounts filled in: /Movies lands in /Shared with me", async () => {
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", "copy-between-accounts.json"), "utf8")) as FlowNode[];
    const flow = example
      // The runtime here has no inject node: its msg is sent to the copy node as it would send it.
      .filter((n) => n.type !== "comment" && n.type !== "inject")
      .map((n) => (n.type === "putio-account-copy" ? { ...n, account: "accA", targetAccount: "accB" } : n.type === "debug" ? { id: n.id, type: "helper" } : n));
    const movies = rig.emu.state.addFolder(0, "Movies");
    rig.emu.state.addFile(movies.id, "Film.mkv", crypto.randomBytes(4000));
    await rig.load([copyNode], [account("accA", "mine"), account("accB", "friend"), ...flow], {
      accA: { accessToken: rig.emu.token },
      accB: { accessToken: tokenB },
    });
    const out = nextMessage("ex-acopy-d");
    const inject = example.find((n) => n.type === "inject")!;
    assert.deepEqual(inject.wires, [["ex-acopy"]]);
    nr.node("ex-acopy").receive({ payload: inject.payload });
    const msg = await drive(rig.emu, out);
    assert.deepEqual(
      msg.payload.copied.map((c: { path: string }) => c.path),
      ["Movies/Film.mkv"],
    );
    const shared = rig.emu.state.listChildren(0, tokenB).find((f) => f.name === "Shared with me")!;
    const copied = rig.emu.state.listChildren(shared.id, tokenB).find((f) => f.name === "Movies")!;
    assert.deepEqual(
      rig.emu.state.listChildren(copied.id, tokenB).map((f) => [f.name, f.size, f.crc32]),
      rig.emu.state.listChildren(movies.id).map((f) => [f.name, f.size, f.crc32]),
    );
  });
});
