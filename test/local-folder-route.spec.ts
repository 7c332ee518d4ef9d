/**
 * The editor's local folder completion route (GET /putio-local/folders?path=…) in a real Node-RED
 * runtime: folders only, under the root settings.js gives (putioLocalRoot), never beyond it (`..`,
 * links), hostile input refused, and guarded like the put.io folder picker.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { nr, withTab } from "./nr";

const accountNode = require("../nodes/putio-account");

describe("local folder completion route @nr", function () {
  this.timeout(30_000);
  let saved: any;
  let base: string;
  let root: string;
  beforeEach(async () => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "putio-local-")));
    root = path.join(base, "nas");
    for (const d of ["Movies", "music", "Music Videos", ".hidden", "TV/Shows"]) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.writeFileSync(path.join(root, "Movie.mkv"), "x");
    fs.mkdirSync(path.join(base, "secret"));
    fs.symlinkSync(path.join(base, "secret"), path.join(root, "Mlink-out"));
    fs.symlinkSync(path.join(root, "TV"), path.join(root, "Mlink-in"));
    saved = { ...nr.helper._settings };
    nr.helper.settings({ ...saved, putioLocalRoot: root });
    await nr.start();
    await nr.load([accountNode], withTab([{ id: "acc", type: "putio-account", name: "a" }]));
  });
  afterEach(async () => {
    await nr.stop();
    nr.helper.settings(saved);
    fs.rmSync(base, { recursive: true, force: true });
  });

  const ask = (typed: unknown) =>
    nr
      .request()
      .get("/putio-local/folders")
      .query(typed === undefined ? {} : { path: typed });

  it("the folders (not files, not hidden ones) whose name starts with the typed segment, any case, as full paths", async () => {
    const m = (await ask(root + "/M").expect(200)).body;
    assert.equal(m.state, "ok");
    assert.deepEqual(m.folders, [root + "/Mlink-in", root + "/Movies", root + "/music", root + "/Music Videos"]);
    const all = (await ask(root + "/").expect(200)).body;
    assert.ok(!all.folders.includes(root + "/Movie.mkv"), "no files");
    assert.ok(!all.folders.includes(root + "/.hidden"), "no hidden folders unless asked");
    assert.deepEqual((await ask(root + "/.h").expect(200)).body.folders, [root + "/.hidden"]);
    assert.deepEqual((await ask(root + "/TV/").expect(200)).body.folders, [root + "/TV/Shows"]);
    // Nothing typed (or a ${VAR} the editor cannot expand): the root's folders.
    assert.deepEqual((await ask("").expect(200)).body.folder, root + "/");
    assert.deepEqual((await ask("${NAS_DIR}").expect(200)).body.folder, root + "/");
  });

  it("never beyond the root: a folder outside, a way out by '..', a link leading out", async () => {
    assert.deepEqual((await ask(base + "/").expect(200)).body, { state: "outside", root });
    assert.equal((await ask(root + "/../").expect(200)).body.state, "outside");
    assert.equal((await ask("/etc/").expect(200)).body.state, "outside");
    assert.ok(!(await ask(root + "/").expect(200)).body.folders.includes(root + "/Mlink-out"), "a link out of the root is not offered");
    assert.equal((await ask(root + "/Mlink-out/").expect(200)).body.state, "outside");
    assert.equal((await ask(root + "/nowhere/x").expect(200)).body.state, "outside");
  });

  it("hostile input is a 400, not a crash", async () => {
    await ask([root, root]).expect(400);
    await ask(root + "/" + "a".repeat(5000)).expect(400);
    await ask(root + "/\0").expect(400);
  });

  it("a root that is not a folder: nothing is listed, the state says why", async () => {
    await nr.stop();
    nr.helper.settings({ ...saved, putioLocalRoot: path.join(base, "missing") });
    await nr.start();
    await nr.load([accountNode], withTab([{ id: "acc", type: "putio-account", name: "a" }]));
    assert.deepEqual((await ask(root + "/").expect(200)).body, { state: "no-root" });
  });

  it("the route is registered once, guarded by needsPermission('putio-account.write')", () => {
    const RED: any = {};
    const routes: Array<{ method: string; path: string; guard: unknown }> = [];
    RED.httpAdmin = { get: (p: string, guard: unknown) => routes.push({ method: "get", path: p, guard }) };
    RED.auth = { needsPermission: (p: string) => `guard:${p}` };
    const { registerLocalFolderRoutes } = require("../nodes/common/local-folder-routes");
    registerLocalFolderRoutes(RED);
    registerLocalFolderRoutes(RED);
    assert.deepEqual(routes, [{ method: "get", path: "/putio-local/folders", guard: "guard:putio-account.write" }]);
  });
});
