/**
 * putio-transmission in a fresh real Node-RED 4.1 with its default settings (the package packed and
 * installed as a user installs it): Debian's transmission-remote adds, lists, shows and removes
 * through Node-RED's whole HTTP stack (the editor's body parsers see every request first), a body
 * over their 5 MB limit and broken JSON get the endpoint's own JSON answers, and the watch node's
 * callback keeps its 64 KiB limit.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { encodeBencode } from "../lib/transmission/sources";
import { startEmulator, type Emulator } from "./emulator";
import { accountNode, FLAVORS, startNodeRed, TAB, waitFor, type NodeRed } from "./e2e/harness";

const run = promisify(execFile);
const USER = "arr";
const PASS = "arr-password-1";
const SECRET = "0123456789abcdef-secret";

describe("e2e putio-transmission: Node-RED 4.1 with default settings @e2e", function () {
  this.timeout(180_000);
  let emu: Emulator;
  let nr: NodeRed;
  let work: string;

  before(async () => {
    emu = await startEmulator();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-e2e-trn-"));
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
    await nr.deploy([
      { id: TAB, type: "tab", label: "e2e" },
      { ...accountNode("acc", emu, emu.token), z: TAB },
      {
        id: "trn",
        type: "putio-transmission",
        z: TAB,
        account: "acc",
        downloadDir: work,
        requireAuth: true,
        credentials: { username: USER, password: PASS },
        x: 100,
        y: 100,
        wires: [[]],
      },
      {
        id: "watch",
        type: "putio-transfer-watch",
        z: TAB,
        account: "acc",
        mode: "poll",
        intervalSeconds: "3600",
        callback: true,
        callbackPath: "putio-cb",
        credentials: { callbackSecret: SECRET },
        x: 100,
        y: 200,
        wires: [[]],
      },
    ]);
  });
  after(async () => {
    nr?.kill();
    await emu?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const host = () => `127.0.0.1:${nr.port}/transmission/rpc`;
  const tr = (...args: string[]) => run("transmission-remote", [host(), "-n", `${USER}:${PASS}`, ...args], { timeout: 30_000 });

  it("transmission-remote: add a 6 MB .torrent, list, info, remove with its data", async () => {
    await waitFor(
      () =>
        tr("-l").then(
          () => true,
          () => false,
        ),
      "the node to answer",
    );
    const pieces = Math.ceil((6 * 1024 * 1024) / 20);
    const info = { name: "Season.Pack.S01", "piece length": 16_384, length: pieces * 16_384, pieces: Buffer.alloc(20 * pieces, 5) };
    const file = path.join(work, "pack.torrent");
    fs.writeFileSync(file, Buffer.from(encodeBencode({ announce: "http://tracker.invalid/announce", info })));
    assert.match((await tr("-a", file, "-w", path.join(work, "tv"))).stdout, /success/);
    await emu.advance(8000);
    await waitFor(async () => /100%/.test((await tr("-l")).stdout), "the torrent to be on disk");
    assert.match((await tr("-t", "1", "-i")).stdout, /Name: Season\.Pack\.S01/);
    assert.ok(fs.existsSync(path.join(work, "tv", "Season.Pack.S01")));
    assert.match((await tr("-t", "1", "--remove-and-delete")).stdout, /success/);
    assert.equal(fs.existsSync(path.join(work, "tv", "Season.Pack.S01")), false);
  });

  it("broken JSON and a body over the endpoint's limit get its own JSON answers, not Node-RED's HTML pages", async () => {
    const auth = "Basic " + Buffer.from(`${USER}:${PASS}`).toString("base64");
    const first = await fetch(`http://${host()}`, { headers: { Authorization: auth } });
    const sid = first.headers.get("x-transmission-session-id")!;
    assert.equal(first.status, 409);
    const headers = { Authorization: auth, "X-Transmission-Session-Id": sid, "Content-Type": "application/json" };
    const broken = await fetch(`http://${host()}`, { method: "POST", headers, body: '{"method":' });
    assert.equal(broken.status, 200);
    assert.match((await broken.json()).result, /invalid JSON/);
    // 33 MB announced (over the endpoint's 32 MiB): the answer comes before the rest is sent.
    const huge = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = http.request(`http://${host()}`, { method: "POST", headers: { ...headers, "Content-Length": String(33 * 1024 * 1024) } }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
      });
      req.on("error", reject);
      req.write(Buffer.alloc(64 * 1024, 0x20));
    });
    assert.equal(huge.status, 413);
    assert.match(huge.type, /json/);
    assert.match(JSON.parse(huge.body).result, /too large/);
  });

  it("the watch callback refuses 200 KB (its 64 KiB limit) and accepts a small one", async () => {
    const url = `http://127.0.0.1:${nr.port}/putio-cb/${SECRET}`;
    const big = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `id=1&pad=${"a".repeat(200 * 1024)}`,
    });
    assert.equal(big.status, 413);
    const small = await fetch(url, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "id=1" });
    assert.equal(small.status, 200);
  });
});
