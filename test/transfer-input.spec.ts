/** What putio-transfer-add accepts (lib/domains/transfer-input) and how the shared socket redials (lib/core/socket). */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import FakeTimers from "@sinonjs/fake-timers";
import { WebSocketServer } from "ws";
import { PutioSocket } from "../lib/core/socket";
import { magnetProblem, parseTransferItems, torrentProblem, transferIdsOf, urlProblem } from "../lib/domains/transfer-input";

const HEX = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

describe("transfer input checks", () => {
  it("magnets: 40 hex or 32 base32 btih, or a v2 btmh; anything else is named", () => {
    assert.equal(magnetProblem(`magnet:?xt=urn:btih:${HEX}&dn=x`), null);
    assert.equal(magnetProblem(`magnet:?xt=urn:btih:${HEX.toUpperCase()}`), null);
    assert.equal(magnetProblem(`magnet:?dn=x&xt=urn:btih:${"MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"}`), null);
    assert.equal(magnetProblem(`magnet:?xt=urn:btmh:1220${"ab".repeat(32)}`), null);
    assert.match(magnetProblem(`magnet:?xt=urn:btih:${HEX.slice(1)}`)!, /40 hex or 32 base32/);
    assert.match(magnetProblem(`magnet:?xt=urn:btih:${"1".repeat(32)}`)!, /40 hex or 32 base32/, "1 is not a base32 digit");
    assert.match(magnetProblem("magnet:?dn=only-a-name")!, /no xt/);
  });

  it("URLs: http, https and ftp with a host", () => {
    for (const ok of ["http://a.example/x", "https://a.example/x?y=1", "ftp://a.example/f.iso"]) assert.equal(urlProblem(ok), null, ok);
    assert.match(urlProblem("file:///etc/passwd")!, /not file:/);
    assert.match(urlProblem("javascript:alert(1)")!, /not javascript:/);
    assert.match(urlProblem("example.com/x")!, /not a URL/);
  });

  it("torrents: a bencoded dictionary with an info dictionary", () => {
    assert.equal(torrentProblem(Buffer.from("d4:infod4:name1:aee")), null);
    assert.match(torrentProblem(Buffer.from("<html>not a torrent</html>"))!, /not a \.torrent/);
    assert.match(torrentProblem(Buffer.from("d3:foo3:bare"))!, /no info dictionary/);
    assert.match(torrentProblem(Buffer.alloc(0))!, /not a \.torrent/);
  });

  it("a payload splits into items: lines, arrays, buffers; blank lines and comments skipped, bad ones kept apart", () => {
    const { items, rejected } = parseTransferItems([
      `magnet:?xt=urn:btih:${HEX}\r\n\n# comment\nhttps://a.example/x`,
      Buffer.from("d4:infod4:name1:aee"),
      42,
      "nope",
    ]);
    assert.deepEqual(
      items.map((i) => i.kind),
      ["magnet", "url", "torrent"],
    );
    assert.deepEqual(
      rejected.map((r) => r.input),
      ["42", "nope"],
    );
    // Nested arrays are not flattened: an item that is itself a list is refused, not guessed at.
    assert.equal(parseTransferItems([["https://a.example/x"]]).rejected.length, 1);
  });

  it("transfer ids: numbers, digit strings, CSV, transfer objects, arrays; junk is refused", () => {
    assert.deepEqual(transferIdsOf([1, "2", { id: 3 }, 3], "t"), [1, 2, 3]);
    assert.deepEqual(transferIdsOf("4,5", "t"), [4, 5]);
    assert.deepEqual(transferIdsOf(undefined, "t"), []);
    assert.throws(() => transferIdsOf("abc", "t"), /not a transfer id/);
    assert.throws(() => transferIdsOf(-1, "t"), /not a transfer id/);
  });
});

describe("PutioSocket redialling", () => {
  /** The delay of the one pending reconnect timer. */
  function pendingDelay(clock: FakeTimers.InstalledClock): number {
    const timers = Object.values((clock as unknown as { timers?: Record<string, { callAt: number }> }).timers ?? {});
    assert.ok(timers.length >= 1, "a reconnect is scheduled");
    return Math.min(...timers.map((t) => t.callAt)) - clock.now;
  }

  async function connections(server: WebSocketServer, n: number): Promise<void> {
    await new Promise<void>((resolve) => {
      let left = n;
      const on = () => {
        if (--left === 0) {
          server.off("connection", on);
          resolve();
        }
      };
      server.on("connection", on);
    });
  }

  it("a server that accepts and drops at once is redialled with growing delays; one that speaks resets them", async () => {
    let speak = false;
    const server = new WebSocketServer({ port: 0 });
    server.on("connection", (ws) => {
      if (speak) ws.send(JSON.stringify({ type: "transfers_count", value: 1 }));
      // Closed after the token arrives, like put.io does after an error.
      ws.once("message", () => setImmediate(() => ws.close(1011)));
    });
    await new Promise((r) => server.once("listening", r));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout"] });
    const socket = new PutioSocket({ url, token: () => "t0ken", baseDelayMs: 100, maxDelayMs: 1600, random: () => 1 });
    const closes: Array<() => void> = [];
    socket.on("state", (s) => s === "reconnecting" && closes.splice(0).forEach((f) => f()));
    const nextClose = () => new Promise<void>((resolve) => closes.push(resolve));
    try {
      const delays: number[] = [];
      let closed = nextClose();
      socket.start();
      for (let i = 0; i < 6; i++) {
        await closed;
        await new Promise((r) => setImmediate(r));
        delays.push(pendingDelay(clock));
        closed = nextClose();
        if (i === 5) speak = true;
        const connected = connections(server, 1);
        clock.tick(delays[delays.length - 1]);
        await connected;
      }
      assert.deepEqual(delays, [100, 200, 400, 800, 1600, 1600]);

      await closed;
      await new Promise((r) => setImmediate(r));
      assert.equal(pendingDelay(clock), 100, "a connection that delivered a frame starts the backoff over");
    } finally {
      socket.stop();
      clock.uninstall();
      await new Promise((r) => server.close(r));
    }
  });
});
