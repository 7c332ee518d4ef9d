/**
 * The editor as a newcomer meets it (headless Chromium, Node-RED 4.1, the packed package): one name
 * per node (palette = canvas default = help title), port labels, the watch dialog's "Statuses" label
 * beside its first checkbox, the download and Transmission dialogs in tabs with their placeholders
 * read whole, and put.io nodes dropped before any account existed getting the first account when it
 * is created.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { startEmulator, type Emulator } from "./emulator";
import { cancelOpenDialogs, dropFromPalette, openEditor, openNodeDialog, traySettled, type Browser } from "./e2e/editor";
import { FLAVORS, packageNodes, requireSetup, ROOT, startNodeRed, waitFor, type NodeRed } from "./e2e/harness";

declare const RED: any;
declare const $: any;

const LANGUAGES = ["en-US", "de", "tr"];

/** A catalog text of a node in one language, read from the package's locales. */
function catalogText(type: string, lang: string, key: string): string {
  const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, "nodes", "locales", lang, `${type}.json`), "utf8"));
  return key.split(".").reduce((o, k) => o?.[k], catalog[type]);
}

/** Shows a tab of a dialog grouped by RED.tabs (tab ids `<prefix>-tab-<t>`). */
async function showTabOf(page: Page, prefix: string, t: string): Promise<void> {
  // Node-RED's tabs take two clicks within 400 ms (on any tab) as a double-click, which does not switch.
  await page.waitForTimeout(450);
  await page.click(`#${prefix}-tabs a[href="#${prefix}-tab-${t}"]`);
  await page.locator(`#${prefix}-tab-${t}`).waitFor({ state: "visible" });
}

/** The texts (in every language) that do not fit, as placeholder, in the width of a visible input. */
async function placeholdersCutOff(page: Page, input: string, texts: string[]): Promise<string[]> {
  return page.evaluate(
    ({ sel, all }) => {
      const el = $(sel)[0];
      const cs = getComputedStyle(el);
      const ctx = document.createElement("canvas").getContext("2d")!;
      ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      return all.filter((t: string) => ctx.measureText(t).width > room).map((t: string) => `"${t}" (${Math.ceil(ctx.measureText(t).width)} px in ${room} px)`);
    },
    { sel: input, all: texts },
  );
}

/** Nodes whose canvas label names the operation chosen in the dialog ("move", "list files"), like core's change node. */
const LABELLED_BY_OPERATION = new Set(["putio-file-action", "putio-transfer-action", "putio-files", "putio-rss"]);

