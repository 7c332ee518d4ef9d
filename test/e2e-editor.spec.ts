/**
 * The editor in a real browser (headless Debian Chromium) against Node-RED 4.1 running the packed
 * package: the palette, the account's Connect (device-code login against the emulator) + Deploy,
 * every node's edit dialog (typedInputs, selects, Done saves), every node's help, and not one console
 * error or failed request on the whole tour. Screenshots of each dialog go to .sandbox/screenshots/.
 * Generic over package.json's node list. Needs `npm run setup` (Chromium); fails without it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startEmulator, type Emulator } from "./emulator";
import {
  cancelOpenDialogs,
  categoryId,
  dropFromPalette,
  exerciseDialog,
  helpHeadings,
  nodeProps,
  openEditor,
  openNodeDialog,
  screenshotDialog,
  screenshotPath,
  traySettled,
  type Browser,
} from "./e2e/editor";
import { FLAVORS, MODULE, packageNodes, requireSetup, SCREENSHOTS, startNodeRed, waitFor, type NodeRed } from "./e2e/harness";

declare const RED: any;

declare const $: any;

const ACCOUNT_TYPE = "putio-account";

describe("e2e editor: headless Chromium on Node-RED 4.1 with the packed package @e2e", function () {
  this.timeout(120_000);
  const defs = packageNodes();
  const flowDefs = defs.filter((d) => d.category !== "config");
  let emu: Emulator;
  let nr: NodeRed;
  let browser: Browser;
  /** The token of the first Connect's deploy (a second Connect must replace it). */
  let firstToken = "";

  /** Press Connect in the open account dialog, approve the code on the emulator's link page, wait for "Connected". */
  async function connectInDialog(page: typeof browser.page): Promise<void> {
    await page.click("#putio-login-connect");
    const code = page.locator("#putio-login-code-text");
    await code.waitFor({ state: "visible" });
    const shownCode = (await code.textContent())?.trim() ?? "";
    assert.match(shownCode, /^\w{4,}$/, "the dialog shows a device code");
    const link = await page.locator("#putio-login-link").getAttribute("href");
    assert.ok(link?.startsWith(emu.apiUrl), `the link ${link} points at the configured web app`);
    await page.screenshot({ path: screenshotPath(`${ACCOUNT_TYPE}-code`) });
    // The user opens the link and enters the code there (the emulator's /link page).
    const linkPage = await browser.ctx.newPage();
    await linkPage.goto(link!);
    const codeInput = linkPage.locator("input[name=code]");
    if (!(await codeInput.inputValue())) await codeInput.fill(shownCode);
    await linkPage.click("button[type=submit]");
    assert.match((await linkPage.locator("#result").textContent()) ?? "", /Device linked/);
    await linkPage.close();
    const state = page.locator("#putio-login-state");
    await waitFor(async () => /Connected as emulator/.test((await state.textContent()) ?? ""), "the dialog to say 'Connected as emulator'");
  }

  /** The account node the Connect test creates; the other nodes use it. */
  let accountId = "";
  let slot = 0;
  const nextSpot = () => {
    const i = slot++;
    return { x: 120 + 220 * (i % 3), y: 320 + 70 * Math.floor(i / 3) };
  };

  before(async () => {
    requireSetup("chromium");
    for (const f of fs.existsSync(SCREENSHOTS) ? fs.readdirSync(SCREENSHOTS) : []) if (f.endsWith(".png")) fs.rmSync(path.join(SCREENSHOTS, f));
    emu = await startEmulator();
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
    browser = await openEditor(nr.url);
  });

  // One failed test must not leave a dialog (or a menu) over the palette for the rest.
  afterEach(async () => {
    if (browser && !browser.page.isClosed()) await cancelOpenDialogs(browser.page);
  });
  after(async () => {
    await browser?.close(); // a no-op when the last test closed it
    nr?.kill();
    await emu?.close();
  });

  it("the palette shows every node under a 'put.io' category, each with its icon loaded", async () => {
    const { page } = browser;
    for (const d of flowDefs) {
      assert.equal(d.category, "put.io", `${d.type} is in category ${d.category}`);
      await page.locator(`.red-ui-palette-node[data-palette-type="${d.type}"]`).waitFor({ state: "visible" });
    }
    const cat = categoryId("put.io");
    const shown: { label: string; types: string[]; icons: Array<string | null> } = await page.evaluate(
      (c) => ({
        label: $(`#red-ui-palette-header-${c} span`).text(),
        types: $(`#red-ui-palette-container-${c} .red-ui-palette-node`)
          .map((_: number, el: any) => $(el).attr("data-palette-type"))
          .get(),
        icons: $(`#red-ui-palette-container-${c} .red-ui-palette-icon-container`)
          .map((_: number, el: any) => $(el).attr("data-palette-icon"))
          .get(),
      }),
      cat,
    );
    await page.locator(`#red-ui-palette-container-${cat}`).scrollIntoViewIfNeeded();
    await page.locator("#red-ui-palette").screenshot({ path: screenshotPath("palette") });
    assert.deepEqual([...shown.types].sort(), flowDefs.map((d) => d.type).sort(), "the put.io palette category holds exactly the package's nodes");
    // Node-RED shows "_" of a category id as a space: without a palette.label catalogue entry "put.io" reads "put io".
    assert.equal(shown.label, "put.io", `the palette category header reads "${shown.label}"`);
    for (const icon of shown.icons) {
      assert.ok(icon?.startsWith(`icons/${MODULE}/`), `palette icon ${icon} is not the package's own`);
      const url = new URL(icon!, nr.url + "/").href;
      const status = await waitFor(() => browser.responses.get(url), `the browser to load ${url}`);
      assert.equal(status, 200, `${url} answered ${status}`);
    }
  });

  it("putio-account: Connect runs the device-code login against the emulator; Done + Deploy; the deployed account validates", async () => {
    const { page } = browser;
    const user = flowDefs.find((d) => Object.values(d.defaults).some((v) => v.type === ACCOUNT_TYPE));
    assert.ok(user, "no node uses a putio-account");
    const accountProp = Object.entries(user.defaults).find(([, v]) => v.type === ACCOUNT_TYPE)![0];
    const spot = nextSpot();
    const id = await dropFromPalette(page, user.type, spot.x, spot.y);
    await openNodeDialog(page, id);
    await page.click(`#node-input-btn-${accountProp}-add`);
    await page.locator("#node-config-dialog-ok").waitFor({ state: "visible" });
    await traySettled(page);
    await page.fill("#node-config-input-name", "emulator");
    await page.fill("#node-config-input-clientId", "1234");
    await page.click("#putio-advanced-toggle");
    await page.fill("#node-config-input-apiUrl", emu.apiUrl);
    await page.fill("#node-config-input-uploadUrl", emu.uploadUrl);
    await page.fill("#node-config-input-socketUrl", emu.socketUrl);
    await page.fill("#node-config-input-webUrl", emu.apiUrl);
    await connectInDialog(page);
    await page.screenshot({ path: screenshotPath(`${ACCOUNT_TYPE}-connected`) });
    await page.click("#node-config-dialog-ok");
    await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
    accountId = await page.evaluate(() => {
      let found = "";
      RED.nodes.eachConfig((n: any) => {
        if (n.type === "putio-account") found = n.id;
      });
      return found;
    });
    assert.ok(accountId, "Add created the account config node");
    assert.equal(await page.locator(`#node-input-${accountProp}`).inputValue(), accountId, "the new account is selected in the node's dialog");
    await page.click("#node-dialog-ok");
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });

    const before = emu.requests.length;
    await page.click("#red-ui-header-button-deploy");
    await page.waitForFunction(() => !RED.nodes.dirty());
    const check = await waitFor(
      () => emu.requests.slice(before).find((r) => r.method === "GET" && r.path === "/v2/account/info" && r.token),
      "the deployed account node to check its token",
    );
    assert.equal(check.status, 200, "the deployed account's token was refused");
    assert.notEqual(check.token, emu.token, "the token comes from the device-code login, not the emulator's seed user");
    firstToken = check.token!;
    const flowFile = fs.readFileSync(path.join(nr.userDir, "flows.json"), "utf8");
    assert.ok(!flowFile.includes(check.token!), "the token must not be in the flow file");
  });

  it("putio-account: a reopened account names its account, a pasted token is checked; Connect again marks it changed, so Deploy saves the new login", async () => {
    const { page } = browser;
    assert.ok(accountId && firstToken, "the Connect test did not deploy the account");
    await page.evaluate((i) => RED.editor.editConfig("", "putio-account", i), accountId);
    await page.locator("#node-config-dialog-ok").waitFor({ state: "visible" });
    await traySettled(page);
    // Reopened, the dialog says whose token is stored; a pasted token is checked when entered.
    const state = page.locator("#putio-login-state");
    const stateIs = (re: RegExp, what: string) => waitFor(async () => re.test((await state.textContent()) ?? ""), what);
    await stateIs(/^Account: emulator \(/, "the dialog to name the stored token's account");
    await page.fill("#node-config-input-accessToken", "not-a-token");
    await page.dispatchEvent("#node-config-input-accessToken", "change");
    await stateIs(/refused this token/, "a pasted bad token to be reported as refused");
    await page.fill("#node-config-input-accessToken", emu.token);
    await page.dispatchEvent("#node-config-input-accessToken", "change");
    await stateIs(/^Account: \S+ \(/, "a pasted good token to be named");
    await page.screenshot({ path: screenshotPath(`${ACCOUNT_TYPE}-pasted`) });
    await connectInDialog(page);
    await page.click("#node-config-dialog-ok");
    await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
    assert.equal(await page.evaluate(() => RED.nodes.dirty()), true, "the new login makes the flow changed (Deploy is enabled)");
    const before = emu.requests.length;
    await page.click("#red-ui-header-button-deploy");
    await page.waitForFunction(() => !RED.nodes.dirty());
    const check = await waitFor(
      () => emu.requests.slice(before).find((r) => r.method === "GET" && r.path === "/v2/account/info" && r.token),
      "the redeployed account node to check its token",
    );
    assert.equal(check.status, 200);
    assert.notEqual(check.token, firstToken, "the redeployed account uses the new login's token");
  });

  for (const def of defs) {
    const config = def.category === "config";
    it(`${def.type}: the edit dialog opens, its fields work, Done saves (screenshot)`, async () => {
      const { page } = browser;
      let id: string;
      if (config) {
        assert.ok(def.type !== ACCOUNT_TYPE || accountId, "the Connect test did not create the account");
        id = def.type === ACCOUNT_TYPE ? accountId : "_ADD_";
        await page.evaluate(([t, i]) => RED.editor.editConfig("", t, i), [def.type, id]);
        await page.locator("#node-config-dialog-ok").waitFor({ state: "visible" });
        await traySettled(page);
        if (id === "_ADD_") id = await page.evaluate(() => RED.editor.getEditStack().slice(-1)[0].id);
      } else {
        const spot = nextSpot();
        id = await dropFromPalette(page, def.type, spot.x, spot.y);
        await openNodeDialog(page, id);
      }
      await screenshotDialog(page, def.type);
      const expected = await exerciseDialog(page, def.type, config);
      assert.ok(expected.length > 0, "the dialog has nothing to change");
      await screenshotDialog(page, `${def.type}-edited`);
      const ok = config ? "#node-config-dialog-ok" : "#node-dialog-ok";
      await page.click(ok);
      await page.locator(ok).waitFor({ state: "detached" });
      const props = await nodeProps(page, id);
      for (const e of expected) assert.deepEqual(props[e.prop], e.value, `${e.what}: Done did not save ${e.prop}`);
      for (const [k, v] of Object.entries(def.defaults)) {
        if (v.type === ACCOUNT_TYPE) assert.equal(props[k], accountId, `${k} is not the account`);
      }
    });
  }

  for (const def of defs) {
    const config = def.category === "config";
    const want = config ? ["Details"] : [...(def.inputs > 0 ? ["Inputs"] : []), ...(def.outputs > 0 ? ["Outputs"] : []), "Details"];
    it(`${def.type}: the help sidebar shows ${want.join("/")}`, async () => {
      const headings = await helpHeadings(browser.page, def.type);
      await browser.page.locator("#red-ui-sidebar").screenshot({ path: screenshotPath(`${def.type}-help`) });
      for (const h of want) assert.ok(headings.includes(h), `help of ${def.type} lacks the ${h} heading (has: ${headings.join(", ")})`);
    });
  }

  it("the whole tour had no console error, page error, failed request or HTTP error", () => {
    assert.deepEqual(browser.problems, []);
  });

  it("Node-RED logged no error during the tour and stops cleanly on SIGINT", async () => {
    await browser.close();
    const code = await nr.stop();
    assert.equal(code, 0, nr.log);
    assert.deepEqual(
      nr.log.split("\n").filter((l) => /\[error\]/.test(l)),
      [],
      "Node-RED logged errors",
    );
  });
});
