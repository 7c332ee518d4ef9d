/**
 * The put.io palette as a user sees it, in headless Debian Chromium on Node-RED 4.1 with the packed
 * package, with the browser in English, German and Turkish: every node shows an icon of its own (the
 * package's file, served, not Node-RED's fallback), the nodes are listed in the order a flow uses them
 * (account info last), no label wraps onto a second line, and every help has an Examples section.
 * Screenshots of the palette: .sandbox/screenshots/palette-<lang>.png. Needs `npm run setup` (Chromium).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { categoryId, screenshotPath } from "./e2e/editor";
import { CHROMIUM, FLAVORS, MODULE, packageNodes, requireSetup, ROOT, startNodeRed, type NodeRed } from "./e2e/harness";

declare const RED: any;
declare const $: any;

/** The workflow: add a transfer, watch it, fetch and handle its files, then the tools, the account last. */
const WORKFLOW = [
  "putio-transfer-add",
  "putio-transfer-watch",
  "putio-download",
  "putio-transmission",
  "putio-sync",
  "putio-files",
  "putio-file-action",
  "putio-upload",
  "putio-transfer-action",
  "putio-zip",
  "putio-rss",
  "putio-events",
  "putio-api",
  "putio-account-copy",
  "putio-account-info",
];

/** The help's Examples heading in each language the package ships. */
const LANGS = [
  { locale: "en-US", lang: "en-US", examples: "Examples" },
  { locale: "de-DE", lang: "de", examples: "Beispiele" },
  { locale: "tr-TR", lang: "tr", examples: "Örnekler" },
] as const;

interface PaletteEntry {
  type: string;
  icon: string | null;
  /** The CSS background of the icon element: what is actually drawn. */
  drawn: string;
  label: string;
  html: string;
  /** The label as drawn (Node-RED shows "a-b" as "a - b"). */
  text: string;
  height: number;
  labelOverflows: boolean;
}

