/**
 * The download specs' fixture: each test gets a fresh emulator, a client on it and an empty work
 * folder (the target is `<work>/target`, not created); the schedulers a test made are closed after
 * it, then the client, the emulator and the folder.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../../lib/client";
import { DownloadScheduler, type DownloadLimits, type EngineOptions } from "../../lib/download";
import type { LocalFs } from "../../lib/local";
import { startEmulator, type Emulator, type RequestLogEntry } from "../emulator";
import { crcHex } from "./files";

export interface DownloadFixture {
  readonly emu: Emulator;
  readonly client: PutioClient;
  /** The test's own temporary folder; removed after the test. */
  readonly work: string;
  /** `<work>/target`, the download target (not created). */
  readonly target: string;
  /** A scheduler with the fixture's engine options (overridden by `engine`), closed after the test. */
  scheduler(limits?: Partial<DownloadLimits>, engine?: Partial<EngineOptions>, fsLayer?: LocalFs): DownloadScheduler;
  /** The local file has put.io's size and CRC32 and exactly the bytes storage serves. */
  assertSameAsRemote(local: string, fileId: number): void;
  /** The emulator's storage GETs so far. */
  downloadRequests(): RequestLogEntry[];
}

/**
 * Registers the hooks in the calling `describe` and returns the fixture (its fields are the current
 * test's). `engine`: the engine options of every scheduler (fast backoff, a stall timeout fit for
 * the spec); `limits`: default limits under each scheduler's own.
 */
export function useDownloadFixture(opts: { engine: Partial<EngineOptions>; limits?: Partial<DownloadLimits>; tmpPrefix?: string }): DownloadFixture {
  let current: { emu: Emulator; client: PutioClient; work: string; target: string } | null = null;
  const schedulers: DownloadScheduler[] = [];
  const now = () => {
    if (!current) throw new Error("the download fixture is used outside a test");
    return current;
  };

  beforeEach(async () => {
    const emu = await startEmulator();
    const client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), opts.tmpPrefix ?? "putio-dl-"));
    current = { emu, client, work, target: path.join(work, "target") };
  });
  afterEach(async () => {
    const c = current;
    current = null;
    await Promise.all(schedulers.splice(0).map((s) => s.close()));
    if (!c) return;
    await c.client.close();
    await c.emu.close();
    fs.rmSync(c.work, { recursive: true, force: true });
  });

  return {
    get emu() {
      return now().emu;
    },
    get client() {
      return now().client;
    },
    get work() {
      return now().work;
    },
    get target() {
      return now().target;
    },
    scheduler(limits = {}, engine = {}, fsLayer) {
      const s = new DownloadScheduler(now().client, { ...opts.limits, ...limits }, { engine: { ...opts.engine, ...engine }, fs: fsLayer });
      schedulers.push(s);
      return s;
    },
    assertSameAsRemote(local, fileId) {
      const { emu } = now();
      const want = emu.state.fileBytes(fileId);
      const got = fs.readFileSync(local);
      assert.equal(got.length, want.length, `size of ${local}`);
      assert.equal(crcHex(got), emu.state.getFile(fileId)!.crc32, `crc32 of ${local} against put.io's`);
      assert.ok(got.equals(want), `bytes of ${local} equal to what storage serves`);
    },
    downloadRequests: () => now().emu.requests.filter((r) => r.path.startsWith("/download/")),
  };
}
