/**
 * The Node-RED editor in headless Debian Chromium (playwright-core), with a record of every console
 * error, page error, failed request and HTTP error the page sees, and generic dialog drivers that
 * work from a node's editor definition (typedInputs, selects, checkboxes, the name field).
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, SCREENSHOTS } from "./harness";

declare const RED: any;
declare const $: any;

export interface Browser {
  ctx: BrowserContext;
  page: Page;
  /** Console errors, page errors, failed requests and HTTP errors of the editor page. */
  problems: string[];
  /** Status of every response the editor page received, by URL. */
  responses: Map<string, number>;
  close(): Promise<void>;
}

export async function openEditor(url: string): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "putio-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const problems: string[] = [];
  const responses = new Map<string, number>();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ""}`));
  page.on("response", (r) => {
    responses.set(r.url(), r.status());
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  page.on("dialog", (d) => {
    problems.push(`unexpected browser dialog: ${d.message()}`);
    void d.dismiss();
  });
  let closed = false;
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => (window as any).RED?.workspaces?.active?.() && RED.nodes.getType("inject"), null, { timeout: 60_000 });
  return {
    ctx,
    page,
    problems,
    responses,
    close: async () => {
      if (closed) return;
      closed = true;
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function screenshotPath(name: string): string {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return path.join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, "_")}.png`);
}

/** Waits until no editor tray is sliding. */
export async function traySettled(page: Page): Promise<void> {
  await page.waitForFunction(() => $(".red-ui-tray:animated").length === 0 && $(".red-ui-tray").length > 0);
}

