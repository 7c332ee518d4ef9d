/**
 * PutioSocket never stays "reconnecting" while waiting for nothing: a dial that cannot finish is
 * abandoned, a lost reconnect is found by the watchdog (reported, and a dial forced), and the
 * watcher keeps reading the list while the socket is down.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import net from "node:net";
import type { AddressInfo } from "node:net";
import FakeTimers from "@sinonjs/fake-timers";
import WebSocket from "ws";
import type { PutioClient } from "../lib/client";
import { PutioSocket, type SocketState } from "../lib/core/socket";
import { TransferWatcher, type WatchState } from "../lib/watch/watcher";

/** A dial that does whatever the test says, and nothing by itself (terminate() included). */
class FakeDial extends EventEmitter {
  readyState: number = WebSocket.CONNECTING;
  terminated = false;
  terminate(): void {
    this.terminated = true;
  }
  send(): void {}
  open(): void {
    this.readyState = WebSocket.OPEN;
    this.emit("open");
  }
  fail(code = 1006): void {
    this.readyState = WebSocket.CLOSED;
    this.emit("close", code);
  }
}

function fakeSocket(extra: Partial<ConstructorParameters<typeof PutioSocket>[0]> = {}) {
  const dials: FakeDial[] = [];
  const socket = new PutioSocket({
    url: "ws://putio.invalid/socket",
    token: () => "t0ken",
    baseDelayMs: 1000,
    maxDelayMs: 60_000,
    handshakeTimeoutMs: 10_000,
    random: () => 0,
    createWebSocket: () => {
      const d = new FakeDial();
      dials.push(d);
      return d as unknown as WebSocket;
    },
    ...extra,
  });
  const stalls: Error[] = [];
  socket.on("stalled", (e) => stalls.push(e));
  return { socket, dials, stalls };
}

/** Enough of a client for the watcher: an empty transfer list, counted. */
function listCounter() {
  const calls = { list: 0 };
  const client = {
    transfers: {
      // eslint-disable-next-line require-yield
      list: async function* () {
        calls.list++;
      },
    },
    transport: { closeSignal: undefined },
  } as unknown as PutioClient;
  return { client, calls };
}

