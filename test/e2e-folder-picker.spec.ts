/**
 * The put.io folder picker in a real browser (headless Debian Chromium) on Node-RED 4.1 running the
 * packed package: typing a path into the download node's source field (string type) offers the
 * account's put.io folders, and picking one fills the field; the watch node's plain folder field
 * offers them too. Screenshot: .sandbox/screenshots/folder-picker.png. Needs `npm run setup`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { startEmulator, type Emulator } from "./emulator";
import { nodeProps, openEditor, openNodeDialog, screenshotPath, type Browser } from "./e2e/editor";
import { accountNode, FLAVORS, requireSetup, startNodeRed, TAB, waitFor, type NodeRed } from "./e2e/harness";

declare const $: any;

describe("e2e folder picker: put.io folders suggested in the editor (Node-RED 4.1, headless Chromium) @e2e", function () {
  this.timeout(180_000);
  let emu: Emulator;
  let nr: NodeRed;
  let browser: Browser;
  const local = fs.mkdtempSync(path.join(os.tmpdir(), "putio-picker-"));

  before(async () => {
    requireSetup("chromium");
    emu = await startEmulator();
    const movies = emu.state.addFolder(0, "Movies");
    for (const n of ["Shows", "Sharp", "Other"]) emu.state.addFolder(movies.id, n);
    emu.state.addFile(movies.id, "Show.mkv", { size: 1000, seed: 1 });
    emu.state.addFolder(0, "Music");
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
    await nr.deploy([
      { id: TAB, type: "tab", label: "picker" },
      accountNode("acc", emu, emu.token),
      {
        id: "dl",
        type: "putio-download",
        z: TAB,
        x: 200,
        y: 120,
        account: "acc",
        source: "payload",
        sourceType: "msg",
        target: local,
        targetType: "str",
        wires: [[], []],
      },
      { id: "watch", type: "putio-transfer-watch", z: TAB, x: 200, y: 220, account: "acc", wires: [[]] },
    ]);
    browser = await openEditor(nr.url);
  });

  after(async () => {
    await browser?.close();
    nr?.kill();
    await emu?.close();
    fs.rmSync(local, { recursive: true, force: true });
  });

  /**
   * The texts of the auto-complete menu once it shows `want` (and, given `exactly`, once it offers
   * just those: on a busy machine the menu of an earlier keystroke can still be up for a moment).
   */
  async function menuShowing(page: Page, want: string, exactly?: string[]): Promise<string[]> {
    const menu = page.locator(".red-ui-autoComplete-container:visible");
    const texts = () => menu.locator(".putio-folder-suggestion").allTextContents();
    await waitFor(
      async () =>
        (await menu.count()) === 1 &&
        ((await menu.textContent()) ?? "").includes(want) &&
        (!exactly || JSON.stringify(await texts()) === JSON.stringify(exactly)),
      `the folder menu to offer ${exactly ? exactly.join(", ") : want}`,
    );
    return texts();
  }

  it("download: typing /Mo then /Sh into the source (string) offers put.io folders; clicking one fills the field and Done saves it (screenshot)", async () => {
    const { page } = browser;
    await openNodeDialog(page, "dl");
    const container = page.locator("#node-input-source + .red-ui-typedInput-container");
    await container.locator("button.red-ui-typedInput-type-select").click();
    await page.locator('.red-ui-typedInput-options:visible a[value="str"]').click();
    const input = container.locator("input.red-ui-typedInput-input");
    await input.fill("");
    await input.click();
    const before = emu.requests.length;
    await page.keyboard.type("/Mo", { delay: 40 });
    assert.deepEqual(await menuShowing(page, "/Movies", ["/Movies"]), ["/Movies"], "the root's folders starting with Mo (not /Music)");
    await page.keyboard.type("vies/Sh", { delay: 40 });
    const offered = await menuShowing(page, "/Movies/Shows");
    assert.deepEqual(offered, ["/Movies/Sharp", "/Movies/Shows"], "the folders of /Movies starting with Sh, not the file Show.mkv");
    await page.screenshot({ path: screenshotPath("folder-picker") });
    await page.locator(".red-ui-autoComplete-container:visible").getByText("/Movies/Shows", { exact: true }).click();
    await waitFor(async () => (await input.inputValue()) === "/Movies/Shows", "the picked folder in the source field");
    await page.click("#node-dialog-ok");
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
    const props = await nodeProps(page, "dl");
    assert.equal(props.source, "/Movies/Shows");
    assert.equal(props.sourceType, "str");
    const reads = emu.requests.slice(before).filter((r) => r.path === "/v2/files/list");
    assert.ok(reads.length >= 1 && reads.every((r) => r.token === emu.token), "the folders came from put.io through the account's token");
  });

  it("transfer watch: its plain folder field offers the folders too", async () => {
    const { page } = browser;
    await openNodeDialog(page, "watch");
    const input = page.locator("#node-input-folder");
    await input.click();
    await page.keyboard.type("/m", { delay: 40 });
    assert.deepEqual(await menuShowing(page, "/Music", ["/Movies", "/Music"]), ["/Movies", "/Music"]);
    await page.evaluate(() => $("#node-dialog-cancel").trigger("click"));
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
  });

  it("no console error, page error, failed request or HTTP error on the way", () => {
    assert.deepEqual(browser.problems, []);
  });
});
