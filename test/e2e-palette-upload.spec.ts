/**
 * Menu → Manage palette → Install → Upload a .tgz: the route many users take for a package not yet in
 * the catalogue, in real Node-RED 5 (Node 22) driven in headless Chromium. Node-RED installs the
 * tarball with npm into an empty userDir; every node of package.json appears in the palette without
 * a restart, loads without error, and the editor logs no problem. Needs `npm run setup`.
 */
import assert from "node:assert/strict";
import { openEditor, type Browser } from "./e2e/editor";
import { FLAVORS, MODULE, packageNodes, packPackage, requireSetup, startNodeRed, waitFor, type NodeRed, type NodeSet } from "./e2e/harness";

declare const RED: any;

describe("e2e palette upload: a .tgz through Manage palette in Node-RED 5 (headless Chromium) @e2e", function () {
  this.timeout(600_000);
  let nr: NodeRed | undefined;
  let browser: Browser | undefined;

  after(async () => {
    await browser?.close();
    nr?.kill();
  });

  it("uploads the packed package: every node appears in the palette, loaded without error", async () => {
    requireSetup("chromium");
    requireSetup("nr5");
    const tarball = await packPackage();
    nr = await startNodeRed({ flavor: FLAVORS.nr5, install: false });
    browser = await openEditor(nr.url);
    const { page } = browser;
    assert.equal(await page.evaluate(() => !!RED.nodes.getType("putio-account")), false, "not installed yet");
    await page.evaluate(() => RED.actions.invoke("core:manage-palette"));
    await page.locator(".red-ui-palette-editor-upload-button").first().waitFor({ state: "attached" });
    // The Install tab, where the upload's confirmation shows.
    await page.locator('a[href="#install"]').first().click();
    await page.setInputFiles("#red-ui-palette-editor-upload-form input[type=file]", tarball);
    const upload = page.locator(".red-ui-palette-editor-upload-buttons .primary");
    await upload.waitFor({ state: "visible" });
    await upload.click();
    const types = packageNodes().map((d) => d.type);
    await waitFor(() => page.evaluate((ts) => ts.every((t) => !!RED.nodes.getType(t)), types), "every node type in the editor after the upload", 480_000);
    const sets = (await nr.api<NodeSet[]>("GET", "/nodes")).body.filter((s) => s.module === MODULE);
    assert.ok(sets.length > 0);
    for (const s of sets) {
      assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
      assert.ok(s.enabled, `${s.name} is enabled`);
    }
    assert.deepEqual(sets.flatMap((s) => s.types).sort(), [...types].sort());
    assert.deepEqual(browser.problems, []);
    assert.deepEqual(
      nr.log.split("\n").filter((l) => /\[error\]/.test(l)),
      [],
    );
  });
});
