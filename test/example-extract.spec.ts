/**
 * The example "extract → NAS with subtitles → Jellyfin" as shipped, in a real Node-RED (core
 * function, change and http request nodes) against the emulator: a finished RAR release is
 * extracted on put.io, the video lands on disk with its subtitle beside it, Jellyfin is asked to
 * rescan, and a release with a wrong password reaches the failure notification.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildRarSet, buildZip } from "./emulator/archives";
import { nr, withTab } from "./nr";
import { shippedExample, useJellyfin } from "./support/examples";
import { useNodeRed } from "./support/node-red-fixture";

const accountNode = require("../nodes/putio-account");
const watchNode = require("../nodes/putio-transfer-watch");
const downloadNode = require("../nodes/putio-download");
const functionNode = require("@node-red/nodes/core/function/10-function.js");
const changeNode = require("@node-red/nodes/core/function/15-change.js");
const httpRequestNode = require("@node-red/nodes/core/network/21-httprequest.js");
const commentNode = require("@node-red/nodes/core/common/90-comment.js");

describe("example extract-subtitles-to-nas @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed({ work: "putio-exx-", per: "once", env: (f) => ({ NAS_DIR: f.work, JELLYFIN_TOKEN: "jf-token" }) });
  const jellyfin = useJellyfin();

  /** Moves put.io's clock until `done` says so (transfers and extractions run on it). */
  async function clockUntil(what: string, done: () => boolean): Promise<void> {
    for (let i = 0; i < 600 && !done(); i++) {
      await rig.emu.advance(1000);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(done(), `timed out waiting for ${what}`);
  }

  it("a finished RAR release: the video and its subtitle on the NAS, the archive parts left on put.io, Jellyfin rescans; a wrong password is notified", async () => {
    const { flow } = shippedExample("extract-subtitles-to-nas", rig.emu, { jellyfinPort: jellyfin.port });
    const download = flow.find((n) => n.type === "putio-download")!;
    assert.equal(download.extract, true);
    assert.equal(download.subtitles, true);
    const notices: any[] = [];
    await nr.load([accountNode, watchNode, downloadNode, functionNode, changeNode, httpRequestNode, commentNode], withTab(flow), {
      "user-account": { accessToken: rig.emu.token },
      [download.id]: { archivePassword: "rel-pass" },
    });
    const debug = flow.find((n) => n.type === "helper")!;
    nr.node(debug.id).on("input", (m: any) => notices.push(m));

    const vols = buildRarSet("Show.S01E01", [{ name: "Show.S01E01.mkv", text: "episode one" }], { volumes: 3, digits: 2 });
    const srt = { name: "Show.S01E01.eng.srt", data: Buffer.from("1\n00:00:01,000 --> 00:00:02,000\nHello\n") };
    rig.emu.knobs.transferContents["Show.S01E01"] = [...vols, srt];
    // The example watches its own put.io folder, /NAS/Shows, and copies into NAS_DIR/Shows.
    const shows = rig.emu.state.addFolder(rig.emu.state.addFolder(0, "NAS").id, "Shows");
    const t = rig.emu.state.addTransfer({ url: "magnet:?xt=urn:btih:" + "ab".repeat(20) + "&dn=Show.S01E01", name: "Show.S01E01", saveParentId: shows.id });
    await clockUntil("the notification", () => notices.length > 0);
    const note = notices[0];
    assert.match(note.payload, /1 video\(s\) extracted on put\.io and copied to the NAS with 1 subtitle\(s\), Jellyfin is rescanning/, note.payload);
    const dir = path.join(rig.work, "Shows", "Show.S01E01");
    assert.deepEqual(fs.readdirSync(dir).sort(), ["Show.S01E01.eng.srt", "Show.S01E01.mkv"]);
    assert.equal(fs.readFileSync(path.join(dir, "Show.S01E01.mkv"), "utf8"), "episode one");
    assert.deepEqual(
      jellyfin.refreshes.map((r) => `${r.method} ${r.url} ${r.token}`),
      ["POST /Library/Refresh jf-token"],
    );
    // The video was verified and deleted; the archive parts (never on the NAS) stay; the transfer is gone.
    const user = rig.emu.state.userFor(rig.emu.token);
    const release = rig.emu.state.childrenOf(user, rig.emu.state.requireFolder(user, shows.id)).find((n) => n.name === "Show.S01E01")!;
    const left = rig.emu.state
      .childrenOf(user, release)
      .map((n) => n.name)
      .sort();
    assert.deepEqual(left, [...vols.map((v) => v.name), srt.name].sort());
    assert.equal(rig.emu.state.getTransfer(t.id), undefined, "the transfer is removed");

    // A release whose password is not the node's: the notifier says so, nothing lands on the NAS.
    rig.emu.knobs.transferContents["Locked.Release"] = [
      { name: "locked.zip", data: buildZip([{ name: "x.mkv", data: Buffer.from("x") }], { password: "other" }) },
    ];
    rig.emu.state.addTransfer({ url: "magnet:?xt=urn:btih:" + "cd".repeat(20) + "&dn=Locked.Release", name: "Locked.Release", saveParentId: shows.id });
    await clockUntil("the failure notification", () => notices.length > 1);
    assert.match(notices[1].payload, /^put\.io → NAS: .*locked\.zip.*password/);
    assert.ok(!fs.existsSync(path.join(rig.work, "Shows", "Locked.Release")));
  });
});
