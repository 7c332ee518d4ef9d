/** putio-transfer-add, -action and -watch in a real Node-RED runtime, against the emulator. */
import assert from "node:assert/strict";
import request from "supertest";
import { catchAll, nextMessage, nr, statusMatching, withTab, type FlowNode } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";
import { diskStore } from "./support/disk-store";
import { seeded } from "./support/random";

const accountNode = require("../nodes/putio-account");
const addNode = require("../nodes/putio-transfer-add");
const actionNode = require("../nodes/putio-transfer-action");
const watchNode = require("../nodes/putio-transfer-watch");

const hash = (n: number) => n.toString(16).padStart(40, "0");
const magnet = (n: number, name = `Show.S01E${String(n).padStart(2, "0")}`) => `magnet:?xt=urn:btih:${hash(n)}&dn=${name}`;
const TORRENT = Buffer.from("d8:announce13:http://t/ann4:infod4:name5:a.iso12:piece lengthi16384e6:pieces0:6:lengthi5eee");

/** Wait for a condition; mocha's timeout bounds it (`what` names it when reading a failure). */
async function until(cond: () => boolean, what: string): Promise<void> {
  void what;
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe("transfer nodes @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed();

  const account = (): FlowNode => rig.account({ name: "transfers account" });
  const creds = () => ({ acc: { accessToken: rig.emu.token } });

  describe("putio-transfer-add", () => {
    async function load(cfg: object = {}) {
      await rig.load(
        [addNode],
        [
          account(),
          { id: "add", type: "putio-transfer-add", account: "acc", folder: "", folderType: "str", ...cfg, wires: [["out"]] },
          catchAll("c", "caught"),
          { id: "out", type: "helper" },
          { id: "caught", type: "helper" },
        ],
      );
    }

    it("adds a magnet into a folder path it creates, and outputs the transfer", async () => {
      await load({ folder: "/TV/New Shows" });
      const out = nextMessage("out");
      nr.node("add").receive({ payload: magnet(1) });
      const msg = await out;
      const tv = rig.emu.state.listChildren(0).find((f) => f.name === "TV");
      const folder = tv && rig.emu.state.listChildren(tv.id).find((f) => f.name === "New Shows");
      assert.ok(folder, "the folder path was created");
      assert.equal(msg.payload.save_parent_id, folder.id);
      assert.equal(msg.payload.duplicate, false);
      assert.deepEqual(msg.failed, []);
      assert.ok(rig.emu.state.getTransfer(msg.payload.id));
    });

    it("takes the folder from msg (typedInput) and text with one item per line", async () => {
      await load({ folder: "target", folderType: "msg" });
      const out = nextMessage("out");
      nr.node("add").receive({ payload: `${magnet(2)}\n\n# a comment\nhttps://example.com/file.iso\n`, target: "/Inbox" });
      const msg = await out;
      assert.equal(msg.payload.length, 2);
      const inbox = rig.emu.state.listChildren(0).find((f) => f.name === "Inbox");
      assert.ok(msg.payload.every((t: any) => t.save_parent_id === inbox?.id));
    });

    it("a .torrent buffer is uploaded and becomes a transfer", async () => {
      await load();
      const out = nextMessage("out");
      nr.node("add").receive({ payload: TORRENT, filename: "a.torrent" });
      const msg = await out;
      assert.equal(typeof msg.payload.id, "number");
      assert.ok(rig.emu.requests.some((r) => r.path === "/v2/files/upload"));
    });

    it("mixed good and bad items: the good are added, and the one outcome is a catchable error naming the bad (no output msg)", async () => {
      await load();
      let sent = 0;
      nr.node("out").on("input", () => sent++);
      const caught = nextMessage("caught");
      nr.node("add").receive({ payload: [magnet(3), "magnet:?xt=urn:btih:nothex", "not a url", Buffer.from("garbage"), "http://example.com/ok.bin"] });
      const err = await caught;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(sent, 0, "one outcome per msg: the error only");
      assert.equal(err.payload.length, 2, "the Catch node's msg carries what was added");
      assert.equal(err.failed.length, 3);
      for (const t of err.payload) assert.ok(rig.emu.state.getTransfer(t.id), "the good items were added on put.io");
      assert.match(err.error.message, /magnet:\?xt=urn:btih:nothex: the magnet's info-hash/);
      assert.match(err.error.message, /not a url: it is not a URL/);
      assert.match(err.error.message, /7-byte buffer: the buffer is not a \.torrent/);
      assert.match(err.error.message, /3 of 5 item\(s\) failed/);
    });

    it("only bad items: no call to put.io, only the error", async () => {
      await load();
      const caught = nextMessage("caught");
      let sent = false;
      nr.node("out").on("input", () => (sent = true));
      nr.node("add").receive({ payload: ["ftp:/", "javascript:alert(1)"] });
      await caught;
      assert.equal(sent, false);
      assert.equal(rig.emu.requests.filter((r) => r.path.startsWith("/v2/transfers")).length, 0);
    });

    it("an empty payload or a wrong type is a clear error", async () => {
      await load();
      for (const payload of ["", { a: 1 }, 42]) {
        const caught = nextMessage("caught");
        nr.node("add").receive({ payload });
        assert.match((await caught).error.message, /empty|expected a magnet/);
      }
    });

    it("reports put.io's duplicate (the existing transfer returned) without failing", async () => {
      await load();
      let out = nextMessage("out");
      nr.node("add").receive({ payload: magnet(4) });
      const first = await out;
      out = nextMessage("out");
      nr.node("add").receive({ payload: magnet(4) });
      const second = await out;
      assert.equal(second.payload.id, first.payload.id);
      assert.equal(second.payload.duplicate, true);
      assert.deepEqual(second.failed, []);
      await statusMatching("add", (s) => s.fill === "green" && s.text === "1 already there");
    });

    it("two equal magnets in one msg: one transfer, counted once as added and once as already there", async () => {
      await load();
      const out = nextMessage("out");
      nr.node("add").receive({ payload: [magnet(5), magnet(5)] });
      const msg = await out;
      assert.equal(msg.payload.length, 2);
      assert.equal(msg.payload[0].id, msg.payload[1].id);
      assert.deepEqual(
        msg.payload.map((a: { duplicate: boolean }) => a.duplicate),
        [false, true],
      );
      await statusMatching("add", (s) => s.fill === "green" && s.text === "1 added, 1 already there");
    });

    it("every input form in one list, into a folder given by id, with the callback URL passed on", async () => {
      const inbox = rig.emu.state.addFolder(0, "Inbox");
      await load({ folder: String(inbox.id), folderType: "str", callbackUrl: "cb", callbackUrlType: "msg" });
      const out = nextMessage("out");
      const base32 = "magnet:?xt=urn:btih:" + "A".repeat(32) + "&dn=base32";
      nr.node("add").receive({
        payload: [magnet(6), base32, "https://example.com/a.iso", "http://example.com/b.iso", "ftp://example.com/c.iso", TORRENT],
        cb: "https://hooks.example.com/putio?k=1",
      });
      const msg = await out;
      assert.equal(msg.payload.length, 6);
      assert.deepEqual(msg.failed, []);
      assert.ok(msg.payload.every((t: any) => t.save_parent_id === inbox.id && typeof t.id === "number" && typeof t.status === "string"));
      const added = msg.payload.map((t: any) => rig.emu.state.getTransfer(t.id));
      // The .torrent goes through the upload route, which takes no callback; the five others carry it.
      assert.equal(added.filter((t: any) => t?.callback_url === "https://hooks.example.com/putio?k=1").length, 5);
    });

    it("a missing folder id is a catchable put.io error", async () => {
      await load({ folder: "2147483600", folderType: "str" });
      const caught = nextMessage("caught");
      nr.node("add").receive({ payload: magnet(5) });
      assert.match((await caught).error.message, /404|not exist/i);
    });
  });

  describe("putio-transfer-action", () => {
    async function load(cfg: object) {
      await rig.load(
        [actionNode],
        [
          account(),
          { id: "act", type: "putio-transfer-action", account: "acc", transferIds: "", ...cfg, wires: [["out"]] },
          catchAll("c", "caught"),
          { id: "out", type: "helper" },
          { id: "caught", type: "helper" },
        ],
      );
    }

    it("retry, cancel, remove and clean, with ids from msg or config", async () => {
      const bad = rig.emu.state.addTransfer({ url: "http://example.com/x-fail.iso", status: "ERROR" });
      await load({ action: "msg" });
      let out = nextMessage("out");
      nr.node("act").receive({ action: "retry", payload: { id: bad.id, status: "ERROR" } });
      assert.equal((await out).payload[0].id, bad.id);

      const running = rig.emu.state.addTransfer({ url: "http://example.com/y.iso" });
      out = nextMessage("out");
      nr.node("act").receive({ action: "cancel", payload: String(running.id) });
      assert.deepEqual((await out).payload, { cancelled: [running.id] });

      const done = rig.emu.state.addTransfer({ url: "http://example.com/z.iso", status: "COMPLETED" });
      out = nextMessage("out");
      nr.node("act").receive({ action: "clean" });
      assert.ok((await out).payload.deleted_ids.includes(done.id));

      const other = rig.emu.state.addTransfer({ url: "http://example.com/w.iso" });
      out = nextMessage("out");
      nr.node("act").receive({ action: "remove", payload: [other.id] });
      assert.deepEqual((await out).payload, { removed: [other.id] });
      assert.equal(rig.emu.state.getTransfer(other.id), undefined);
    });

    it("clean: every finished transfer by default, whatever the payload (an inject timestamp); only the given ones when asked", async () => {
      const a = rig.emu.state.addTransfer({ url: "http://example.com/a.iso", status: "COMPLETED" });
      const b = rig.emu.state.addTransfer({ url: "http://example.com/b.iso", status: "COMPLETED" });
      await load({ action: "clean" });
      let out = nextMessage("out");
      nr.node("act").receive({ payload: Date.now() });
      assert.deepEqual([...(await out).payload.deleted_ids].sort(), [a.id, b.id].sort());
      assert.equal(rig.emu.state.getTransfer(a.id), undefined);

      const c = rig.emu.state.addTransfer({ url: "http://example.com/c.iso", status: "COMPLETED" });
      const d = rig.emu.state.addTransfer({ url: "http://example.com/d.iso", status: "COMPLETED" });
      await nr.helper.unload();
      await load({ action: "clean", cleanScope: "payload" });
      out = nextMessage("out");
      nr.node("act").receive({ payload: [c.id] });
      assert.deepEqual((await out).payload.deleted_ids, [c.id]);
      assert.ok(rig.emu.state.getTransfer(d.id), "the other finished transfer stays");
      const caught = nextMessage("caught");
      nr.node("act").receive({ payload: Date.now() });
      assert.match((await caught).error.message, /no transfer with id \d+/);
      assert.ok(rig.emu.state.getTransfer(d.id));
    });

    it("an unknown id is a catchable error that says so", async () => {
      await load({ action: "cancel", transferIds: "2147483600" });
      const caught = nextMessage("caught");
      nr.node("act").receive({});
      assert.match((await caught).error.message, /no transfer with id 2147483600/);
      assert.equal(rig.emu.requests.filter((r) => r.path === "/v2/transfers/cancel").length, 0);
    });

    it("a bad action or bad ids are clear errors", async () => {
      await load({ action: "msg" });
      let caught = nextMessage("caught");
      nr.node("act").receive({ action: "explode", payload: 1 });
      assert.match((await caught).error.message, /unknown action/);
      caught = nextMessage("caught");
      nr.node("act").receive({ action: "retry", payload: "abc" });
      assert.match((await caught).error.message, /not a transfer id/);
    });
  });

  describe("putio-transfer-watch", () => {
    const received: any[] = [];
    let RED: any;
    const captureRed = (red: any) => {
      RED = red;
    };

    async function load(cfg: object = {}, disk?: Map<string, unknown>) {
      received.length = 0;
      const modules: unknown[] = [captureRed, accountNode, watchNode];
      if (disk) {
        rig.settings({ contextStorage: { default: { module: diskStore(disk) } } });
        modules.unshift(() => nr.helper._context.load());
      }
      await nr.load(
        modules,
        withTab([
          account(),
          {
            id: "watch",
            type: "putio-transfer-watch",
            account: "acc",
            mode: "socket",
            statuses: "COMPLETED,ERROR",
            emitMissed: true,
            ...cfg,
            wires: [["out"]],
          },
          { id: "out", type: "helper" },
        ]),
        { ...creds(), watch: { callbackSecret: "0123456789abcdef-secret" } },
      );
      nr.node("out").on("input", (m: any) => received.push(m));
    }

    /** Subscribed and primed: the socket is connected and the first reconcile has been answered. */
    async function ready(mode: "socket" | "poll" = "socket") {
      if (mode === "socket") {
        await statusMatching("watch", (s) => /connected/.test(s.text ?? ""));
        await until(() => rig.emu.socketCount() > 0, "the socket");
      }
      await until(() => rig.emu.requests.some((r) => r.path === "/v2/transfers/list" && r.status === 200), "the first reconcile");
      await new Promise((r) => setTimeout(r, 50)); // the node finishes priming after the list is answered
    }

    it("sends a completion seen through the socket once, with its file id and put.io path", async () => {
      const dl = rig.emu.state.addFolder(0, "Downloads");
      await load();
      await ready();
      const t = rig.emu.state.addTransfer({ url: magnet(10, "Film.2026"), saveParentId: dl.id });
      await rig.emu.advance(10_000);
      await until(() => received.length === 1, "the completion");
      const msg = received[0];
      assert.equal(msg.topic, "transfer/COMPLETED");
      assert.equal(msg.payload.id, t.id);
      assert.equal(typeof msg.fileId, "number");
      assert.match(msg.putioPath, /^\/Downloads\//);
      assert.equal(msg.file.id, msg.fileId, "put.io's object of the result goes along");
      assert.equal(typeof msg.file.name, "string");
      // It came from a socket hint (the transfer was re-read), not from a periodic reconcile.
      assert.ok(rig.emu.requests.some((r) => r.path === `/v2/transfers/${t.id}`));
      // A later reconcile (after a reconnect) does not send it again.
      const lists = rig.emu.requests.filter((r) => r.path === "/v2/transfers/list").length;
      rig.emu.dropSockets();
      await until(() => rig.emu.requests.filter((r) => r.path === "/v2/transfers/list").length > lists, "the reconcile after the reconnect");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(received.length, 1);
    });

    it("200 transfers, socket dropped at random moments: every completion sent exactly once", async function () {
      this.timeout(120_000);
      const rand = seeded(42);
      await load();
      await ready();
      const ids: number[] = [];
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 10; i++) ids.push(rig.emu.state.addTransfer({ url: magnet(1000 + ids.length) }).id);
        await rig.emu.advance(Math.floor(rand() * 6000));
        if (rand() < 0.4) rig.emu.dropSockets();
        if (rand() < 0.3) await new Promise((r) => setTimeout(r, Math.floor(rand() * 50)));
      }
      await rig.emu.advance(20_000);
      await until(() => received.length >= ids.length, `${ids.length} completions (have ${received.length})`);
      // One more reconnect and reconcile: still nothing sent twice.
      rig.emu.dropSockets();
      const lists = rig.emu.requests.filter((r) => r.path === "/v2/transfers/list").length;
      await until(() => rig.emu.requests.filter((r) => r.path === "/v2/transfers/list").length > lists, "one more reconcile");
      await new Promise((r) => setTimeout(r, 200));
      const sentIds = received.map((m) => m.payload.id);
      assert.equal(sentIds.length, ids.length);
      assert.deepEqual(
        [...new Set(sentIds)].sort((a, b) => a - b),
        [...ids].sort((a, b) => a - b),
      );
    });

    it("restarted with a persistent context: what finished while down is sent once, nothing is repeated", async () => {
      const disk = new Map<string, unknown>();
      const old = rig.emu.state.addTransfer({ url: magnet(20), status: "COMPLETED" });
      await load({}, disk);
      await ready();
      const a = rig.emu.state.addTransfer({ url: magnet(21) });
      await rig.emu.advance(10_000);
      await until(() => received.length === 1, "the first completion");
      assert.equal(received[0].payload.id, a.id, "a transfer finished before the very first start is not news");
      await nr.helper.unload();

      // Node-RED is down: two complete, one fails.
      const b = rig.emu.state.addTransfer({ url: magnet(22) });
      const c = rig.emu.state.addTransfer({ url: magnet(23) });
      const d = rig.emu.state.addTransfer({ url: "http://example.com/d-fail.iso" });
      await rig.emu.advance(10_000);

      await load({}, disk);
      await ready();
      await until(() => received.length === 3, "the three missed changes");
      assert.deepEqual(received.map((m) => m.payload.id).sort(), [b.id, c.id, d.id].sort());
      assert.equal(received.find((m) => m.payload.id === d.id).topic, "transfer/ERROR");
      assert.ok(!received.some((m) => m.payload.id === old.id || m.payload.id === a.id));
      const e = rig.emu.state.addTransfer({ url: magnet(24) });
      await rig.emu.advance(10_000);
      await until(() => received.length === 4, "the next completion");
      assert.equal(received[3].payload.id, e.id);
    });

    it("SEEDING counts as completed: one msg, not a second when it later completes", async () => {
      rig.emu.knobs.seedTorrents = true;
      await load();
      await ready();
      const t = rig.emu.state.addTransfer({ url: magnet(30) });
      await rig.emu.advance(10_000);
      await until(() => received.length === 1, "the seeding msg");
      assert.equal(received[0].topic, "transfer/SEEDING");
      rig.emu.state.setTransferStatus(t.id, "COMPLETED");
      const lists = rig.emu.requests.filter((r) => r.path === "/v2/transfers/list").length;
      rig.emu.dropSockets(); // force a reconcile too
      await until(() => rig.emu.requests.filter((r) => r.path === "/v2/transfers/list").length > lists, "the reconcile");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(received.length, 1);
    });

    it("filters by folder and name pattern", async () => {
      const movies = rig.emu.state.addFolder(0, "Movies");
      await load({ folder: "/Movies", namePattern: "keep" });
      await ready();
      rig.emu.state.addTransfer({ url: magnet(40, "keep.this"), saveParentId: movies.id });
      rig.emu.state.addTransfer({ url: magnet(41, "drop.this"), saveParentId: movies.id });
      rig.emu.state.addTransfer({ url: magnet(42, "keep.elsewhere") });
      await rig.emu.advance(10_000);
      await until(() => received.length >= 1, "the match");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(received.length, 1);
      assert.equal(received[0].payload.name, "keep.this");
    });

    it("polling mode sees completions without a socket", async function () {
      this.timeout(40_000);
      await load({ mode: "poll", intervalSeconds: "10" });
      await ready("poll");
      assert.equal(rig.emu.socketCount(), 0);
      const t = rig.emu.state.addTransfer({ url: magnet(50) });
      await rig.emu.advance(10_000);
      await until(() => received.length === 1, "the next poll");
      assert.equal(received[0].payload.id, t.id);
      await statusMatching("watch", (s) => /polling/.test(s.text ?? ""));
    });

    it("callback endpoint: a wrong secret is rejected (403), the right one triggers a re-read", async () => {
      await load({ mode: "poll", intervalSeconds: "3600", callback: true, callbackPath: "putio-cb" });
      await ready("poll");
      const t = rig.emu.state.addTransfer({ url: magnet(60) });
      await rig.emu.advance(10_000);
      await request(RED.httpNode).post("/putio-cb/wrong-secret").type("form").send({ id: t.id }).expect(403);
      assert.ok(!rig.emu.requests.some((r) => r.path === `/v2/transfers/${t.id}`));
      await request(RED.httpNode).post("/putio-cb/0123456789abcdef-secret").type("form").send({ id: t.id, name: "x" }).expect(200);
      await until(() => received.length === 1, "the callback's completion");
      assert.equal(received[0].payload.id, t.id);
      assert.ok(
        rig.emu.requests.some((r) => r.path === `/v2/transfers/${t.id}`),
        "the callback is only a hint: the transfer was re-read",
      );
    });

    it("a context store failing at start: the node tries again and then misses nothing", async function () {
      this.timeout(30_000);
      const disk = new Map<string, unknown>();
      let failures = 0;
      const store = diskStore(disk);
      const flaky = () => {
        const s = store();
        return {
          ...s,
          get(scope: string, key: string, cb: (err: Error | null, v?: unknown) => void) {
            if (failures > 0) {
              failures--;
              return void setImmediate(() => cb(new Error("disk not mounted yet")));
            }
            s.get(scope, key, cb);
          },
        };
      };
      const start = async () => {
        received.length = 0;
        rig.settings({ contextStorage: { default: { module: flaky } } });
        await nr.load(
          [() => nr.helper._context.load(), accountNode, watchNode],
          withTab([
            account(),
            { id: "watch", type: "putio-transfer-watch", account: "acc", mode: "socket", statuses: "COMPLETED", emitMissed: true, wires: [["out"]] },
            { id: "out", type: "helper" },
          ]),
          creds(),
        );
        nr.node("out").on("input", (m: any) => received.push(m));
      };
      await start();
      await ready();
      await nr.helper.unload();
      // Restart with the store failing its first read: the node must neither give up nor take
      // what completes meanwhile for history.
      failures = 1;
      await start();
      await statusMatching("watch", (s) => /disk not mounted/.test(s.text ?? ""));
      const t = rig.emu.state.addTransfer({ url: magnet(80) });
      await rig.emu.advance(10_000);
      await until(() => received.length === 1, "the completion after the retry");
      assert.equal(received[0].payload.id, t.id);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(received.length, 1);
    });

    it("under put.io's rate limit every completion is still sent exactly once", async function () {
      this.timeout(60_000);
      await load();
      await ready();
      rig.emu.knobs.rateLimit = { limit: 12, windowMs: 1000 };
      const before = rig.emu.requests.length;
      const ids: number[] = [];
      for (let i = 0; i < 12; i++) ids.push(rig.emu.state.addTransfer({ url: magnet(900 + i) }).id);
      await rig.emu.advance(10_000);
      rig.emu.dropSockets(); // a reconcile on top of the hints
      await until(() => received.length >= ids.length, "all completions");
      assert.ok(rig.emu.requests.length - before > 2 * 12, "the work spans several rate-limit windows (else this test proves nothing)");
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(
        received.map((m) => m.payload.id).sort((a, b) => a - b),
        ids,
      );
    });

    it("a callback without a transfer id (or with another id) still leads to the completion", async () => {
      await load({ mode: "poll", intervalSeconds: "3600", callback: true, callbackPath: "putio-cb" });
      await ready("poll");
      const t = rig.emu.state.addTransfer({ url: magnet(61) });
      await rig.emu.advance(10_000);
      const file = rig.emu.state.getTransfer(t.id)!.file_id;
      // The callback's fields are not documented (a known consumer reads only file_id and name): an id that is no transfer costs a reconcile.
      await request(RED.httpNode).post("/putio-cb/0123456789abcdef-secret").type("form").send({ id: 2147483000, file_id: file, name: "x" }).expect(200);
      await until(() => received.length === 1, "the completion");
      assert.equal(received[0].payload.id, t.id);
    });

    it("several watch nodes on one account share one socket and one reconcile", async () => {
      received.length = 0;
      await rig.load(
        [watchNode],
        [
          account(),
          { id: "watch", type: "putio-transfer-watch", account: "acc", mode: "socket", statuses: "COMPLETED", emitMissed: true, wires: [["out"]] },
          { id: "watch2", type: "putio-transfer-watch", account: "acc", mode: "socket", statuses: "COMPLETED", emitMissed: true, wires: [["out"]] },
          { id: "out", type: "helper" },
        ],
      );
      nr.node("out").on("input", (m: any) => received.push(m));
      await ready();
      rig.emu.state.addTransfer({ url: magnet(70) });
      await rig.emu.advance(10_000);
      await until(() => received.length === 2, "both nodes' msgs");
      assert.equal(rig.emu.socketCount(), 1);
    });
  });
});