describe("e2e palette look: icons, workflow order, one-line labels, help examples (en-US, de, tr) @e2e", function () {
  this.timeout(180_000);
  const flowTypes = packageNodes()
    .filter((d) => d.category !== "config")
    .map((d) => d.type);
  let nr: NodeRed;

  before(async () => {
    requireSetup("chromium");
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
  });
  after(async () => {
    await nr?.stop();
  });

  async function withEditor<T>(locale: string, fn: (page: Page, ctx: BrowserContext) => Promise<T>): Promise<T> {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "putio-chromium-"));
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      locale,
      viewport: { width: 1400, height: 1200 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(nr.url);
      await page.waitForFunction((types) => typeof RED !== "undefined" && RED.nodes?.getType && types.every((t: string) => RED.nodes.getType(t)), flowTypes, {
        timeout: 60_000,
      });
      for (const t of flowTypes) await page.locator(`.red-ui-palette-node[data-palette-type="${t}"]`).waitFor({ state: "visible" });
      return await fn(page, ctx);
    } finally {
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  }

  function palette(page: Page): Promise<PaletteEntry[]> {
    return page.evaluate(
      (c) =>
        $(`#red-ui-palette-container-${c} .red-ui-palette-node`)
          .map((_: number, el: any) => {
            const label = $(el).find(".red-ui-palette-label");
            return {
              type: $(el).attr("data-palette-type"),
              icon: $(el).find(".red-ui-palette-icon-container").attr("data-palette-icon") ?? null,
              drawn: $(el).find(".red-ui-palette-icon").css("background-image") ?? "",
              label: $(el).attr("data-palette-label") ?? "",
              html: label.html(),
              text: label.text(),
              height: el.getBoundingClientRect().height,
              labelOverflows: label[0].scrollWidth > label[0].clientWidth + 1,
            };
          })
          .get(),
      categoryId("put.io"),
    );
  }

  it("every node shows an icon of its own: the package's file, served as SVG, not Node-RED's fallback", async () => {
    await withEditor("en-US", async (page) => {
      const shown = await palette(page);
      assert.deepEqual(shown.map((s) => s.type).sort(), [...flowTypes].sort(), "the put.io category holds exactly the package's nodes");
      const byIcon = new Map<string, string[]>();
      for (const s of shown) byIcon.set(s.icon ?? "", [...(byIcon.get(s.icon ?? "") ?? []), s.type]);
      const shared = [...byIcon].filter(([, types]) => types.length > 1).map(([icon, types]) => `${icon}: ${types.join(", ")}`);
      assert.deepEqual(shared, [], "nodes that share one icon");
      for (const s of shown) {
        const prefix = `icons/${MODULE}/`;
        assert.ok(s.icon?.startsWith(prefix), `${s.type} shows ${s.icon}, not an icon of the package`);
        assert.ok(s.drawn.includes(s.icon!), `${s.type}'s icon element draws ${s.drawn}, not ${s.icon}`);
        const file = path.join(ROOT, "icons", decodeURIComponent(s.icon!.slice(prefix.length)));
        assert.ok(fs.existsSync(file), `${s.type}: ${file} is not in the repository's icons/`);
        const res = await fetch(new URL(s.icon!, nr.url + "/"));
        assert.equal(res.status, 200, `${s.icon} answered ${res.status}`);
        assert.match(res.headers.get("content-type") ?? "", /image\/svg\+xml/);
        assert.equal(await res.text(), fs.readFileSync(file, "utf8"), `${s.icon} served is not the package's file`);
      }
    });
  });

  it("the nodes are listed in the order of a flow, account info last", async () => {
    await withEditor("en-US", async (page) => {
      const types = (await palette(page)).map((s) => s.type);
      const known = types.filter((t) => WORKFLOW.includes(t));
      assert.deepEqual(known, WORKFLOW, "the workflow nodes are not in workflow order");
      assert.equal(types[types.length - 1], "putio-account-info", "account info is not the last node");
      // Node-RED lists a category in the order of package.json's node sets: the palette shows that order.
      assert.deepEqual(
        types,
        flowTypes.filter((t) => types.includes(t)),
        "the palette order is not package.json's",
      );
    });
  });

  for (const { locale, lang, examples } of LANGS) {
    it(`${locale}: no palette label wraps, the labels are the ${lang} catalog's, every help has "${examples}" (screenshot)`, async () => {
      await withEditor(locale, async (page) => {
        const shown = await palette(page);
        const cat = categoryId("put.io");
        await page.locator(`#red-ui-palette-container-${cat}`).scrollIntoViewIfNeeded();
        await page.locator(`#red-ui-palette-container-${cat}`).screenshot({ path: screenshotPath(`palette-${lang}`) });
        for (const s of shown) {
          const catalog = JSON.parse(fs.readFileSync(path.join(ROOT, "nodes", "locales", lang, `${s.type}.json`), "utf8"))[s.type];
          assert.equal(s.label, catalog.paletteLabel, `${s.type}: the palette does not show the ${lang} label`);
        }
        // Node-RED breaks a label that does not fit into lines joined by <br> and makes the node taller.
        const wrapped = shown.filter((s) => /<br/i.test(s.html) || s.labelOverflows || s.height > 30).map((s) => `${s.type} "${s.label}" (${s.height}px)`);
        assert.deepEqual(wrapped, [], `palette labels on more than one line in ${lang}`);
        const altered = shown
          .filter((s) => s.text.replace(/\s+/g, " ").trim() !== s.label)
          .map((s) => `${s.type}: "${s.label}" is shown as "${s.text.replace(/\s+/g, " ").trim()}"`);
        assert.deepEqual(altered, [], `palette labels not shown as written in ${lang}`);
        const missing: string[] = [];
        for (const t of flowTypes) {
          await page.evaluate((type) => RED.sidebar.help.show(type), t);
          await page.waitForFunction(() => $(".red-ui-sidebar-info .red-ui-help:visible").length > 0);
          const help = await page.evaluate(() => {
            const h = $(".red-ui-sidebar-info .red-ui-help:visible").last();
            return {
              headings: h
                .find("h3")
                .map((_: number, e: any) => $(e).text().trim())
                .get() as string[],
              text: h.text() as string,
            };
          });
          const at = help.headings.indexOf(examples);
          const source = fs.readFileSync(path.join(ROOT, "nodes", "locales", lang, `${t}.html`), "utf8");
          const firstWords = (source.match(/<p>([^<]{20,60})/)?.[1] ?? "").trim();
          if (at < 0 || !help.text.includes(firstWords)) missing.push(`${t} (headings: ${help.headings.join(", ")})`);
        }
        assert.deepEqual(missing, [], `help without a "${examples}" section in ${lang}`);
      });
    });
  }
});
