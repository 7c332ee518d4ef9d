/**
 * The example "sync a put.io folder to the NAS" as shipped, in a real Node-RED: at deploy the live
 * sync mirrors /Media into NAS_DIR and reports it; a file added on put.io follows by itself; the
 * "preview" inject is a dry run that changes nothing.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { nr, withTab } from "./nr";
import { shippedExample } from "./support/examples";
import { useNodeRed } from "./support/node-red-fixture";

const accountNode = require("../nodes/putio-account");
const syncNode = require("../nodes/putio-sync");
const injectNode = require("@node-red/nodes/core/common/20-inject.js");
const commentNode = require("@node-red/nodes/core/common/90-comment.js");

describe("example sync-folder-to-nas @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed({ work: "putio-exs-", per: "once", env: (f) => ({ NAS_DIR: f.work }) });

  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ok(), `timed out waiting for ${what}`);
  };

  it("mirrors /Media at deploy, follows a new file live, and the preview changes nothing", async () => {
    const media = rig.emu.state.addFolder(0, "Media");
    const movies = rig.emu.state.addFolder(media.id, "Movies");
    const film = rig.emu.state.addFile(movies.id, "Film (2026).mkv", Buffer.from("the film"));
    const { flow } = shippedExample("sync-folder-to-nas", rig.emu);
    const reports: any[] = [];
    await nr.load([accountNode, syncNode, injectNode, commentNode], withTab(flow), { "user-account": { accessToken: rig.emu.token } });
    const debug = flow.find((n) => n.type === "helper")!;
    nr.node(debug.id).on("input", (m: any) => reports.push(m.payload));
    await until("the first sync", () => reports.length > 0);
    assert.deepEqual(
      reports[0].copied.map((c: any) => c.path),
      ["Movies/Film (2026).mkv"],
    );
    assert.equal(fs.readFileSync(path.join(rig.work, "Movies", "Film (2026).mkv"), "utf8"), "the film");
    assert.equal(rig.emu.state.fileBytes(film.id).toString(), "the film");

    await until("the socket", () => rig.emu.socketCount() > 0);
    rig.emu.state.addFile(movies.id, "Extra.mkv", Buffer.from("extra"));
    await until("the live copy", () => reports.some((r) => r.copied?.some((c: any) => c.path === "Movies/Extra.mkv")));
    assert.equal(fs.readFileSync(path.join(rig.work, "Movies", "Extra.mkv"), "utf8"), "extra");

    // The preview: a dry run after a new file on put.io lists it and writes nothing.
    const seen = reports.length;
    const before = fs.readdirSync(path.join(rig.work, "Movies")).sort();
    const preview = flow.find((n) => n.type === "inject" && n.name === "preview")!;
    rig.emu.state.addFile(media.id, "later.txt", Buffer.from("later"));
    await until("the live run for later.txt", () => reports.slice(seen).some((r) => r.copied?.length));
    const afterLive = reports.length;
    fs.rmSync(path.join(rig.work, "later.txt"));
    nr.node(preview.id).receive({});
    await until("the preview", () => reports.slice(afterLive).some((r) => r.dryRun === true));
    const dry = reports.slice(afterLive).find((r) => r.dryRun === true);
    assert.deepEqual(
      dry.copied.map((c: any) => c.path),
      ["later.txt"],
    );
    assert.ok(!fs.existsSync(path.join(rig.work, "later.txt")), "the preview wrote nothing");
    assert.deepEqual(fs.readdirSync(path.join(rig.work, "Movies")).sort(), before);
  });
});
