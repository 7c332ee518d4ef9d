/**
 * putio-transmission behind Node-RED's default HTTP stack (admin and node roots both "/": the
 * editor API's JSON and urlencoded parsers, 5 MB, see every request first). Debian's
 * transmission-remote sends its JSON as a form, a season pack's .torrent is over 5 MB, a client may
 * send broken JSON: every answer must be the endpoint's own, as on a bare server.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import express from "express";
import { encodeBencode } from "../lib/transmission/sources";
import { nr } from "./nr";
import { ArrRpcClient, until, untilReady, withHttpNode } from "./support/transmission-rpc";
import { transmissionFixture } from "./support/transmission-fixture";

const run = promisify(execFile);
const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));

const USER = "arr";
const PASS = "arr-password-1";

/** A real-shaped .torrent of about `mb` MB (its piece list), and its name. */
function bigTorrent(name: string, mb: number): Buffer {
  const pieces = Math.ceil((mb * 1024 * 1024) / 20);
  const info = { name, "piece length": 16_384, length: pieces * 16_384, pieces: Buffer.alloc(20 * pieces, 3) };
  return Buffer.from(encodeBencode({ announce: "http://tracker.invalid/announce", info }));
}

describe("putio-transmission behind Node-RED's default body parsers @nr", function () {
  this.timeout(90_000);
  const f = transmissionFixture("putio-trh-");
  let RED: any;

  async function load(extra?: (red: any) => void) {
    const capture = (red: any) => {
      RED = red;
      extra?.(red);
    };
    const flow = [f.account(), { id: "trn", type: "putio-transmission", account: "acc", downloadDir: f.work, wires: [[]] }];
    await f.load([capture, transmissionNode], flow, { ...f.creds(), trn: { username: USER, password: PASS } });
    await untilReady(new ArrRpcClient(rpcUrl(), USER, PASS));
  }

  const rpcUrl = () => `${f.server.url}/transmission/rpc`;

  async function post(body: string | Buffer, contentType: string, sessionId: string) {
    const res = await fetch(rpcUrl(), {
      method: "POST",
      headers: {
        Authorization: "Basic " + Buffer.from(`${USER}:${PASS}`).toString("base64"),
        "X-Transmission-Session-Id": sessionId,
        "Content-Type": contentType,
      },
      body: typeof body === "string" ? body : new Uint8Array(body),
    });
    return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
  }

  it("Debian's transmission-remote: add a 6 MB .torrent, list, info, remove with its data", async () => {
    await load();
    const file = path.join(f.work, "Season.Pack.S01.1080p.torrent");
    fs.writeFileSync(file, bigTorrent("Season.Pack.S01.1080p", 6));
    assert.ok(fs.statSync(file).size > 6 * 1024 * 1024 - 1024);
    const host = f.server.url.replace(/^http:\/\//, "") + "/transmission/rpc";
    const tr = (...args: string[]) => run("transmission-remote", [host, "-n", `${USER}:${PASS}`, ...args], { timeout: 30_000, maxBuffer: 1 << 20 });
    const added = await tr("-a", file, "-w", path.join(f.work, "tv"));
    assert.match(added.stdout + added.stderr, /success/);
    await f.emu.advance(8000);
    const c = new ArrRpcClient(rpcUrl(), USER, PASS);
    await until(
      "on disk",
      () => c.call("torrent-get", { fields: ["isFinished"] }),
      (a) => a.torrents[0]?.isFinished === true,
    );
    const list = await tr("-l");
    assert.match(list.stdout, /Season\.Pack\.S01\.1080p/);
    assert.match(list.stdout, /100%/);
    const info = await tr("-t", "1", "-i");
    assert.match(info.stdout, /Name: Season\.Pack\.S01\.1080p/);
    assert.match(info.stdout, /Location: .*\/tv/);
    const onDisk = path.join(f.work, "tv", "Season.Pack.S01.1080p");
    assert.ok(fs.existsSync(onDisk));
    const removed = await tr("-t", "1", "--remove-and-delete");
    assert.match(removed.stdout + removed.stderr, /success/);
    assert.equal(fs.existsSync(onDisk), false);
    assert.doesNotMatch((await tr("-l")).stdout, /Season\.Pack/);
  });

  it("@ctrl/transmission adds a 6 MB .torrent (a body over the parsers' 5 MB)", async () => {
    await load();
    const { Transmission } = require("@ctrl/transmission") as typeof import("@ctrl/transmission");
    const client = new Transmission({ baseUrl: f.server.url, username: USER, password: PASS, timeout: 30_000 });
    const added = await client.addTorrent(new Uint8Array(bigTorrent("Big.Pack.2026", 6)), { "download-dir": `${f.work}/movies` } as never);
    assert.equal(added.result, "success");
    assert.equal(added.arguments["torrent-added"]?.name, "Big.Pack.2026");
  });

  it("malformed JSON (as JSON or as a form) gets a JSON RPC answer; a body over the endpoint's limit a JSON 413; the endpoint keeps answering", async () => {
    await load();
    const c = new ArrRpcClient(rpcUrl(), USER, PASS);
    await c.authenticate();
    for (const type of ["application/json", "application/x-www-form-urlencoded", "text/plain"]) {
      const res = await post('{"method":"torrent-get","arguments":{"fields":["id"]', type, c.sessionId!);
      assert.equal(res.status, 200, `${type}: ${res.text.slice(0, 300)}`);
      assert.match(res.type, /application\/json/);
      assert.match(JSON.parse(res.text).result, /invalid JSON/);
    }
    // A form-typed body whose JSON is full of what a form parser would split or nest.
    const tricky = JSON.stringify({ method: "session-set", arguments: { "script-torrent-done-filename": "a&b=c[d]+%20e" }, tag: 9 });
    const set = await post(tricky, "application/x-www-form-urlencoded", c.sessionId!);
    assert.deepEqual(JSON.parse(set.text), { result: "success", arguments: {}, tag: 9 });
    assert.equal((await c.call("session-get"))["script-torrent-done-filename"], "a&b=c[d]+%20e", "the exact bytes were read");
    const huge = await post(Buffer.alloc(33 * 1024 * 1024, 0x20), "application/json", c.sessionId!);
    assert.equal(huge.status, 413);
    assert.match(huge.type, /application\/json/);
    assert.match(JSON.parse(huge.text).result, /too large/);
    assert.equal((await c.call("session-stats")).torrentCount, 0);
  });

  it("a user's body parser in front of httpNode (httpNodeMiddleware) does not reach the route either; the editor API's own routes keep their parsers", async () => {
    await load((red) => red.httpNode.use(express.urlencoded({ extended: true }), express.json()));
    const c = new ArrRpcClient(rpcUrl(), USER, PASS);
    await c.authenticate();
    const res = await post(JSON.stringify({ method: "session-get", arguments: { fields: ["version"] } }), "application/x-www-form-urlencoded", c.sessionId!);
    assert.equal(JSON.parse(res.text).result, "success");
    // Another route on the same app still gets a parsed body.
    let seen: unknown = null;
    RED.httpNode.post("/elsewhere", (req: any, r: any) => {
      seen = req.body;
      r.end("ok");
    });
    await fetch(`${f.server.url}/elsewhere`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"a":1}' });
    assert.deepEqual(seen, { a: 1 });
  });

  it("after a redeploy without the node, its route and its guard are gone: the parsers parse that path again", async () => {
    await load();
    const httpNode = RED.httpNode;
    const stackOf = (app: any) => app._router.stack as any[];
    assert.ok(
      stackOf(httpNode.parent).some((l) => l.name === "guard"),
      "the guard is there while the node runs",
    );
    await nr.helper.unload();
    // What the node added is gone from both apps: nothing of ours is left to answer or to skip parsing.
    assert.equal(
      stackOf(httpNode).some((l) => l.route?.path === "/transmission/rpc"),
      false,
    );
    assert.equal(
      stackOf(httpNode.parent).some((l) => l.name === "guard"),
      false,
    );
  });
});