/** Node-RED's palette category id for a category name (its escapeCategory). */
export function categoryId(category: string): string {
  return category.replace(/[\x00-\x2c\x2e-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/g, "_");
}

/** Drags a type from the palette onto the workspace; returns the new node's id. */
export async function dropFromPalette(page: Page, type: string, x: number, y: number): Promise<string> {
  const before: string[] = await page.evaluate((t) => RED.nodes.filterNodes({ type: t }).map((n: any) => n.id), type);
  await page.dragAndDrop(`#red-ui-palette .red-ui-palette-node[data-palette-type="${type}"]`, "#red-ui-workspace-chart", { targetPosition: { x, y } });
  const after: string[] = await page.evaluate((t) => RED.nodes.filterNodes({ type: t }).map((n: any) => n.id), type);
  const added = after.filter((id) => !before.includes(id));
  if (added.length !== 1) throw new Error(`dragging ${type} from the palette added ${added.length} nodes`);
  return added[0];
}

/**
 * Opens a workspace node's edit dialog by double-clicking it, as a user does. `ready`: a selector
 * that exists once the dialog's oneditprepare has run (on a busy machine the tray shows before it).
 */
export async function openNodeDialog(page: Page, id: string, ready?: string): Promise<void> {
  await page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"] rect.red-ui-flow-node`).dblclick();
  await page.locator("#node-dialog-ok").waitFor({ state: "visible" });
  if (ready) await page.locator(ready).first().waitFor({ state: "attached" });
  await traySettled(page);
}

/** Closes whatever edit dialogs a failed test left open, so the next test starts on a free canvas. */
export async function cancelOpenDialogs(page: Page): Promise<void> {
  // An open menu (a typedInput's options) covers the buttons: Escape closes it first.
  if (await page.locator(".red-ui-typedInput-options:visible").count()) await page.keyboard.press("Escape");
  const cancel = page.locator("#node-dialog-cancel:visible, #node-config-dialog-cancel:visible");
  for (let i = 0; i < 4 && (await cancel.count()) > 0; i++) {
    // The editor's own close where a click cannot land.
    await cancel
      .last()
      .click({ timeout: 5_000 })
      .catch(() => page.evaluate(() => RED.tray.close()));
    await page.waitForTimeout(400);
  }
}

/**
 * Screenshots the open dialog (the last tray) as `<name>.png`; when its form scrolls, also its
 * bottom as `<name>-bottom.png`, so every row can be looked at.
 */
export async function screenshotDialog(page: Page, name: string): Promise<void> {
  const tray = page.locator(".red-ui-tray").last();
  await tray.screenshot({ path: screenshotPath(name) });
  const scrolled: boolean = await page.evaluate(() => {
    const el = $(".red-ui-tray")
      .last()
      .find("*")
      .filter((_: number, e: any) => e.scrollHeight > e.clientHeight + 5 && /auto|scroll/.test(getComputedStyle(e).overflowY))
      .get(0);
    if (!el) return false;
    el.scrollTop = el.scrollHeight;
    return true;
  });
  if (!scrolled) return;
  await tray.screenshot({ path: screenshotPath(`${name}-bottom`) });
  await page.evaluate(() =>
    $(".red-ui-tray")
      .last()
      .find("*")
      .each((_: number, e: any) => void (e.scrollTop = 0)),
  );
}

export interface Expectation {
  prop: string;
  value: unknown;
  what: string;
}

/**
 * Changes what the dialog offers, generically: the name, every visible typedInput (another type
 * from its menu and a value), the first select of a plain property (another option), and the first
 * checkbox of a property, and an existing config node in each config select. Returns what the node should hold after Done.
 */
export async function exerciseDialog(page: Page, type: string, config: boolean): Promise<Expectation[]> {
  const prefix = config ? "node-config-input-" : "node-input-";
  const form = config ? "#node-config-dialog-edit-form" : "#dialog-form";
  const defaults: Record<string, { value?: unknown; type?: string }> = await page.evaluate(
    (t) => Object.fromEntries(Object.entries(RED.nodes.getType(t).defaults).map(([k, d]: [string, any]) => [k, { value: d.value, type: d.type }])),
    type,
  );
  const out: Expectation[] = [];
  const visible = async (sel: string) => (await page.locator(sel).count()) === 1 && page.locator(sel).isVisible();

  if ("name" in defaults && (await visible(`${form} #${prefix}name`))) {
    const v = `e2e ${type}`;
    await page.locator(`${form} #${prefix}name`).fill(v);
    out.push({ prop: "name", value: v, what: "name field" });
  }

  const typedIds: string[] = await page.evaluate(
    ([f, p]) =>
      $(`${f} input.red-ui-typedInput[id^="${p}"]`)
        .filter((_: number, el: any) => $(el).next(".red-ui-typedInput-container").is(":visible"))
        .map((_: number, el: any) => el.id)
        .get(),
    [form, prefix],
  );
  for (const id of typedIds) {
    const prop = id.slice(prefix.length);
    if (!(prop in defaults)) continue;
    const container = page.locator(`${form} #${id} + .red-ui-typedInput-container`);
    const typeProp = `${prop}Type`;
    let chosen: string | undefined;
    const select = container.locator("button.red-ui-typedInput-type-select");
    if (await select.isEnabled()) {
      await select.click();
      const menu = page.locator(".red-ui-typedInput-options:visible");
      await menu.waitFor();
      const offered: string[] = await menu.locator("a[value]").evaluateAll((as) => as.map((a) => a.getAttribute("value") ?? ""));
      const current = await page.evaluate((i) => $(`#${i}`).typedInput("type"), id);
      chosen = ["str", "msg", "env", "flow", "global"].find((t) => t !== current && offered.includes(t)) ?? offered.find((t) => t !== current);
      if (chosen) await menu.locator(`a[value="${chosen}"]`).click();
      else await page.keyboard.press("Escape");
      // The menu fades out: on a busy machine it still covers the next field's button for a while.
      // A click that reached the menu while it was still opening is lost (the menu stays): choose again.
      const open = page.locator(".red-ui-typedInput-options:visible");
      for (let attempt = 1; ; attempt++) {
        try {
          await open.waitFor({ state: "hidden", timeout: 10_000 });
          break;
        } catch (err) {
          if (attempt === 3) throw err;
          const now = await page.evaluate((i) => $(`#${i}`).typedInput("type"), id);
          const option = open.locator(`a[value="${chosen}"]`);
          if (chosen && now !== chosen && (await option.count())) await option.click();
          else await page.keyboard.press("Escape");
        }
      }
    }
    const input = container.locator("input.red-ui-typedInput-input");
    if (await input.isVisible()) {
      const v = `e2e_${prop}`;
      await input.fill(v);
      out.push({ prop, value: v, what: `typedInput ${prop} value` });
      if (chosen && typeProp in defaults) out.push({ prop: typeProp, value: chosen, what: `typedInput ${prop} type` });
    }
  }

  const selects: Array<{ id: string; options: string[]; current: string }> = await page.evaluate(
    ([f, p]) =>
      $(`${f} select[id^="${p}"]:visible`)
        .map((_: number, el: any) => ({
          id: el.id,
          options: $(el)
            .find("option")
            .map((_i: number, o: any) => o.value)
            .get(),
          current: $(el).val(),
        }))
        .get(),
    [form, prefix],
  );
  // Config-node selects ("none" until the user picks one): pick the first existing config node.
  for (const s of selects) {
    const prop = s.id.slice(prefix.length);
    if (!(prop in defaults) || !defaults[prop].type) continue;
    const v = s.options.find((o) => o && o !== "_ADD_");
    if (v && v !== s.current) {
      await page.locator(`${form} #${s.id}`).selectOption(v);
      out.push({ prop, value: v, what: `config select ${s.id}` });
    }
  }
  const plainSelect = selects.find((s) => {
    const prop = s.id.slice(prefix.length);
    return prop in defaults && !defaults[prop].type && s.options.some((o) => o !== s.current);
  });
  if (plainSelect) {
    const v = [...plainSelect.options].reverse().find((o) => o !== plainSelect.current)!;
    await page.locator(`${form} #${plainSelect.id}`).selectOption(v);
    out.push({ prop: plainSelect.id.slice(prefix.length), value: v, what: `select ${plainSelect.id}` });
  }

  const boxes: Array<{ id: string; checked: boolean }> = await page.evaluate(
    ([f, p]) =>
      $(`${f} input[type=checkbox][id^="${p}"]:visible`)
        .map((_: number, el: any) => ({ id: el.id, checked: el.checked }))
        .get(),
    [form, prefix],
  );
  const box = boxes.find((b) => b.id.slice(prefix.length) in defaults);
  if (box) {
    await page.locator(`${form} #${box.id}`).setChecked(!box.checked);
    out.push({ prop: box.id.slice(prefix.length), value: !box.checked, what: `checkbox ${box.id}` });
  }
  return out;
}

/** The node's properties as the editor holds them. */
export function nodeProps(page: Page, id: string): Promise<Record<string, unknown>> {
  return page.evaluate((i) => {
    const n = RED.nodes.node(i);
    if (!n) return {};
    return Object.fromEntries(Object.keys(n._def.defaults).map((k) => [k, n[k]]));
  }, id);
}

/** The h3 headings of the help sidebar for a node type. */
export async function helpHeadings(page: Page, type: string): Promise<string[]> {
  await page.evaluate((t) => RED.sidebar.help.show(t), type);
  await page.waitForFunction(() => $(".red-ui-sidebar-info .red-ui-help:visible").length > 0);
  return page.evaluate(() =>
    $(".red-ui-sidebar-info .red-ui-help:visible")
      .last()
      .find("h3")
      .map((_: number, h: any) => $(h).text().trim())
      .get(),
  );
}
