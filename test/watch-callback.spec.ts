/**
 * putio-transfer-watch's callback endpoint under hostile requests: exactly one answer with the
 * right status, the secret and the 64 KiB limit applied before any body is read, and Node-RED
 * still alive (a valid callback works) afterwards.
 */
import assert from "node:assert/strict";
import express from "express";
import http from "node:http";
import net from "node:net";
import { nr, withTab } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";
import { nodeRedServer } from "./support/node-red-http";

const accountNode = require("../nodes/putio-account");
const watchNode = require("../nodes/putio-transfer-watch");

const SECRET = "0123456789abcdef-secret";
const PATH = "/putio-cb";

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

interface RawResult {
  /** The status of every response seen on the connection. */
  statuses: number[];
  text: string;
}

/**
 * One request on its own connection. `body` is sent as given; with `declaredLength` the request
 * announces that many bytes (and `body` may be fewer: the rest never comes). Resolves when the
 * server closes the connection (the request asks for that unless `keepAlive`), so every answer
 * it wrote is seen.
 */
function raw(
  port: number,
  path: string,
  contentType: string,
  body: Buffer,
  opts: { declaredLength?: number; chunked?: boolean; keepAlive?: boolean } = {},
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    sock.on("data", (d) => got.push(d));
    // Writes after the server refused the rest may fail: that is the point, not an error.
    sock.on("error", () => {});
    sock.on("close", () => {
      const text = Buffer.concat(got).toString("latin1");
      resolve({ statuses: [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1])), text });
    });
    const head = [`POST ${path} HTTP/1.1`, "Host: 127.0.0.1", `Content-Type: ${contentType}`];
    // Keep-alive: only a server that refuses the rest of the body closes the connection by itself.
    if (!opts.keepAlive) head.push("Connection: close");
    if (opts.chunked) head.push("Transfer-Encoding: chunked");
    else head.push(`Content-Length: ${opts.declaredLength ?? body.length}`);
    sock.write(head.join("\r\n") + "\r\n\r\n");
    if (opts.chunked) {
      // Chunks, but never the final one: an answer can only come from a server that stopped reading.
      for (let i = 0; i < body.length; i += 8192) {
        const part = body.subarray(i, i + 8192);
        sock.write(`${part.length.toString(16)}\r\n`);
        sock.write(part);
        sock.write("\r\n");
      }
    } else sock.write(body);
    sock.setTimeout(0);
    void reject;
  });
}

const HOSTILE: Array<{ name: string; type: string; body: string }> = [
  { name: "id[toString]=1 (form)", type: "application/x-www-form-urlencoded", body: "id[toString]=1" },
  { name: "id[]=1 (form)", type: "application/x-www-form-urlencoded", body: "id[]=1" },
  { name: "id=__proto__ (form)", type: "application/x-www-form-urlencoded", body: "id=__proto__" },
  { name: "__proto__[id]=1 (form)", type: "application/x-www-form-urlencoded", body: "__proto__[id]=1" },
  { name: "id=1&id=2 (form)", type: "application/x-www-form-urlencoded", body: "id=1&id=2" },
  { name: "id=-1 (form)", type: "application/x-www-form-urlencoded", body: "id=-1" },
  { name: "id=1e3 (form)", type: "application/x-www-form-urlencoded", body: "id=1e3" },
  { name: '{"id":{"toString":1}}', type: "application/json", body: '{"id":{"toString":1}}' },
  { name: '{"id":[1]}', type: "application/json", body: '{"id":[1]}' },
  { name: '{"id":-1}', type: "application/json", body: '{"id":-1}' },
  { name: '{"id":1e30}', type: "application/json", body: '{"id":1e30}' },
  { name: '{"id":1.5}', type: "application/json", body: '{"id":1.5}' },
  { name: '{"id":"1 "}', type: "application/json", body: '{"id":"1 "}' },
  { name: '{"__proto__":{"id":1}}', type: "application/json", body: '{"__proto__":{"id":1}}' },
  { name: '{"transfer_id":{"valueOf":1}}', type: "application/json", body: '{"transfer_id":{"valueOf":1}}' },
  { name: "a JSON array", type: "application/json", body: "[1]" },
  { name: "broken JSON", type: "application/json", body: '{"id":' },
];

