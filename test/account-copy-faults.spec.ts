/**
 * lib/copy against B's failures: no text of a copy (failed entries, the thrown error) ever holds A's
 * storage URL, a piece of its signature or a token, whichever call of B fails and however.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import fc from "fast-check";
import { PutioClient } from "../lib/client";
import { copyBetweenAccounts, pollingWaiter, type CopySummary } from "../lib/copy";
import { hideStorageUrls, HIDDEN_URL } from "../lib/copy/redact";
import type { ApiFault } from "./emulator/knobs";
import type { Emulator } from "./emulator";
import { allText, closeTwoAccounts, startTwoAccounts } from "./support/copy-accounts";
import { whileClockRuns } from "./support/emulator-clock";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);

describe("lib/copy: no storage URL or token in any text, whatever B answers", function () {
  this.timeout(120_000);
  let emu: Emulator;
  let tokenB: string;
  let a: PutioClient;
  let b: PutioClient;
  beforeEach(async () => ({ emu, tokenB, a, b } = await startTwoAccounts({ baseDelayMs: 1, maxDelayMs: 5, retries: 2 })));
  afterEach(() => closeTwoAccounts({ emu, a, b }));

  it("hideStorageUrls: whole, cut short and known URLs go; other URLs stay", () => {
    const url = "https://s12.put.io/download/4711?u=c2lnbmVk.abcdef";
    assert.equal(hideStorageUrls(`add transfer "${url}" failed`), `add transfer "${HIDDEN_URL}" failed`);
    assert.equal(hideStorageUrls(`add transfer "${url.slice(0, 30)}..."`), `add transfer "${HIDDEN_URL}"`);
    const odd = "http://127.0.0.1:9/x/abc";
    assert.equal(hideStorageUrls(`see ${odd.slice(0, 20)}...`, [odd]), `see ${HIDDEN_URL}`);
    assert.equal(hideStorageUrls("solve it at https://app.put.io/captcha"), "solve it at https://app.put.io/captcha");
  });

  it("property: every failure path of B (before or after the change took effect) leaves no URL, signature or token in a text", async () => {
    const routes: Array<{ method: string; path: string | RegExp }> = [
      { method: "POST", path: "/v2/transfers/add" },
      { method: "GET", path: /^\/v2\/transfers\/\d+$/ },
      { method: "POST", path: "/v2/transfers/clean" },
      { method: "GET", path: /^\/v2\/files\/\d+$/ },
      { method: "POST", path: "/v2/files/rename" },
      { method: "POST", path: "/v2/files/move" },
      { method: "POST", path: "/v2/files/create-folder" },
      { method: "GET", path: "/v2/files/list" },
      { method: "POST", path: "/v2/files/delete" },
    ];
    const faultArb = fc.record({
      route: fc.constantFrom(...routes),
      status: fc.constantFrom(400, 401, 403, 404, 500, 502, 503),
      after: fc.boolean(),
      quote: fc.boolean(),
      skip: fc.nat({ max: 3 }),
      times: fc.integer({ min: 1, max: 3 }),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(faultArb, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.boolean(), async (faults, deleteOnA, corrupt) => {
        run++;
        emu.knobs.apiFaults = [];
        const folder = emu.state.addFolder(0, `F${run}`);
        const files = [0, 1, 2].map((i) => emu.state.addFile(folder.id, `f${i}.bin`, crypto.randomBytes(200 + i)));
        if (corrupt) emu.state.corruptCrc(files[1]!.id);
        // Each file's storage URL as A hands it out (the same one each time: no expiry set).
        const urls = await Promise.all(files.map((f) => a.files.downloadUrl(f.id)));
        // Fault scripts take effect after `skip` matching requests: at the first, second… file.
        const scripted: ApiFault[] = [];
        for (const f of faults) {
          scripted.push({
            skip: f.skip,
            ...f.route,
            token: tokenB,
            status: f.status,
            after: f.after,
            times: f.times,
            errorType: f.status === 403 ? "NOT_ENOUGH_DISK_SPACE" : undefined,
            message: f.quote ? 'Could not add "{url}": refused' : undefined,
          });
        }
        emu.knobs.apiFaults = scripted;
        const p = copyBetweenAccounts({
          from: a,
          to: b,
          sourceId: folder.id,
          targetFolderId: 0,
          concurrency: 2,
          addAttempts: 2,
          addBackoffMs: { base: 1, max: 2 },
          waitFor: pollingWaiter(b, { baseMs: 2, maxMs: 10 }),
        });
        if (deleteOnA) {
          // A's file goes while B's transfer of it waits (the clock stands still): that transfer ends in ERROR.
          let settled = false;
          p.then(
            () => (settled = true),
            () => (settled = true),
          );
          while (!settled && !emu.state.transfers(tokenB).length) await new Promise((r) => setTimeout(r, 5));
          await a.files.delete([files[0]!.id]);
        }
        if (process.env.COPY_DEBUG) console.log(run, JSON.stringify(faults), deleteOnA, corrupt);
        let outcome: CopySummary | unknown;
        try {
          outcome = await whileClockRuns(emu, p, 200);
        } catch (err) {
          outcome = err;
        }
        const text = allText(outcome);
        for (const url of urls) {
          const sig = new URL(url).searchParams.get("u")!;
          assert.ok(!text.includes(url), `URL in ${text}`);
          assert.ok(!text.includes(sig.slice(0, 12)), `signature in ${text}`);
          assert.ok(!text.includes(new URL(url).host + "/download/"), `storage address in ${text}`);
        }
        assert.ok(!text.includes(emu.token) && !text.includes(tokenB), "a token in a text");
        emu.knobs.apiFaults = [];
      }),
      { numRuns: RUNS, seed: Number(process.env.PROPERTY_SEED ?? 29), endOnFailure: true },
    );
  });
});