describe("e2e editor: names, port labels, the first account (headless Chromium, Node-RED 4.1) @e2e", function () {
  this.timeout(180_000);
  const flowDefs = packageNodes().filter((d) => d.category !== "config");
  let emu: Emulator;
  let nr: NodeRed;
  let browser: Browser;

  before(async () => {
    requireSetup("chromium");
    emu = await startEmulator();
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
    browser = await openEditor(nr.url);
  });
  // One failed test must not leave a dialog over the palette for the rest.
  afterEach(async () => {
    if (browser) await cancelOpenDialogs(browser.page);
  });
  after(async () => {
    await browser?.close();
    nr?.kill();
    await emu?.close();
  });

  it("one name per node: the palette label is the canvas label of a fresh node and the help's title", async () => {
    const { page } = browser;
    const names: Array<{ type: string; palette: string; shown: string; canvas: string; help: string }> = [];
    for (const d of flowDefs) {
      const palette: string = await page.evaluate((t) => RED.utils.getPaletteLabel(t, RED.nodes.getType(t)), d.type);
      const shown: string = await page.evaluate(
        (t) => $(`.red-ui-palette-node[data-palette-type="${t}"] .red-ui-palette-label`).text().replace(/\s+/g, " ").trim(),
        d.type,
      );
      const canvas: string = await page.evaluate((t) => {
        const def = RED.nodes.getType(t);
        const n: any = { type: t, _def: def, _: def._ };
        for (const k of Object.keys(def.defaults)) n[k] = def.defaults[k].value;
        return RED.utils.getNodeLabel(n, t);
      }, d.type);
      await page.evaluate((t) => RED.sidebar.help.show(t), d.type);
      const help: string = await page
        .waitForFunction(() => $(".red-ui-sidebar-info .red-ui-help-title:visible, .red-ui-sidebar-info .red-ui-info-header:visible").text().trim() || null)
        .then((h) => h.jsonValue() as Promise<string>)
        .catch(() => "");
      names.push({ type: d.type, palette, shown, canvas, help });
    }
    for (const n of names) {
      assert.equal(n.shown, n.palette, `${n.type}: the palette shows "${n.shown}"`);
      assert.doesNotMatch(n.palette, /^putio-/, `${n.type}: the palette shows the type name`);
      if (!LABELLED_BY_OPERATION.has(n.type))
        assert.equal(n.canvas, n.palette, `${n.type}: dropped, it reads "${n.canvas}" on the canvas, "${n.palette}" in the palette`);
      if (n.help) assert.ok(n.help.includes(n.palette), `${n.type}: the help's title "${n.help}" is not "${n.palette}"`);
    }
  });

  it("every port of every node has a label", async () => {
    const { page } = browser;
    const missing: string[] = await page.evaluate(
      (types) => {
        const out: string[] = [];
        for (const t of types) {
          const def = RED.nodes.getType(t);
          const n: any = { type: t, _def: def, _: def._ };
          for (const k of Object.keys(def.defaults)) n[k] = def.defaults[k].value;
          const outputs = n.outputs ?? def.outputs ?? 0;
          for (let i = 0; i < outputs; i++) {
            const label = typeof def.outputLabels === "function" ? def.outputLabels.call(n, i) : def.outputLabels?.[i];
            if (!label || /^putio-/.test(label)) out.push(`${t} output ${i}`);
          }
          if ((def.inputs ?? 0) > 0) {
            const label = typeof def.inputLabels === "function" ? def.inputLabels.call(n, 0) : def.inputLabels;
            if (!label || /^putio-/.test(label)) out.push(`${t} input`);
          }
        }
        return out;
      },
      flowDefs.map((d) => d.type),
    );
    assert.deepEqual(missing, []);
  });

  it('the watch dialog: "Statuses" sits beside the first checkbox, not the last', async () => {
    const { page } = browser;
    const id = await dropFromPalette(page, "putio-transfer-watch", 300, 200);
    await openNodeDialog(page, id);
    const label = await page.locator(".putio-watch-statuses-label").boundingBox();
    const first = await page.locator(".putio-watch-status").first().boundingBox();
    const last = await page.locator(".putio-watch-status").last().boundingBox();
    assert.ok(label && first && last);
    assert.ok(Math.abs(label.y - first.y) < Math.abs(label.y - last.y), `label at y ${label.y}, first checkbox ${first.y}, last ${last.y}`);
    assert.ok(Math.abs(label.y - first.y) <= 12, `label at y ${label.y}, first checkbox ${first.y}`);
    await page.click("#node-dialog-cancel");
    await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    await page.evaluate((i) => {
      RED.nodes.remove(i);
      RED.view.redraw(true);
    }, id);
  });

  it("the download dialog: its settings in five tabs; put.io folders offered from msg.payload by one button; local folders completed", async () => {
    const { page } = browser;
    const id = await dropFromPalette(page, "putio-download", 300, 440);
    await openNodeDialog(page, id, "#putio-download-tabs li a");
    const tabs: string[] = await page.evaluate(() =>
      $("#putio-download-tabs li a")
        .map((_: number, a: any) => $(a).text().trim())
        .get(),
    );
    assert.deepEqual(tabs, ["What", "Where", "Safety", "Limits", "Media"]);
    const showTab = (t: string) => showTabOf(page, "putio-download", t);
    const TAB_IDS = ["what", "where", "safety", "limits", "media"];
    for (const [i] of tabs.entries()) {
      await showTab(TAB_IDS[i]);
      const rows: number = await page.evaluate(() => $("#putio-download-tabs-content .form-row:visible").length);
      assert.ok(rows >= 2 && rows <= 8, `tab ${tabs[i]}: ${rows} rows`);
    }
    const labels: string[] = await page.evaluate(() =>
      $(".red-ui-tray:last .form-row > label")
        .map((_: number, l: any) => $(l).text().trim())
        .get()
        .filter((t: string) => t),
    );
    assert.deepEqual(
      labels.filter((l, i) => labels.indexOf(l) !== i),
      [],
      "no two rows carry the same label",
    );

    // The source is msg.payload; the browse button makes it a path and opens the picker.
    await showTab("what");
    assert.equal(await page.evaluate(() => $("#node-input-source").typedInput("type")), "msg");
    const diag = await page.evaluate(() => [
      typeof RED.putio?.folderBrowse,
      $(".putio-folder-browse").length,
      $("#node-input-source").next(".red-ui-typedInput-container").length,
    ]);
    assert.deepEqual(diag, ["function", 1, 1], JSON.stringify(browser.problems));
    await page.click(".putio-folder-browse");
    assert.equal(await page.evaluate(() => $("#node-input-source").typedInput("type")), "str");
    await page.locator(".red-ui-autoComplete-container").waitFor({ state: "visible" });
    await page.keyboard.press("Escape");

    // The local folder: typing a path offers the host's folders.
    await showTab("where");
    const target = page.locator("#putio-download-tab-where .red-ui-typedInput-container input.red-ui-typedInput-input").first();
    await target.click();
    await target.fill("/tm");
    await target.press("p");
    await page.locator(".red-ui-autoComplete-container").waitFor({ state: "visible" });
    const offered: string = await page.evaluate(() => $(".red-ui-autoComplete-container").text());
    assert.match(offered, /\/tmp/);
    await page.keyboard.press("Escape");

    // The subtitle languages' placeholder is read whole, in every language.
    await showTab("media");
    assert.equal(
      await page.getAttribute("#node-input-subtitleLanguages", "placeholder"),
      catalogText("putio-download", "en-US", "placeholder.subtitleLanguages"),
    );
    // The placeholder is one word; what an empty field means is said whole in the tooltip.
    assert.equal(await page.getAttribute("#node-input-subtitleLanguages", "title"), catalogText("putio-download", "en-US", "tip.subtitleLanguages"));
    for (const l of LANGUAGES)
      assert.match(catalogText("putio-download", l, "tip.subtitleLanguages") ?? "", /\S+ \S+ \S+/, `${l}: the tooltip of the subtitle languages`);
    assert.deepEqual(
      await placeholdersCutOff(
        page,
        "#node-input-subtitleLanguages",
        LANGUAGES.map((l) => catalogText("putio-download", l, "placeholder.subtitleLanguages")),
      ),
      [],
    );
    await page.click("#node-dialog-cancel");
    await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    await page.evaluate((i) => {
      RED.nodes.remove(i);
      RED.view.redraw(true);
    }, id);
  });

  it("the Transmission dialog: its settings in three tabs, every field but the name in one; the subtitle placeholder read whole", async () => {
    const { page } = browser;
    const id = await dropFromPalette(page, "putio-transmission", 300, 560);
    await openNodeDialog(page, id, "#putio-transmission-tabs li a");
    const tabs: string[] = await page.evaluate(() =>
      $("#putio-transmission-tabs li a")
        .map((_: number, a: any) => $(a).text().trim())
        .get(),
    );
    assert.deepEqual(tabs, ["Connection", "Folders", "Media"]);
    const TAB_IDS = ["connection", "folders", "media"];
    // Every setting of the definition (credentials too) sits in exactly one tab, the name below them all.
    const placed: Record<string, string[]> = await page.evaluate(() => {
      const def = RED.nodes.getType("putio-transmission");
      const out: Record<string, string[]> = {};
      for (const k of [...Object.keys(def.defaults), ...Object.keys(def.credentials ?? {})]) {
        if (k.endsWith("Type")) continue;
        out[k] = $(`#node-input-${k}`)
          .parents("[id^=putio-transmission-tab-]")
          .map((_: number, e: any) => e.id.replace("putio-transmission-tab-", ""))
          .get();
      }
      return out;
    });
    for (const [k, where] of Object.entries(placed)) {
      if (k === "name") assert.deepEqual(where, [], "the name is in no tab");
      else assert.equal(where.length, 1, `${k} is in ${where.length} tabs`);
    }
    for (const t of TAB_IDS) {
      await showTabOf(page, "putio-transmission", t);
      const rows: number = await page.evaluate(() => $("#putio-transmission-tabs-content .form-row:visible").length);
      assert.ok(rows >= 2 && rows <= 8, `tab ${t}: ${rows} rows`);
      const hidden: string[] = await page.evaluate(
        (tab) =>
          $(`#putio-transmission-tab-${tab} [id^=node-input-]`)
            .filter(
              (_: number, e: any) =>
                !$(e).is(":visible") &&
                !$(e).closest(".red-ui-typedInput-container").length &&
                !$(e).closest(".form-row").is(".putio-transmission-auth, .putio-transmission-extract, .putio-transmission-app"),
            )
            .map((_: number, e: any) => e.id)
            .get(),
        t,
      );
      assert.deepEqual(hidden, [], `tab ${t}: fields not shown`);
    }
    // Rows of an option show with it: the archive password with extraction, the app's address and key with its clean-up.
    for (const [option, tab, fields] of [
      ["extract", "media", ["archivePassword"]],
      ["appCleanup", "connection", ["appUrl", "appApiKey"]],
    ] as const) {
      await showTabOf(page, "putio-transmission", tab);
      const shown = () => page.evaluate((f) => f.map((k: string) => $(`#node-input-${k}`).is(":visible")), [...fields]);
      assert.ok(
        (await shown()).every((v) => !v),
        `${fields.join(", ")} hidden while ${option} is off`,
      );
      await page.click(`#node-input-${option}`);
      assert.ok(
        (await shown()).every((v) => v),
        `${fields.join(", ")} shown once ${option} is on`,
      );
      await page.click(`#node-input-${option}`);
    }
    const labels: string[] = await page.evaluate(() =>
      $(".red-ui-tray:last .form-row > label")
        .map((_: number, l: any) => $(l).text().trim())
        .get()
        .filter((t: string) => t),
    );
    assert.deepEqual(
      labels.filter((l, i) => labels.indexOf(l) !== i),
      [],
      "no two rows carry the same label",
    );
    // The folder mapping still follows the folders typed in.
    await showTabOf(page, "putio-transmission", "folders");
    await page.fill("#node-input-downloadDir", "/srv/dl");
    assert.match(await page.locator("#putio-transmission-mapping").innerText(), /\/srv\/dl\/tv/);

    await showTabOf(page, "putio-transmission", "media");
    assert.equal(
      await page.getAttribute("#node-input-subtitleLanguages", "placeholder"),
      catalogText("putio-transmission", "en-US", "placeholder.subtitleLanguages"),
    );
    // The placeholder is one word; what an empty field means is said whole in the tooltip.
    assert.equal(await page.getAttribute("#node-input-subtitleLanguages", "title"), catalogText("putio-transmission", "en-US", "tip.subtitleLanguages"));
    for (const l of LANGUAGES)
      assert.match(catalogText("putio-transmission", l, "tip.subtitleLanguages") ?? "", /\S+ \S+ \S+/, `${l}: the tooltip of the subtitle languages`);
    assert.deepEqual(
      await placeholdersCutOff(
        page,
        "#node-input-subtitleLanguages",
        LANGUAGES.map((l) => catalogText("putio-transmission", l, "placeholder.subtitleLanguages")),
      ),
      [],
    );
    await page.click("#node-dialog-cancel");
    await page.locator("#node-dialog-cancel").waitFor({ state: "detached" });
    await page.evaluate((i) => {
      RED.nodes.remove(i);
      RED.view.redraw(true);
    }, id);
  });

  it("nodes dropped before the first account existed get it when it is created; a second account changes nothing", async () => {
    const { page } = browser;
    const add = await dropFromPalette(page, "putio-transfer-add", 200, 320);
    const dl = await dropFromPalette(page, "putio-download", 420, 320);
    const accountOf = (i: string): Promise<string> => page.evaluate((x) => RED.nodes.node(x).account, i);
    assert.equal(await accountOf(add), "");
    assert.equal(await accountOf(dl), "");
    // The user opens one of them and adds the account there, pasting a token.
    await openNodeDialog(page, add);
    await page.click("#node-input-btn-account-add");
    await page.locator("#node-config-dialog-ok").waitFor({ state: "visible" });
    await traySettled(page);
    await page.fill("#node-config-input-name", "first");
    await page.click("#putio-advanced-toggle");
    await page.fill("#node-config-input-apiUrl", emu.apiUrl);
    await page.fill("#node-config-input-accessToken", emu.token);
    await page.click("#node-config-dialog-ok");
    await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
    await page.click("#node-dialog-ok");
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
    const accounts: string[] = await page.evaluate(() => {
      const ids: string[] = [];
      RED.nodes.eachConfig((c: any) => void (c.type === "putio-account" && ids.push(c.id)));
      return ids;
    });
    assert.equal(accounts.length, 1);
    await waitFor(async () => (await accountOf(dl)) === accounts[0], "the other node to get the first account");
    assert.equal(await accountOf(add), accounts[0]);
    const errors: string[] = await page.evaluate((x) => RED.nodes.node(x).validationErrors ?? [], dl);
    assert.ok(!errors.includes("account"), `the download node's account is valid now (no warning at Deploy): ${errors.join(", ")}`);
    const users: boolean = await page.evaluate(({ a, x }) => RED.nodes.node(a).users.includes(RED.nodes.node(x)), { a: accounts[0], x: dl });
    assert.ok(users, "the account counts it among its users");

    // A node dropped now, and a second account made from it: the first account's nodes keep it.
    const later = await dropFromPalette(page, "putio-zip", 640, 320);
    await page.evaluate((x) => {
      RED.nodes.node(x).account = "";
    }, later);
    await openNodeDialog(page, later);
    await page.click("#node-input-btn-account-add");
    await page.locator("#node-config-dialog-ok").waitFor({ state: "visible" });
    await traySettled(page);
    await page.fill("#node-config-input-name", "second");
    await page.click("#node-config-dialog-ok");
    await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
    await page.click("#node-dialog-ok");
    await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await accountOf(dl), accounts[0]);
    assert.equal(await accountOf(add), accounts[0]);
    assert.deepEqual(browser.problems, []);
  });
});