describe("putio-transfer-watch callback endpoint @nr", function () {
  this.timeout(30_000);
  let RED: any;
  let server: http.Server;
  let port: number;
  const received: any[] = [];
  let uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  before(() => {
    // Mocha's own handler fails the test anyway; this one makes the cause part of our assertion.
    process.on("uncaughtException", onUncaught);
  });
  after(() => {
    process.off("uncaughtException", onUncaught);
  });

  beforeEach(() => {
    uncaught = [];
  });
  // Registered before the fixture's: the server in front of Node-RED closes first.
  afterEach(async () => {
    server?.closeAllConnections?.();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });
  const rig = useNodeRed();

  async function load(parsersInFront = false) {
    received.length = 0;
    const captureRed = (red: any) => {
      RED = red;
      // Someone's httpNodeMiddleware-like parsers in front of every route (qs-style nesting).
      if (parsersInFront) {
        RED.httpNode.set("env", "test"); // express logs the parser errors it answers otherwise
        RED.httpNode.use(express.json(), express.urlencoded({ extended: true }));
      }
    };
    await nr.load(
      [captureRed, accountNode, watchNode],
      withTab([
        rig.account({ name: "a" }),
        {
          id: "watch",
          type: "putio-transfer-watch",
          account: "acc",
          mode: "poll",
          intervalSeconds: "3600",
          statuses: "COMPLETED",
          emitMissed: true,
          callback: true,
          callbackPath: "putio-cb",
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ]),
      { acc: { accessToken: rig.emu.token }, watch: { callbackSecret: SECRET } },
    );
    nr.node("out").on("input", (m: any) => received.push(m));
    // Node-RED's default stack: the editor API's body parsers see the request first.
    const served = await nodeRedServer(() => RED);
    server = served.server;
    // No idle timeout of our own: a connection that closes did so because the handler refused the body.
    server.keepAliveTimeout = 0;
    server.requestTimeout = 0;
    port = served.port;
    await until(() => rig.emu.requests.some((r) => r.path === "/v2/transfers/list" && r.status === 200));
    await new Promise((r) => setTimeout(r, 50)); // the node finishes priming after the list is answered
  }

  /** A valid callback still leads to the transfer's msg: the runtime and the route are alive. */
  async function stillAlive() {
    const t = rig.emu.state.addTransfer({ url: "http://example.com/alive.iso" });
    await rig.emu.advance(10_000);
    const res = await raw(port, `${PATH}/${SECRET}`, "application/x-www-form-urlencoded", Buffer.from(`id=${t.id}&name=x`));
    assert.deepEqual(res.statuses, [200]);
    await until(() => received.some((m) => m.payload.id === t.id));
    assert.deepEqual(uncaught, []);
  }

  for (const parsersInFront of [false, true]) {
    const label = parsersInFront ? " (a user's body parsers in httpNode too)" : "";
    it(`each hostile id gets exactly one 400 and costs no request${label}`, async () => {
      await load(parsersInFront);
      const before = rig.emu.requests.length;
      // qs drops __proto__ keys itself: behind it that body names no id (and costs a list read).
      for (const h of HOSTILE.filter((x) => !(parsersInFront && x.body.startsWith("__proto__")))) {
        const res = await raw(port, `${PATH}/${SECRET}`, h.type, Buffer.from(h.body));
        assert.deepEqual(res.statuses, [400], `${h.name}: ${res.text}`);
      }
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(uncaught, []);
      assert.equal(rig.emu.requests.length, before, "a refused callback triggers nothing");
      assert.equal(({} as any).id, undefined, "no prototype was touched");
      await stillAlive();
    });
  }

  it("plain ids are accepted: a digit string, a number, transfer_id, and no id at all (the list is read)", async () => {
    await load();
    const ok = [
      ["application/x-www-form-urlencoded", "id=42"],
      ["application/json", '{"id":42}'],
      ["application/json", '{"transfer_id":"42"}'],
      ["application/x-www-form-urlencoded", "file_id=7&name=x"],
      ["application/x-www-form-urlencoded", ""],
    ];
    for (const [type, body] of ok) assert.deepEqual((await raw(port, `${PATH}/${SECRET}`, type, Buffer.from(body))).statuses, [200], body);
    await stillAlive();
  });

  it("a wrong secret, of any length, is refused (403) before the body is read, even a 5 MB one", async () => {
    await load();
    const before = rig.emu.requests.length;
    for (const wrong of ["x", "0123456789abcdef-secreT", "0123456789abcdef-secret-and-more", "%E2%82%AC"]) {
      assert.deepEqual((await raw(port, `${PATH}/${wrong}`, "application/json", Buffer.from('{"id":1}'))).statuses, [403], wrong);
    }
    // 5 MB announced, 64 KiB sent, the rest never: the answer comes, and the server closes the
    // connection instead of waiting for (and swallowing) the remaining megabytes.
    const res = await raw(port, `${PATH}/wrong-secret-here!`, "application/json", Buffer.alloc(64 * 1024, 0x20), {
      declaredLength: 5 * 1024 * 1024,
      keepAlive: true,
    });
    assert.deepEqual(res.statuses, [403]);
    assert.match(res.text, /^connection: close\r$/im);
    assert.equal(rig.emu.requests.length, before);
    await stillAlive();
  });

  it("a body over 64 KiB is refused (413) without reading it all, announced or chunked", async () => {
    await load();
    const big = Buffer.alloc(65 * 1024 + 1, 0x61);
    // Announced: 413 from the length alone (only a part is ever sent).
    const announced = await raw(port, `${PATH}/${SECRET}`, "application/x-www-form-urlencoded", big.subarray(0, 1024), {
      declaredLength: 5 * 1024 * 1024,
      keepAlive: true,
    });
    assert.deepEqual(announced.statuses, [413]);
    // Announced and sent in full.
    const full = await raw(port, `${PATH}/${SECRET}`, "application/x-www-form-urlencoded", big);
    assert.deepEqual(full.statuses, [413]);
    // Chunked, never finished: the answer comes once 64 KiB are passed.
    const chunked = await raw(port, `${PATH}/${SECRET}`, "application/json", big, { chunked: true, keepAlive: true });
    assert.deepEqual(chunked.statuses, [413]);
    // 200 KB naming an id, as a form and as JSON (both types Node-RED's own parsers read up to 5 MB): refused, no request.
    const before = rig.emu.requests.length;
    const pad = "a".repeat(200 * 1024);
    assert.deepEqual((await raw(port, `${PATH}/${SECRET}`, "application/x-www-form-urlencoded", Buffer.from(`id=1&pad=${pad}`))).statuses, [413]);
    assert.deepEqual((await raw(port, `${PATH}/${SECRET}`, "application/json", Buffer.from(JSON.stringify({ id: 1, pad })))).statuses, [413]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rig.emu.requests.length, before, "a refused callback costs put.io nothing");
    await stillAlive();
  });
});
