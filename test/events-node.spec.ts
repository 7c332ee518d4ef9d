/** putio-events: read, filter, clear, and watch the history (each event once, across restarts). */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import FakeTimers from "@sinonjs/fake-timers";
import { recordEvent } from "./emulator/routes-events";
import { catchAll, nextMessage, nr, withTab } from "./nr";
import { outcomeOf, useNodeRed } from "./support/node-red-fixture";
import { diskStore } from "./support/disk-store";

const accountNode = require("../nodes/putio-account");
/** Real time, for waiting on real I/O while the node's timers run on a fake clock. */
const realSetTimeout = setTimeout;
const realSleep = (ms: number) => new Promise((r) => realSetTimeout(r, ms));
const eventsNode = require("../nodes/putio-events");
const watchNode = require("../nodes/putio-transfer-watch");
const infoNode = require("../nodes/putio-account-info");
const syncNode = require("../nodes/putio-sync");

describe("putio-events node @nr", function () {
  const rig = useNodeRed();

  const completed = (name: string) => rig.emu.state.addTransfer({ url: `http://example.com/${name}.bin`, status: "COMPLETED" });
  const failed = (name: string) => rig.emu.state.addTransfer({ url: `http://example.com/${name}-fail.bin`, status: "ERROR" });

  async function load(cfg: object, opts: { disk?: Map<string, unknown>; token?: string } = {}) {
    const flow = withTab([
      rig.account(),
      {
        id: "ev",
        type: "putio-events",
        account: "acc",
        action: "list",
        types: "",
        sinceHours: "",
        max: "100",
        pollSeconds: "0",
        useSocket: false,
        emitExisting: false,
        store: "",
        ...cfg,
        wires: [["out"], ["trouble"]],
      },
      catchAll("c", "caught"),
      { id: "done", type: "complete", scope: ["ev"], uncaught: false, wires: [["completed"]] },
      { id: "out", type: "helper" },
      { id: "trouble", type: "helper" },
      { id: "caught", type: "helper" },
      { id: "completed", type: "helper" },
    ]);
    const modules: unknown[] = [accountNode, eventsNode];
    if (opts.disk) {
      rig.settings({ contextStorage: { default: { module: diskStore(opts.disk) } } });
      // Load the configured store before the flows start, as Node-RED does at startup.
      modules.unshift(() => nr.helper._context.load());
    }
    await nr.load(modules, flow, { acc: { accessToken: opts.token ?? rig.emu.token } });
  }

  /**
   * Fake time forward in steps of 20 s. Before each step the socket hears a frame, so its silence
   * timer (on the fake clock too) never fires; after it, a check the step started ends on real I/O
   * (no new request for 20 ms of real time) before time moves on.
   */
  async function idleFor(clock: FakeTimers.InstalledClock, socket: any, ms: number): Promise<void> {
    for (let left = ms; left > 0; left -= 20_000) {
      const heard = new Promise((r) => socket.once("event", r));
      rig.emu.pushSocketEvent(rig.emu.token, "test_keepalive", null);
      await heard;
      await clock.tickAsync(Math.min(20_000, left));
      for (let before = -1; before !== rig.emu.requests.length;) {
        before = rig.emu.requests.length;
        await realSleep(20);
      }
    }
  }

  const send = (msg: object): Promise<any> => outcomeOf("ev", msg);

  it("lists the history newest first, filtered by type, since a time and capped", async () => {
    completed("a");
    failed("b");
    rig.emu.state.addFile(0, "x.txt", Buffer.from("x"));
    await rig.emu.advance(3_600_000); // an hour later
    completed("c");
    await load({ types: "transfer_*", max: "10" });
    const all = (await send({})).payload;
    assert.deepEqual(
      all.map((e: any) => e.type),
      ["transfer_completed", "transfer_error", "transfer_completed"],
    );
    assert.equal(all[0].transfer_name, "c.bin");
    const recent = (await send({ since: new Date(rig.emu.state.now() - 60_000) })).payload;
    assert.deepEqual(
      recent.map((e: any) => e.transfer_name),
      ["c.bin"],
    );
    await nr.helper.unload();
    await load({ types: "transfer_error" });
    assert.deepEqual(
      (await send({})).payload.map((e: any) => e.type),
      ["transfer_error"],
    );
    await nr.helper.unload();
    await load({ max: "2" });
    assert.equal((await send({})).payload.length, 2);
    assert.match((await send({ since: "yesterday-ish" })).caught.error.message, /msg.since must be a date/);
  });

  it("clears one event or all", async () => {
    completed("a");
    completed("b");
    await load({ action: "clear" });
    const [newest] = (await fetch(`${rig.emu.apiUrl}/v2/events/list`, { headers: { Authorization: `token ${rig.emu.token}` } }).then((r) => r.json())).events;
    assert.deepEqual((await send({ eventId: newest.id })).payload, { deleted: newest.id });
    const left = (await fetch(`${rig.emu.apiUrl}/v2/events/list`, { headers: { Authorization: `token ${rig.emu.token}` } }).then((r) => r.json())).events;
    assert.equal(left.length, 1);
    assert.deepEqual((await send({})).payload, { cleared: true });
    const none = (await fetch(`${rig.emu.apiUrl}/v2/events/list`, { headers: { Authorization: `token ${rig.emu.token}` } }).then((r) => r.json())).events;
    assert.deepEqual(none, []);
  });

  it("a third-party app token may not clear: a clear invalid_scope error, and the account stays usable", async () => {
    const code = (await fetch(`${rig.emu.apiUrl}/v2/oauth2/oob/code?app_id=4242`).then((r) => r.json())).code;
    rig.emu.approveDeviceCode(code);
    const token = (await fetch(`${rig.emu.apiUrl}/v2/oauth2/oob/code/${code}`).then((r) => r.json())).oauth_token;
    await load({ action: "clear" }, { token });
    const err = (await send({})).caught;
    assert.match(err.error.message, /invalid_scope/);
    assert.match(err.error.message, /only to its own apps/);
    assert.equal((nr.node("acc") as any).state, "ready");
  });

  it("watch: each new event once, oldest first, also across a restart with a persistent context store", async () => {
    const disk = new Map<string, unknown>();
    const sent: any[] = [];
    const check = async () => {
      const finished = nextMessage("completed");
      nr.node("ev").receive({ payload: "check" });
      await finished;
    };
    completed("old");
    await load({ action: "watch", types: "transfer_completed, upload" }, { disk });
    nr.node("out").on("input", (m: any) => sent.push(m));
    await check(); // the first start notes where the history stands: "old" is not sent
    assert.equal(sent.length, 0);
    assert.equal(typeof [...disk.values()][0], "number", "the last id is in the persistent store");

    completed("one");
    failed("skipped-by-type");
    completed("two");
    await check();
    assert.deepEqual(
      sent.map((m) => m.payload.transfer_name),
      ["one.bin", "two.bin"],
    );
    assert.equal(sent[0].topic, "putio/event/transfer_completed");
    await check();
    assert.equal(sent.length, 2, "nothing is sent twice");

    // Restart: a new runtime start reads the last id back from the store.
    await nr.helper.unload();
    await load({ action: "watch", types: "transfer_completed, upload" }, { disk });
    nr.node("out").on("input", (m: any) => sent.push(m));
    await check();
    assert.equal(sent.length, 2, "nothing is sent again after the restart");
    completed("three");
    await check();
    assert.deepEqual(
      sent.map((m) => m.payload.transfer_name),
      ["one.bin", "two.bin", "three.bin"],
    );
  });

  it("watch with emitExisting sends the existing history on the first start", async () => {
    completed("old1");
    completed("old2");
    await load({ action: "watch", emitExisting: true });
    const got: any[] = [];
    nr.node("out").on("input", (m: any) => got.push(m));
    const finished = nextMessage("completed");
    nr.node("ev").receive({});
    await finished;
    assert.deepEqual(
      got.map((m) => m.payload.transfer_name),
      ["old1.bin", "old2.bin"],
    );
  });

  it("trouble to output 2: failed transfers and callbacks, paused RSS filters, RSS files deleted for space; the rest on output 1", async () => {
    const user = rig.emu.state.defaultUserId;
    completed("fine");
    recordEvent(rig.emu.state, user, "transfer_error", { source: "magnet:?x", transfer_name: "broken" });
    recordEvent(rig.emu.state, user, "transfer_callback_error", { transfer_id: 1, transfer_name: "fine", message: "HTTP 500" });
    recordEvent(rig.emu.state, user, "rss_filter_paused", { rss_filter_id: 3, rss_filter_title: "Shows" });
    recordEvent(rig.emu.state, user, "zip_created", { zip_id: 4, zip_size: 10 });
    recordEvent(rig.emu.state, user, "file_from_rss_deleted_for_space", { file_id: 5, file_name: "old.mkv", file_size: 1, file_source: "rss" });
    // Reading: one msg each way.
    await load({ troubleOutput: true });
    const troubleMsg = nextMessage("trouble");
    const read = await send({});
    assert.deepEqual(
      read.payload.map((e: any) => e.type),
      ["zip_created", "transfer_completed"],
    );
    assert.deepEqual(
      (await troubleMsg).payload.map((e: any) => e.type),
      ["file_from_rss_deleted_for_space", "rss_filter_paused", "transfer_callback_error", "transfer_error"],
    );
    // Watching: each event to its output, oldest first.
    await nr.helper.unload();
    await load({ action: "watch", emitExisting: true, troubleOutput: true });
    const ok: string[] = [];
    const bad: string[] = [];
    nr.node("out").on("input", (m: any) => ok.push(m.payload.type));
    nr.node("trouble").on("input", (m: any) => bad.push(m.payload.type));
    const finished = nextMessage("completed");
    nr.node("ev").receive({});
    await finished;
    assert.deepEqual(ok, ["transfer_completed", "zip_created"]);
    assert.deepEqual(bad, ["transfer_error", "transfer_callback_error", "rss_filter_paused", "file_from_rss_deleted_for_space"]);
  });

  it("watch through the socket: a finished transfer's push triggers the check", async () => {
    await load({ action: "watch", useSocket: true, pollSeconds: "0" });
    const disk = (nr.node("ev") as any).context();
    // Wait until the socket is up and the first start has noted the history (both asynchronous).
    while (rig.emu.socketCount() === 0 || disk.get("putio-events-last-id") === undefined) await new Promise((r) => setTimeout(r, 5));
    const got = nextMessage("out");
    rig.emu.state.addTransfer({ url: "http://example.com/pushed.bin" });
    await rig.emu.advance(6000);
    const msg = await got;
    assert.equal(msg.payload.type, "transfer_completed");
    assert.equal(msg.payload.transfer_name, "pushed.bin");
  });

  it("watch with the socket up: a check a moment after a push (one per burst) and one more later, else hourly; events put.io pushes nothing for still arrive", async function () {
    this.timeout(120_000);
    // The node's timers on a clock that runs with real time until the test moves it on.
    const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "Date"], shouldAdvanceTime: true });
    try {
      await load({ action: "watch", useSocket: true, pollSeconds: "60" });
      const ctx = (nr.node("ev") as any).context();
      const socket = (nr.node("acc") as any).socket();
      while (socket.state !== "connected" || ctx.get("putio-events-last-id") === undefined) await realSleep(5);
      const lists = () => rig.emu.requests.filter((r) => r.path === "/v2/events/list").length;
      const sent: string[] = [];
      nr.node("out").on("input", (m: any) => sent.push(m.payload.transfer_name ?? m.payload.type));
      const idle = (ms: number) => idleFor(clock, socket, ms);
      const settle = async (want: number) => {
        for (let i = 0; i < 500 && sent.length < want; i++) await realSleep(10);
      };

      // A burst of pushes: one check after it.
      const atPush = lists();
      const heard = new Promise((r) => socket.on("event", (e: any) => e.type === "transfer_create" && sent.length === 0 && r(e)));
      completed("one");
      completed("two");
      completed("three");
      await heard;
      await idle(2_000);
      await settle(3);
      assert.deepEqual(sent, ["one.bin", "two.bin", "three.bin"]);
      assert.equal(lists() - atPush, 1, "one check for the burst");

      // An event put.io pushes nothing for (an RSS item that failed), written a moment after the push.
      recordEvent(rig.emu.state, rig.emu.state.defaultUserId, "transfer_from_rss_error", { rss_id: 1, transfer_name: "late" });
      // The check one interval after the push finds it.
      await idle(60_000);
      await settle(4);
      assert.deepEqual(sent, ["one.bin", "two.bin", "three.bin", "late"]);
      assert.equal(lists() - atPush, 2, "one more check, the node's interval after the push");

      // An idle hour with the socket up: one check (the 60 s poll made 60).
      const atIdle = lists();
      recordEvent(rig.emu.state, rig.emu.state.defaultUserId, "rss_filter_paused", { rss_filter_id: 3, rss_filter_title: "Shows" });
      await idle(3_600_000);
      assert.equal(lists() - atIdle, 1, "one check in an idle hour");
      assert.deepEqual(sent.slice(4), ["rss_filter_paused"], "the event without a push arrives with the slow poll");
    } finally {
      clock.uninstall();
    }
  });

  it("a full flow idle for an hour with the socket up (watch, events, account info, live sync): at most 15 put.io requests", async function () {
    this.timeout(120_000);
    const media = rig.emu.state.addFolder(0, "Media");
    rig.emu.state.addFile(media.id, "a.mkv", Buffer.from("a"));
    completed("old");
    const target = fs.mkdtempSync(path.join(os.tmpdir(), "putio-idle-"));
    const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"], shouldAdvanceTime: true });
    try {
      await rig.load(
        [watchNode, eventsNode, infoNode, syncNode],
        [
          rig.account(),
          // Each with its editor defaults.
          {
            id: "watch",
            type: "putio-transfer-watch",
            account: "acc",
            mode: "socket",
            intervalSeconds: "",
            statuses: "COMPLETED",
            emitMissed: true,
            wires: [[]],
          },
          {
            id: "ev",
            type: "putio-events",
            account: "acc",
            action: "watch",
            types: "",
            pollSeconds: "60",
            useSocket: true,
            emitExisting: false,
            max: "1000",
            wires: [[], []],
          },
          { id: "info", type: "putio-account-info", account: "acc", thresholdGb: "", includeSettings: false, wires: [[], [], []] },
          {
            id: "sync",
            type: "putio-sync",
            account: "acc",
            folder: "/Media",
            folderType: "str",
            target,
            targetType: "str",
            live: true,
            reconcileMinutes: "120",
            wires: [[]],
          },
        ],
      );
      const socket = (nr.node("acc") as any).socket();
      // Settled: the socket up, the start-up reads done and nothing asked for a while.
      for (let last = -1; socket.state !== "connected" || rig.emu.requests.length !== last;) {
        last = rig.emu.requests.length;
        await realSleep(1000);
      }
      assert.ok(fs.existsSync(path.join(target, "a.mkv")), "the sync ran");
      const settled = rig.emu.requests.length;
      await idleFor(clock, socket, 3_600_000);
      const hour = rig.emu.requests.slice(settled).map((r) => r.path);
      assert.ok(hour.length <= 15, `${hour.length} requests in an idle hour: ${hour.join(", ")}`);
      assert.ok(hour.includes("/v2/events/list"), "the history is still read in an idle hour");
    } finally {
      clock.uninstall();
      fs.rmSync(target, { recursive: true, force: true });
    }
  });

  it("a failing background check (here a socket-triggered one) reaches a Catch node", async () => {
    await load({ action: "watch", useSocket: true, pollSeconds: "0" });
    const ctx = (nr.node("ev") as any).context();
    while (rig.emu.socketCount() === 0 || ctx.get("putio-events-last-id") === undefined) await new Promise((r) => setTimeout(r, 5));
    rig.emu.knobs.captchaNeeded = true;
    const caught = nextMessage("caught");
    rig.emu.pushSocketEvent(rig.emu.token, "zip_created", { id: 1 });
    const err = await caught;
    assert.match(err.error.message, /captcha/);
    assert.equal(err.error.source.id, "ev");
  });
});
