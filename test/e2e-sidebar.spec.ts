/**
 * The "put.io" sidebar tab in headless Debian Chromium on Node-RED 4.1 with the packed package: a
 * deployed account and a download running (slowed down by the emulator); the user opens the tab and
 * sees the account's disk bar and the download's percent, speed and ETA, live, with no console error.
 * Screenshot: .sandbox/screenshots/putio-sidebar.png. Needs `npm run setup` (Chromium); fails without it.
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

describe("e2e sidebar: the put.io tab shows an account's disk and a running download, live @e2e", function () {
  this.timeout(180_000);
  let emu: Emulator;
  let nr: NodeRed;
  let browser: Browser;
  let target: string;

  before(async () => {
    requireSetup("chromium");
    emu = await startEmulator();
    target = fs.mkdtempSync(path.join(os.tmpdir(), "putio-e2e-sidebar-"));
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
  });
  after(async () => {
    await browser?.close();
    await nr?.stop();
    await emu?.close();
    fs.rmSync(target, { recursive: true, force: true });
  });

  it("opens the tab: the disk bar of the account, then the download's percent, speed and ETA growing", async () => {
    const file = emu.state.addFile(0, "Big.Buck.Bunny.mkv", { size: 8 * MiB, seed: 5 });
    // Slow enough that the download is still running while the tab is looked at.
    emu.knobs.bandwidthPerConnection = 256 * 1024;
    await nr.deploy([
      { id: TAB, type: "tab", label: "sidebar" },
      accountNode("acc", emu, emu.token),
      { id: "watch", type: "putio-transfer-watch", z: TAB, x: 120, y: 160, name: "", account: "acc", mode: "socket", statuses: "COMPLETED", wires: [[]] },
      {
        id: "go",
        type: "inject",
        z: TAB,
        x: 120,
        y: 80,
        once: true,
        onceDelay: 0.5,
        props: [{ p: "payload" }],
        repeat: "",
        crontab: "",
        topic: "",
        payload: String(file.id),
        payloadType: "num",
        wires: [["dl"]],
      },
      {
        id: "dl",
        type: "putio-download",
        z: TAB,
        x: 320,
        y: 80,
        name: "to the NAS",
        account: "acc",
        source: "payload",
        sourceType: "msg",
        target,
        targetType: "str",
        connections: "1",
        unlimitedWindow: "",
        subtitleLanguages: "",
        wires: [[]],
      },
    ]);

    browser = await openEditor(nr.url);
    const page = browser.page;
    assert.ok(await page.evaluate(() => RED.sidebar.containsTab("putio")), "the put.io tab is registered");
    await page.evaluate(() => RED.sidebar.show("putio"));
    // A flow the editor finds valid: the screenshot shows no warning triangles.
    assert.deepEqual(await page.evaluate(() => ["go", "dl", "watch"].filter((id) => !RED.nodes.node(id).valid)), []);
    const account = page.locator('.putio-sb-account[data-account="acc"]');
    await account.waitFor({ state: "visible" });

    // The disk bar: a fill as wide as the share used, and "<used> of <size> used" beside it.
    const disk = account.locator(".putio-sb-disk");
    assert.match((await disk.textContent()) ?? "", /emulator · .+ of .+ used/);
    const fill = await disk.locator(".putio-sb-fill").evaluate((el) => parseFloat((el as HTMLElement).style.width));
    assert.ok(fill > 0 && fill <= 100, `the disk bar is drawn (${fill}%)`);

    // A transfer seen by the account's watcher (its socket), with its percent.
    const tr = emu.state.addTransfer({ url: "magnet:?xt=urn:btih:" + "cd".repeat(20) + "&dn=Sintel" });
    await emu.advance(3000);
    const transfer = account.locator(`.putio-sb-transfer[data-id="${tr.id}"]`);
    await waitFor(
      async () => /Sintel[\s\S]*downloading · [1-9]\d*%/.test((await transfer.textContent().catch(() => "")) ?? ""),
      "the transfer's progress in the tab",
    );

    // The running download: name, percent, speed and time left, growing while the tab is open.
    const row = account.locator('.putio-sb-download[data-status="running"]');
    await row.waitFor({ state: "visible", timeout: 60_000 });
    const percentOf = async () => Number(/(\d+)%/.exec((await row.locator(".putio-sb-meta").textContent()) ?? "")?.[1] ?? NaN);
    const first = await percentOf();
    assert.match((await row.textContent()) ?? "", /Big\.Buck\.Bunny\.mkv/);
    assert.match((await row.locator(".putio-sb-meta").textContent()) ?? "", /\d+% · .+ \/ 8\.0\u00a0MB · \d+(\.\d)?\u00a0[kM]?B\/s, \d+:\d\d left/);
    await waitFor(async () => (await row.count()) === 0 || (await percentOf()) > first, "the download's percent to grow in the tab", 60_000);
    await page.screenshot({ path: screenshotPath("putio-sidebar") });
    assert.ok(fs.statSync(screenshotPath("putio-sidebar")).size > 0);

    // Finished: shown done at 100 %.
    emu.knobs.bandwidthPerConnection = null;
    await account.locator('.putio-sb-download[data-status="done"]').waitFor({ state: "visible", timeout: 90_000 });
    assert.match((await account.locator('.putio-sb-download[data-status="done"] .putio-sb-meta').textContent()) ?? "", /^100% /);
    assert.deepEqual(browser.problems, [], "no console error or failed request");
  });
});
