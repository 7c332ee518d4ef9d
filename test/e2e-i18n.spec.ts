/**
 * The editor in German and Turkish (headless Debian Chromium, browser language de-DE / tr-TR) on
 * Node-RED 4.1 with the packed package: a node's edit dialog shows the catalog's texts, its help
 * sidebar the translated help, and the palette the translated label. Screenshots to .sandbox/screens/.
 * Needs `npm run setup` (Chromium).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { dropFromPalette, openNodeDialog } from "./e2e/editor";
import { CHROMIUM, FLAVORS, requireSetup, ROOT, startNodeRed, type NodeRed } from "./e2e/harness";

declare const RED: any;

declare const $: any;

const SCREENS = path.join(ROOT, ".sandbox", "screens");
const catalog = (lang: string, set: string) => JSON.parse(fs.readFileSync(path.join(ROOT, "nodes", "locales", lang, `${set}.json`), "utf8"))[set];

describe("e2e i18n: the editor in German and Turkish @e2e", function () {
  this.timeout(120_000);
  let nr: NodeRed;
  before(async () => {
    requireSetup("chromium");
    fs.mkdirSync(SCREENS, { recursive: true });
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
  });
  after(async () => {
    await nr?.stop();
  });

  for (const [locale, lang, details] of [
    ["de-DE", "de", "Details"],
    ["tr-TR", "tr", "Ayrıntılar"],
  ] as const) {
    it(`${locale}: the files node's palette label, dialog labels, options and help are in ${lang}`, async () => {
      const set = "putio-files";
      const want = catalog(lang, set);
      const ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), "putio-chromium-")), {
        executablePath: CHROMIUM,
        headless: true,
        locale,
        viewport: { width: 1400, height: 900 },
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
      });
      try {
        const page = ctx.pages()[0] ?? (await ctx.newPage());
        await page.goto(nr.url);
        await page.waitForFunction(() => typeof RED !== "undefined" && RED.nodes && RED.nodes.getType && RED.nodes.getType("putio-files"), undefined, {
          timeout: 60_000,
        });
        const palette = page.locator(`.red-ui-palette-node[data-palette-type="${set}"] .red-ui-palette-label`);
        await palette.waitFor({ state: "visible" });
        assert.equal((await palette.textContent())?.trim(), want.paletteLabel);
        const id = await dropFromPalette(page, set, 300, 300);
        await openNodeDialog(page, id);
        const label = (sel: string) =>
          page
            .locator(sel)
            .first()
            .textContent()
            .then((t) => (t ?? "").trim());
        assert.equal(await label(`label[for="node-input-mode"] span`), want.label.mode);
        assert.equal(await label(`#node-input-mode option[value="walk"]`), want.option.mode.walk);
        assert.equal(await page.locator("#node-input-skipFolders").getAttribute("placeholder"), want.placeholder.skipFolders);
        await page.screenshot({ path: path.join(SCREENS, `${set}-dialog-${lang}.png`) });
        await page.evaluate((t) => RED.sidebar.help.show(t), set);
        await page.waitForFunction(() => $(".red-ui-sidebar-info .red-ui-help:visible").length > 0);
        const help: string = await page.evaluate(() => $(".red-ui-sidebar-info .red-ui-help:visible").last().text());
        const source = fs.readFileSync(path.join(ROOT, "nodes", "locales", lang, `${set}.html`), "utf8");
        const firstWords = (source.match(/<p>([^<]{20,60})/)?.[1] ?? "").trim();
        assert.ok(firstWords && help.includes(firstWords), `the help sidebar does not show the ${lang} help ("${firstWords}")`);
        assert.ok(help.includes(details), `the help has no "${details}" heading`);
        await page.locator("#red-ui-sidebar").screenshot({ path: path.join(SCREENS, `${set}-help-${lang}.png`) });
      } finally {
        await ctx.close();
      }
    });
  }
});
