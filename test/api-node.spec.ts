/** putio-api: any put.io route through the account's client, against the emulator. */
import assert from "node:assert/strict";
import { catchAll, nr } from "./nr";
import { outcomeOf, useNodeRed } from "./support/node-red-fixture";

const apiNode = require("../nodes/putio-api");

describe("putio-api node @nr", function () {
  const rig = useNodeRed();

  async function load(cfg: object = {}) {
    const flow = [
      rig.account(),
      { id: "api", type: "putio-api", account: "acc", method: "", path: "", encoding: "auto", ...cfg, wires: [["out"]] },
      catchAll("c", "caught"),
      { id: "out", type: "helper" },
      { id: "caught", type: "helper" },
    ];
    await rig.load([apiNode], flow);
  }

  const send = (msg: object): Promise<any> => outcomeOf("api", msg);

  it("GET with msg.path and query parameters from msg.payload", async () => {
    await load();
    const dir = rig.emu.state.addFolder(0, "Docs");
    rig.emu.state.addFile(dir.id, "a.txt", Buffer.from("a"));
    const msg = await send({ path: "files/list", payload: { parent_id: dir.id, per_page: 5 }, keep: "me" });
    assert.equal(msg.statusCode, 200);
    assert.deepEqual(
      msg.payload.files.map((f: any) => f.name),
      ["a.txt"],
    );
    assert.equal(msg.keep, "me", "the incoming msg is reused");
    const req = rig.emu.requests.find((r) => r.path === "/v2/files/list")!;
    assert.deepEqual(req.query, { parent_id: String(dir.id), per_page: "5" });
  });

  it("POST form from msg.method/msg.payload; PUT sends JSON (config)", async () => {
    await load();
    const made = await send({ method: "post", path: "/v2/files/create-folder", payload: { name: "New", parent_id: 0 } });
    assert.equal(made.payload.file.name, "New");
    assert.ok(rig.emu.state.listChildren(0).some((f) => f.name === "New"));
    await send({ method: "PUT", path: "/v2/config/key", payload: { value: { nested: [1, 2] } } });
    const read = await send({ path: "/v2/config/key" });
    assert.deepEqual(read.payload.value, { nested: [1, 2] });
  });

  it("the node's method and path win over the message's", async () => {
    await load({ method: "GET", path: "/v2/account/info" });
    const msg = await send({ method: "DELETE", path: "/v2/files/delete" });
    assert.equal(typeof msg.payload.info.username, "string");
  });

  it("put.io errors reach a Catch node with their envelope; bad paths fail before any call", async () => {
    await load();
    const nf = (await send({ path: "/v2/files/2147483647" })).caught;
    assert.match(nf.error.message, /GET \/v2\/files\/2147483647 failed/);
    assert.match(nf.error.message, /404/);
    const before = rig.emu.requests.length;
    for (const path of ["https://evil.example/v2/x", "//evil.example/x", "/v2/../../etc/passwd", "/v2/files/%2e%2e/x", "", undefined, "/v2/files/list?x=1"]) {
      const caught = (await send({ path })).caught;
      assert.ok(caught, `path ${path} should fail`);
      assert.doesNotMatch(caught.error.message, /TypeError/);
    }
    assert.match((await send({ method: "BREW", path: "/v2/account/info" })).caught.error.message, /not an HTTP method/);
    assert.equal(rig.emu.requests.length, before, "nothing was sent for bad input");
  });

  it("goes through the shared pipeline: a 5xx on a GET is retried", async () => {
    await load();
    await (nr.node("acc") as any).ready();
    rig.emu.knobs.failNext5xx = 1;
    const msg = await send({ path: "/v2/account/settings" });
    assert.equal(typeof msg.payload.settings, "object");
    assert.equal(rig.emu.requests.filter((r) => r.path === "/v2/account/settings").length, 2);
  });

  it("redirects are answered, not followed: status 302 with the location header", async () => {
    await load();
    const f = rig.emu.state.addFile(0, "a.txt", Buffer.from("a"));
    const msg = await send({ path: `/v2/files/${f.id}/download` });
    assert.equal(msg.statusCode, 302);
    assert.match(String(msg.headers.location), /\/download\//);
  });
});
