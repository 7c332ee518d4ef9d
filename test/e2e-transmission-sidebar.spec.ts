/**
 * The "put.io" sidebar tab's Transmission section in headless Debian Chromium on Node-RED 4.1 with
 * the packed package: a deployed putio-transmission node, a torrent added as an *arr app adds it;
 * the user opens the tab and sees the torrent's phase live (waiting on put.io, put.io downloading
 * with its percent, copying with percent, speed and time left, finished), with no console error.
 * Screenshot: .sandbox/screenshots/putio-sidebar-transmission.png. Needs `npm run setup` (Chromium).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator, type Emulator } from "./emulator";
import { openEditor, screenshotPath, type Browser } from "./e2e/editor";
import { accountNode, FLAVORS, requireSetup, startNodeRed, TAB, waitFor, type NodeRed } from "./e2e/harness";

declare const RED: any;

const MiB = 1024 * 1024;
const HASH = "0123456789abcdef0123456789abcdef01234567";

describe("e2e sidebar: the put.io tab shows a Transmission node's torrent, phase by phase, live @e2e", function () {
  this.timeout(240_000);
  let emu: Emulator;
  let nr: NodeRed;
  let browser: Browser;
  let work: string;

  before(async () => {
    requireSetup("chromium");
    emu = await startEmulator();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-e2e-trsb-"));
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
  });
  after(async () => {
    await browser?.close();
    await nr?.stop();
    await emu?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** One Transmission RPC call as the apps make it: the session id learnt from a 409 first. */
  let session = "";
  async function rpc(method: string, args: Record<string, unknown>): Promise<any> {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://127.0.0.1:${nr.port}/transmission/rpc`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Transmission-Session-Id": session },
        body: JSON.stringify({ method, arguments: args }),
      });
      if (res.status === 409) {
        session = res.headers.get("x-transmission-session-id") ?? "";
        continue;
      }
      const body = (await res.json()) as { result: string; arguments: any };
      if (body.result !== "success") throw new Error(body.result);
      return body.arguments;
    }
    throw new Error("no session id");
  }

  it("opens the tab: the torrent waits on put.io, downloads there with its percent, is copied with speed and time left, then finished", async () => {
    emu.knobs.transferContents["Sintel.2010"] = [{ name: "Sintel.2010.mkv", data: Buffer.alloc(4 * MiB, 3) }];
    await nr.deploy([
      { id: TAB, type: "tab", label: "sidebar" },
      accountNode("acc", emu, emu.token),
      { id: "trn", type: "putio-transmission", z: TAB, x: 160, y: 80, name: "radarr", account: "acc", downloadDir: work, requireAuth: false, wires: [[]] },
    ]);
    browser = await openEditor(nr.url);
    const page = browser.page;
    await page.evaluate(() => RED.sidebar.show("putio"));
    const account = page.locator('.putio-sb-account[data-account="acc"]');
    const section = account.locator('.putio-sb-torrents[data-node="trn"]');
    await section.waitFor({ state: "visible", timeout: 60_000 });
    assert.match((await section.locator(".putio-sb-h").textContent()) ?? "", /Transmission · radarr/);
    assert.equal(await section.locator(".putio-sb-empty").textContent(), "No torrents.");

    await waitFor(
      () =>
        rpc("torrent-get", { fields: ["id"] }).then(
          () => true,
          () => false,
        ),
      "the node to read its state",
      60_000,
    );
    const added = await rpc("torrent-add", { filename: `magnet:?xt=urn:btih:${HASH}&dn=Sintel.2010`, "download-dir": `${work}/movies` });
    const row = section.locator(`.putio-sb-torrent[data-id="${added["torrent-added"].id}"]`);
    const meta = async () =>
      (await row
        .locator(".putio-sb-meta")
        .first()
        .textContent()
        .catch(() => "")) ?? "";
    const phase = () => row.getAttribute("data-phase").catch(() => null);

    await waitFor(async () => (await phase()) === "waiting", "waiting on put.io in the tab");
    assert.match(await meta(), /^waiting on put\.io$/);
    assert.match((await row.locator(".putio-sb-name").textContent()) ?? "", /^Sintel\.2010$/);

    await emu.advance(1000);
    await emu.advance(1000);
    await waitFor(async () => (await phase()) === "downloading" && /put\.io downloading · [1-9]\d*%/.test(await meta()), "put.io's percent in the tab");

    // The copy, slowed down so the tab is looked at while it runs.
    emu.knobs.bandwidthPerConnection = 512 * 1024;
    await emu.advance(3000);
    await emu.advance(1000);
    await waitFor(async () => (await phase()) === "copying" && /\d\u00a0[kM]?B\/s, \d+:\d\d left/.test(await meta()), "the copy's progress in the tab", 60_000);
    assert.match(await meta(), /^copying · \d+% · .+ \/ 4\.0\u00a0MB · /);
    const fill = await row.locator(".putio-sb-fill").evaluate((el) => parseFloat((el as HTMLElement).style.width));
    assert.ok(fill >= 0 && fill < 100, `the copy's bar (${fill}%)`);
    await page.screenshot({ path: screenshotPath("putio-sidebar-transmission") });
    assert.ok(fs.statSync(screenshotPath("putio-sidebar-transmission")).size > 0);

    emu.knobs.bandwidthPerConnection = null;
    await waitFor(async () => (await phase()) === "finished", "finished in the tab", 90_000);
    assert.equal(await meta(), "finished");
    const text = (await account.textContent()) ?? "";
    assert.ok(!text.includes(work) && !text.includes(emu.token), "no local path and no token in the tab");
    assert.deepEqual(browser.problems, [], "no console error or failed request");
  });
});
