// convertToMp4AndWait and the media domain's MP4 calls against the emulator: the clock-driven
// conversion (polling, or woken by the socket's mp4_update), a conversion that errors, a second call
// that finds it done, the MP4's storage address, folders and non-videos.
import * as assert from "node:assert/strict";
import { PutioClient } from "../lib/client";
import { PutioError, PutioInputError } from "../lib/core/errors";
import { PutioSocket } from "../lib/core/socket";
import { convertToMp4AndWait, mp4VersionOf, PutioMp4Error } from "../lib/media-jobs";
import { Emulator, startEmulator } from "./emulator";
import { whileClockRuns } from "./support/emulator-clock";
import { MP4_CONVERT_MS, MP4_QUEUE_MS } from "./emulator/routes-media";

describe("media: MP4 conversion", () => {
  let emu: Emulator;
  let c: PutioClient;
  beforeEach(async () => {
    emu = await startEmulator();
    c = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  });
  afterEach(async () => {
    await c.close();
    await emu.close();
  });

  it("starts, reports progress, resolves COMPLETED with the size; a second call finds it done without starting again", async () => {
    const v = emu.state.addFile(0, "film.mkv", { size: 200_000, seed: 8 });
    const seen: string[] = [];
    const res = await whileClockRuns(emu, convertToMp4AndWait(c, v.id, { pollMs: 2, maxPollMs: 10, onStatus: (s) => seen.push(s.status) }));
    assert.deepEqual(res, { fileId: v.id, status: "COMPLETED", size: 180_000, started: true });
    assert.equal(seen[0], "IN_QUEUE");
    assert.equal(seen.at(-1), "COMPLETED");
    const posts = () => emu.requests.filter((r) => r.method === "POST" && r.path.endsWith("/mp4")).length;
    assert.equal(posts(), 1);
    const again = await convertToMp4AndWait(c, v.id, { pollMs: 2 });
    assert.deepEqual([again.started, again.size, posts()], [false, 180_000, 1]);
    const url = await c.media.mp4Url(v.id);
    const head = await fetch(url, { headers: { Range: "bytes=0-0" } });
    assert.deepEqual([head.status, head.headers.get("content-range")], [206, "bytes 0-0/180000"]);
    await c.media.deleteMp4(v.id);
    assert.equal((await c.media.mp4Status(v.id)).status, "NOT_AVAILABLE");
    await assert.rejects(c.media.mp4Url(v.id), (e: unknown) => e instanceof PutioError && e.errorType === "MP4_NOT_FOUND");
  });

  it("with the socket, an mp4_update push wakes the wait (long poll interval, still done as soon as the clock says)", async () => {
    const v = emu.state.addFile(0, "pushed.mkv", { size: 1000, seed: 1 });
    const socket = new PutioSocket({ url: emu.socketUrl, token: () => emu.token });
    try {
      socket.start();
      while (emu.socketCount() < 1) await new Promise((r) => setTimeout(r, 5));
      const p = convertToMp4AndWait(c, v.id, { socket, pollMs: 3_600_000 });
      await new Promise((r) => setTimeout(r, 30));
      await emu.advance(MP4_QUEUE_MS + MP4_CONVERT_MS);
      const res = await p;
      assert.equal(res.status, "COMPLETED");
    } finally {
      socket.stop();
    }
  });

  it("mp4VersionOf: null until the MP4 is ready (and for non-videos), then its name, size and a working storage address", async () => {
    const v = emu.state.addFile(0, "Show S01E01.mkv", { size: 50_000, seed: 6 });
    assert.equal(await mp4VersionOf(c, v), null);
    assert.equal(await mp4VersionOf(c, { ...v, file_type: "TEXT" }), null);
    await c.media.convertMp4(v.id);
    assert.equal(await mp4VersionOf(c, v), null, "converting is not ready");
    await emu.advance(MP4_QUEUE_MS + MP4_CONVERT_MS);
    const mp4 = (await mp4VersionOf(c, v))!;
    assert.deepEqual([mp4.fileId, mp4.name, mp4.size], [v.id, "Show S01E01.mp4", 45_000]);
    const res = await fetch(await mp4.url());
    assert.equal((await res.arrayBuffer()).byteLength, 45_000);
  });

  it("a conversion that errors is a PutioMp4Error of kind failed; calling again restarts it", async () => {
    const v = emu.state.addFile(0, "broken.avi", { size: 1000, seed: 3 });
    emu.knobs.mp4FailNext = 1;
    await assert.rejects(whileClockRuns(emu, convertToMp4AndWait(c, v.id, { pollMs: 2, maxPollMs: 10 })), (e: unknown) => {
      assert.ok(e instanceof PutioMp4Error);
      assert.deepEqual([e.kind, e.fileId, e.status], ["failed", v.id, "ERROR"]);
      return true;
    });
    const res = await whileClockRuns(emu, convertToMp4AndWait(c, v.id, { pollMs: 2, maxPollMs: 10 }));
    assert.deepEqual([res.status, res.started], ["COMPLETED", true]);
  });

  it("removed while waited for → kind vanished; timeout → kind timeout; folders and non-videos are put.io's 400s; bad ids never leave", async () => {
    const v = emu.state.addFile(0, "gone.mkv", { size: 1000, seed: 4 });
    const p = convertToMp4AndWait(c, v.id, { pollMs: 2, maxPollMs: 10 });
    p.catch(() => {});
    while (!emu.requests.some((r) => r.method === "POST" && r.path.endsWith("/mp4"))) await new Promise((r) => setTimeout(r, 2));
    await c.media.deleteMp4(v.id);
    await assert.rejects(p, (e: unknown) => e instanceof PutioMp4Error && e.kind === "vanished");
    await assert.rejects(convertToMp4AndWait(c, v.id, { pollMs: 2, timeoutMs: 20 }), (e: unknown) => e instanceof PutioMp4Error && e.kind === "timeout");
    await assert.rejects(convertToMp4AndWait(c, 0), (e: unknown) => e instanceof PutioError && e.errorType === "NotFile");
    const txt = emu.state.addFile(0, "a.txt", Buffer.from("x"));
    await assert.rejects(convertToMp4AndWait(c, txt.id), (e: unknown) => e instanceof PutioError && e.errorType === "INVALID_MEDIA");
    for (const bad of [-1, 1.5, "1; DROP", NaN]) await assert.rejects(convertToMp4AndWait(c, bad as number), PutioInputError);
  });
});