describe("PutioSocket: no lost reconnect", function () {
  this.timeout(20_000);

  describe("against real servers", () => {
    let server: net.Server;
    const open = new Set<net.Socket>();
    afterEach(async () => {
      for (const s of open) s.destroy();
      open.clear();
      await new Promise((r) => server.close(r));
    });

    it("a server that trickles its handshake answer (never silent, never done) is given up on and redialled", async () => {
      // ws's handshake timeout counts only silence: a byte now and then holds the dial for ever.
      let connections = 0;
      server = net.createServer((c) => {
        connections++;
        open.add(c);
        c.on("error", () => {});
        c.write("HTTP/1.1 101 Switching Protocols\r\nX-Pad: ");
        const drip = setInterval(() => (c.destroyed ? clearInterval(drip) : c.write("a")), 20);
        c.on("close", () => clearInterval(drip));
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/socket`;
      const socket = new PutioSocket({ url, token: () => "t0ken", baseDelayMs: 10, maxDelayMs: 20, handshakeTimeoutMs: 200 });
      try {
        socket.start();
        // Bounded by mocha's timeout, not by a clock: the old code never dialled a second time.
        while (connections < 3) await new Promise((r) => setTimeout(r, 20));
        assert.notEqual(socket.state, "connected");
      } finally {
        socket.stop();
      }
    });

    it("a server that completes the handshake and closes without a close frame is redialled", async () => {
      let connections = 0;
      server = net.createServer((c) => {
        connections++;
        open.add(c);
        c.on("error", () => {});
        c.once("data", (d) => {
          const key = /sec-websocket-key: *(\S+)/i.exec(d.toString())?.[1] ?? "";
          const accept = require("node:crypto")
            .createHash("sha1")
            .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
            .digest("base64");
          c.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
          setTimeout(() => c.destroy(), 10);
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/socket`;
      const socket = new PutioSocket({ url, token: () => "t0ken", baseDelayMs: 10, maxDelayMs: 20 });
      const states: SocketState[] = [];
      socket.on("state", (s) => states.push(s));
      try {
        socket.start();
        while (connections < 3) await new Promise((r) => setTimeout(r, 20));
        assert.ok(states.filter((s) => s === "connected").length >= 2);
      } finally {
        socket.stop();
      }
    });
  });

  describe("with a fake clock", () => {
    let clock: FakeTimers.InstalledClock;
    beforeEach(() => {
      clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    });
    afterEach(() => clock.uninstall());

    it("a reconnect timer that is lost is found by the watchdog: reported once, and a dial forced", async () => {
      const { socket, dials, stalls } = fakeSocket();
      socket.start();
      assert.equal(dials.length, 1);
      dials[0].fail();
      assert.equal(socket.state, "reconnecting");
      // The fault: the pending reconnect never fires (a timer cleared and not re-armed).
      clearTimeout((socket as unknown as { timer: NodeJS.Timeout }).timer);
      await clock.tickAsync(120_000);
      assert.equal(dials.length, 1, "nothing redials by itself: the reconnect is lost");
      assert.equal(stalls.length, 0, "not yet past the bound (2 × 60 s + 10 s)");
      await clock.tickAsync(45_000); // the watchdog looks every 32.5 s
      assert.equal(stalls.length, 1);
      assert.match(stalls[0].message, /stalled/);
      assert.equal(dials.length, 2, "a dial was forced");
      dials[1].open();
      assert.equal(socket.state, "connected");
      await clock.tickAsync(600_000);
      assert.equal(stalls.length, 1);
      socket.stop();
    });

    it("a dial whose close never comes is abandoned after the handshake timeout and redialled", async () => {
      const { socket, dials, stalls } = fakeSocket();
      socket.start();
      await clock.tickAsync(10_000);
      assert.ok(dials[0].terminated);
      await clock.tickAsync(1_000);
      assert.equal(dials.length, 2);
      assert.equal(stalls.length, 0);
      socket.stop();
    });

    it("a connection gone silent is dropped and redialled even if its close never comes", async () => {
      const { socket, dials, stalls } = fakeSocket();
      socket.start();
      dials[0].open();
      assert.equal(socket.state, "connected");
      await clock.tickAsync(45_000);
      assert.ok(dials[0].terminated);
      assert.equal(socket.state, "reconnecting");
      await clock.tickAsync(1_000);
      assert.equal(dials.length, 2);
      assert.equal(stalls.length, 0);
      socket.stop();
    });

    it("a long outage with dials failing all along is no stall: backoff, never a watchdog report", async () => {
      const { socket, dials, stalls } = fakeSocket();
      socket.start();
      for (let t = 0; t < 30 * 60; t++) {
        const last = dials[dials.length - 1];
        if (last.readyState === WebSocket.CONNECTING && t % 7 === 0) last.fail();
        await clock.tickAsync(1000);
      }
      assert.equal(stalls.length, 0);
      assert.ok(dials.length >= 30, `dialled ${dials.length} times in 30 min`);
      socket.stop();
    });

    it("a dial that throws (a bad URL) does not throw out of start(): it is reported and tried again", async () => {
      let tries = 0;
      const socket = new PutioSocket({
        url: "ftp://nowhere",
        token: () => "t0ken",
        random: () => 0,
        createWebSocket: (url, t) => {
          tries++;
          return new WebSocket(url, { handshakeTimeout: t });
        },
      });
      const warnings: Error[] = [];
      socket.on("warning", (e) => warnings.push(e));
      socket.start();
      assert.equal(socket.state, "reconnecting");
      await clock.tickAsync(1000);
      assert.equal(tries, 2);
      assert.equal(warnings.length, 2);
      socket.stop();
    });

    it("a state listener that throws does not lose the reconnect", async () => {
      const { socket, dials } = fakeSocket();
      socket.on("state", (s) => {
        if (s === "reconnecting") throw new Error("listener bug");
      });
      const warnings: Error[] = [];
      socket.on("warning", (e) => warnings.push(e));
      socket.start();
      dials[0].fail();
      await clock.tickAsync(1000);
      assert.equal(dials.length, 2);
      assert.match(warnings[0].message, /listener bug/);
      socket.stop();
    });

    it("the watcher: a stall is reported and shown, and the list is read every minute while the socket is down", async () => {
      // The fake server never speaks: no idle drop while it is meant to be connected.
      const { socket, dials } = fakeSocket({ idleTimeoutMs: 3_600_000 });
      const { client, calls } = listCounter();
      const watcher = new TransferWatcher({ client, socket, intervalMs: 5 * 60_000 });
      const states: WatchState[] = [];
      const errors: Error[] = [];
      watcher.onState((s) => states.push(s));
      watcher.onError((e) => errors.push(e));
      watcher.start();
      dials[0].open();
      await clock.tickAsync(0);
      const connectedLists = calls.list;
      dials[0].fail();
      clearTimeout((socket as unknown as { timer: NodeJS.Timeout }).timer); // the lost reconnect
      await clock.tickAsync(3 * 60_000);
      assert.ok(calls.list - connectedLists >= 3, `read the list ${calls.list - connectedLists} times in 3 min while down`);
      assert.equal(watcher.state, "stalled");
      assert.equal(errors.length, 1);
      assert.equal(errors[0].name, "PutioSocketStalled");
      dials[dials.length - 1].open();
      await clock.tickAsync(0);
      assert.equal(watcher.state, "connected");
      // Back to the slow interval once connected (its one 5-minute tick falls in these 4 minutes).
      const before = calls.list;
      await clock.tickAsync(4 * 60_000);
      assert.equal(calls.list - before, 1);
      watcher.stop();
      socket.stop();
    });
  });
});
