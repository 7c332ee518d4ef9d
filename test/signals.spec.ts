/**
 * Long-lived signals (a client's, a scheduler's, a node's `closing`) must not keep anything per
 * request or job: a home server runs for months. linkSignals and the sites that use it.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { linkSignals } from "../lib/core/signals";
import { DownloadScheduler } from "../lib/download";
import { startEmulator, type Emulator } from "./emulator";

/**
 * What a long-lived signal holds for the signals that follow it: its abort listeners, plus the set
 * of dependants `AbortSignal.any` puts on it (an internal symbol of Node: one WeakRef per call,
 * never removed on Node 20; read when this Node has it, so the count is exact on 20 and 22).
 */
function heldBy(signal: AbortSignal): number {
  const sym = Object.getOwnPropertySymbols(signal).find((s) => s.description === "kDependantSignals");
  const dependants = sym ? (signal as unknown as Record<symbol, Set<unknown> | undefined>)[sym] : undefined;
  return getEventListeners(signal, "abort").length + (dependants?.size ?? 0);
}

describe("linkSignals", () => {
  it("fires with the reason of the parent that fired, and then holds nothing on the others", () => {
    const a = new AbortController();
    const b = new AbortController();
    const link = linkSignals(a.signal, b.signal);
    assert.equal(heldBy(a.signal), 1);
    assert.equal(heldBy(b.signal), 1);
    const reason = new Error("b went");
    b.abort(reason);
    assert.equal(link.signal.aborted, true);
    assert.equal(link.signal.reason, reason);
    assert.equal(heldBy(a.signal), 0);
    assert.equal(heldBy(b.signal), 0);
    link.dispose(); // harmless after firing
  });

  it("dispose takes the link off every parent; the link then no longer follows them", () => {
    const a = new AbortController();
    const b = new AbortController();
    const link = linkSignals(a.signal, b.signal, undefined, null);
    link.dispose();
    link.dispose();
    assert.equal(heldBy(a.signal), 0);
    assert.equal(heldBy(b.signal), 0);
    a.abort();
    assert.equal(link.signal.aborted, false);
  });

  it("a parent already aborted: an aborted signal with its reason, nothing held", () => {
    const a = new AbortController();
    const b = new AbortController();
    b.abort("gone");
    const link = linkSignals(a.signal, b.signal);
    assert.equal(link.signal.aborted, true);
    assert.equal(link.signal.reason, "gone");
    assert.equal(heldBy(a.signal), 0);
  });

  it("one parent (or the same twice) is returned as is; none gives a signal that never fires", () => {
    const a = new AbortController();
    assert.equal(linkSignals(a.signal).signal, a.signal);
    assert.equal(linkSignals(a.signal, undefined, a.signal).signal, a.signal);
    assert.equal(heldBy(a.signal), 0);
    assert.equal(linkSignals().signal.aborted, false);
  });

  it("many links at once on one parent: no MaxListenersExceededWarning", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const a = new AbortController();
      const links = Array.from({ length: 50 }, () => linkSignals(a.signal, new AbortController().signal));
      await new Promise((r) => setImmediate(r));
      assert.equal(heldBy(a.signal), 50);
      for (const l of links) l.dispose();
      assert.equal(heldBy(a.signal), 0);
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(
      warnings.filter((w) => w.name === "MaxListenersExceededWarning"),
      [],
    );
  });
});

describe("long-lived signals keep nothing per request or job (one client, one scheduler, the emulator)", function () {
  this.timeout(120_000);
  let emu: Emulator;
  let client: PutioClient;
  let scheduler: DownloadScheduler;
  let work: string;

  beforeEach(async () => {
    emu = await startEmulator();
    client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    scheduler = new DownloadScheduler(client, { segmentThreshold: 64 * 1024, connectionsPerFile: 2 }, { engine: { checkpointMs: 20 } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-signals-"));
  });
  afterEach(async () => {
    await scheduler.close();
    await client.close();
    await emu.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("requests with and without a signal of their own, failed ones, and single, segmented and adaptive jobs, aborted ones too", async () => {
    const closing = client.transport.closeSignal;
    const schedulerClosing = (scheduler as unknown as { closing: AbortController }).closing.signal;
    // A node's `closing` (kernel.ts): passed to every call of every msg for the node's lifetime.
    const nodeClosing = new AbortController().signal;
    const folder = emu.state.addFolder(0, "in");
    const small = emu.state.addFile(folder.id, "small.bin", { size: 10_000, seed: 1 });
    const big = emu.state.addFile(folder.id, "big.bin", { size: 300_000, seed: 2 });
    const adaptive = new DownloadScheduler(client, { segmentThreshold: 64 * 1024, connectionsPerFile: "auto" }, { engine: { checkpointMs: 20 } });
    const adaptiveClosing = (adaptive as unknown as { closing: AbortController }).closing.signal;
    const before = [closing, schedulerClosing, adaptiveClosing, nodeClosing].map(heldBy);
    const rounds = 25;
    try {
      for (let i = 0; i < rounds; i++) {
        await client.account.info();
        await client.account.info(nodeClosing);
        await client.files.get(small.id, nodeClosing);
        await assert.rejects(client.files.get(999_999, nodeClosing)); // a 404
        for await (const f of client.files.list(folder.id, { signal: nodeClosing })) assert.ok(f.id);
        await scheduler.run({ source: { fileId: small.id }, target: path.join(work, `a${i}`) });
        await scheduler.run({ source: { folderId: folder.id }, target: path.join(work, `b${i}`), signal: nodeClosing });
        await adaptive.run({ source: { fileId: big.id }, target: path.join(work, `c${i}`) });
        const stop = new AbortController();
        const aborted = scheduler.run({ source: { fileId: big.id }, target: path.join(work, `d${i}`), signal: stop.signal });
        stop.abort(new Error("stopped"));
        await assert.rejects(aborted);
      }
    } finally {
      await adaptive.close();
    }
    const after = [closing, schedulerClosing, adaptiveClosing, nodeClosing].map(heldBy);
    // Before the fix, each of them held one entry or more per request or job (hundreds here).
    assert.deepEqual(after, before, "nothing left on the client's, the schedulers' or a node's closing signal");
  });
});
