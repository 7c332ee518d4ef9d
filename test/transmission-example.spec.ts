/**
 * The example "Sonarr/Radarr via put.io" as shipped, in a real Node-RED (core switch, change and
 * http request nodes) against the emulator: a Sonarr-style add ends with the files on disk and a
 * Jellyfin refresh carrying its token; a failed torrent reaches the notifier with its reason.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { nr, withTab, type FlowNode } from "./nr";
import { shippedExample, useJellyfin } from "./support/examples";
import { transmissionFixture } from "./support/transmission-fixture";
import { ArrRpcClient, until, untilReady, withHttpNode } from "./support/transmission-rpc";

const accountNode = require("../nodes/putio-account");
const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));
const switchNode = require("@node-red/nodes/core/function/10-switch.js");
const changeNode = require("@node-red/nodes/core/function/15-change.js");
const httpRequestNode = require("@node-red/nodes/core/network/21-httprequest.js");
const commentNode = require("@node-red/nodes/core/common/90-comment.js");

describe("example sonarr-radarr-via-putio @nr", function () {
  this.timeout(60_000);
  const rig = transmissionFixture("putio-trex-", { per: "once", env: (f) => ({ DOWNLOADS_DIR: f.work, JELLYFIN_TOKEN: "jf-token" }) });
  const jellyfin = useJellyfin();

  it("a Sonarr add ends on disk and refreshes Jellyfin with its token; a failure reaches the notifier with its reason", async () => {
    const { flow } = shippedExample("sonarr-radarr-via-putio", rig.emu, { jellyfinPort: jellyfin.port });
    const rpc = only(flow, "putio-transmission");
    await nr.load([accountNode, transmissionNode, switchNode, changeNode, httpRequestNode, commentNode], withTab(flow), {
      "user-account": { accessToken: rig.emu.token },
      [rpc.id]: { username: "sonarr", password: "pw" },
    });
    const notes: any[] = [];
    nr.node(only(flow, "helper").id).on("input", (m: any) => notes.push(m));
    const sonarr = new ArrRpcClient(`${rig.server.url}${rpc.path}`, "sonarr", "pw");
    await untilReady(sonarr);
    const dir = `${(await sonarr.call("session-get"))["download-dir"]}/tv`;
    await sonarr.call("torrent-add", {
      filename: "magnet:?xt=urn:btih:1111111111111111111111111111111111111111&dn=Ex.Show.S01E01",
      "download-dir": dir,
      labels: ["tv"],
    });
    await sonarr.call("torrent-add", {
      filename: "magnet:?xt=urn:btih:2222222222222222222222222222222222222222&dn=Ex.fail",
      "download-dir": dir,
      labels: ["tv"],
    });
    await rig.emu.advance(8000);
    await until(
      "the Jellyfin refresh",
      () => jellyfin.refreshes.length,
      (n) => n === 1,
    );
    assert.deepEqual(jellyfin.refreshes[0], { method: "POST", url: "/Library/Refresh", token: "jf-token" });
    assert.ok(fs.existsSync(path.join(rig.work, "tv", "Ex.Show.S01E01")));
    await until(
      "the failure note",
      () => notes.length,
      (n) => n === 1,
    );
    assert.match(notes[0].payload, /^put\.io torrent failed \(tv\): Ex\.fail: /);
  });
});

function only(flow: FlowNode[], type: string): FlowNode {
  const found = flow.filter((n) => n.type === type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0]!;
}
