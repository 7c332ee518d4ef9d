/**
 * lib/transmission/cleanup.ts: a removed torrent's put.io clean-up that put.io refuses is kept with
 * why, as a text by code (the status and the sidebar show it in the runtime's language), retried,
 * and dropped once done.
 */
import assert from "node:assert/strict";
import { PutioClient } from "../lib/client";
import { CleanupQueue } from "../lib/transmission/cleanup";
import type { TorrentRecord } from "../lib/transmission/model";
import type { PendingCleanup } from "../lib/transmission/types";
import { startEmulator, type Emulator } from "./emulator";

describe("lib/transmission/cleanup: a clean-up put.io refuses", () => {
  let emu: Emulator;
  let client: PutioClient;
  beforeEach(async () => {
    emu = await startEmulator();
    client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl, retry: { retries: 0 } });
  });
  afterEach(async () => {
    await client.close();
    await emu.close();
  });

  it("is kept with why as a text by code, tried again, and dropped once put.io takes it", async () => {
    const file = emu.state.addFile(0, "Show.S01E01.mkv", Buffer.from("x"));
    const done: PendingCleanup[] = [];
    const failed: unknown[] = [];
    const queue = new CleanupQueue(client, { persist: async () => {}, done: (c) => done.push(c), failed: (e) => failed.push(e) });
    const c: PendingCleanup = {
      record: { id: 1, name: "Show.S01E01" } as TorrentRecord,
      fileIds: [file.id],
      skipTrash: false,
      removeTransferId: null,
      cancelTransferId: null,
      since: Date.now(),
      attempts: 0,
      error: null,
    };
    try {
      emu.knobs.fail5xx = { probability: 1, status: 503 };
      const why = await queue.start(c);
      assert.ok(why, "kept");
      assert.deepEqual(c.errorText, why);
      assert.match(c.errorText!.code, /^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
      assert.equal(typeof c.error, "string", "and in English, as older versions stored it");
      await queue.retry();
      // start() said it already (its answer goes out with the removal): a retry does not say it again.
      assert.deepEqual([done.length, failed.length, queue.items.length], [0, 0, 1]);
      assert.ok(c.errorText && c.error);
      emu.knobs.fail5xx = null;
      await queue.retry();
      assert.deepEqual([done, queue.items], [[c], []]);
      assert.deepEqual([c.error, c.errorText], [null, undefined]);
      assert.ok(emu.state.getFile(file.id)?.trashedAt != null || !emu.state.getFile(file.id), "put.io's file went to the trash");
    } finally {
      queue.close();
    }
  });
});
