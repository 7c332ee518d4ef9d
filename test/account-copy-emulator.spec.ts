/** The emulator's URL transfers of its own storage URLs: what a copy between accounts builds on. */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as zlib from "node:zlib";
import { Emulator, startEmulator } from "./emulator";
import { assertError, assertOk, call } from "./emulator/test-helpers";

describe("emulator: a URL transfer of a put.io storage URL fetches that file", () => {
  let emu: Emulator;
  let tokenB: string;
  beforeEach(async () => {
    emu = await startEmulator();
    tokenB = emu.addUser({ username: "b" }).token;
  });
  afterEach(async () => emu.close());

  async function urlOf(fileId: number, token = emu.token): Promise<string> {
    const res = await call(emu, "GET", `/v2/files/${fileId}/url`, { token });
    assertOk(res);
    return res.body.url as string;
  }

  async function addOnB(url: string, saveParentId = 0) {
    const res = await call(emu, "POST", "/v2/transfers/add", { token: tokenB, form: { url, save_parent_id: String(saveParentId) } });
    assertOk(res);
    return res.body.transfer;
  }

  it("stores exactly the source's bytes on the other account, named by the URL's last segment", async () => {
    const bytes = crypto.randomBytes(200_000);
    const src = emu.state.addFile(0, "Film (2024) — café.mkv", bytes);
    const big = emu.state.addFile(0, "big.bin", { size: 3 * 1024 * 1024 + 17, seed: 9 });
    const dest = emu.state.addFolder(0, "Copies", tokenB);
    const t1 = await addOnB(await urlOf(src.id), dest.id);
    const t2 = await addOnB(await urlOf(big.id), dest.id);
    assert.equal(t1.type, "URL");
    await emu.advance(6000);
    for (const [t, from] of [
      [t1, src],
      [t2, big],
    ] as const) {
      const done = emu.state.getTransfer(t.id)!;
      assert.equal(done.status, "COMPLETED");
      const copy = emu.state.getFile(done.file_id!, tokenB)!;
      assert.equal(copy.parent_id, dest.id);
      assert.equal(copy.size, from.size);
      assert.equal(copy.crc32, from.crc32);
      assert.equal(done.size, from.size);
      // put.io's naming of URL transfers is unpublished; the emulator takes the path's last segment.
      assert.equal(copy.name, String(from.id));
    }
    const copied = emu.state.getTransfer(t1.id)!.file_id!;
    assert.deepEqual(emu.state.fileBytes(copied), bytes);
    // And storage serves the copy to its own account.
    const res = await fetch(await urlOf(copied, tokenB));
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    // The source is untouched.
    assert.equal(emu.state.getFile(src.id)!.name, "Film (2024) — café.mkv");
  });

  it("copies the bytes as served: a corrupted source gives a copy whose CRC32 differs from the source's", async () => {
    const src = emu.state.addFile(0, "a.bin", crypto.randomBytes(4096));
    emu.state.corruptCrc(src.id);
    const t = await addOnB(await urlOf(src.id));
    await emu.advance(6000);
    const copy = emu.state.getFile(emu.state.getTransfer(t.id)!.file_id!, tokenB)!;
    assert.equal(copy.size, src.size);
    assert.notEqual(copy.crc32, src.crc32);
    assert.equal(copy.crc32, (zlib.crc32(emu.state.fileBytes(src.id)) >>> 0).toString(16).padStart(8, "0"));
  });

  it("ends in ERROR for an expired URL, a forged one and a source deleted before the fetch", async () => {
    const a = emu.state.addFile(0, "a.bin", crypto.randomBytes(100));
    const b = emu.state.addFile(0, "b.bin", crypto.randomBytes(100));
    const c = emu.state.addFile(0, "c.bin", crypto.randomBytes(100));
    emu.knobs.downloadUrlTtlMs = 500;
    const expired = await addOnB(await urlOf(a.id));
    emu.knobs.downloadUrlTtlMs = null;
    const good = await urlOf(b.id);
    const forged = await addOnB(good.replace(/u=([^.]+)\.(.)/, (_m, p: string, ch: string) => `u=${p}.${ch === "A" ? "B" : "A"}`));
    const deleted = await addOnB(await urlOf(c.id));
    assertOk(await call(emu, "POST", "/v2/files/delete", { form: { file_ids: String(c.id) } }));
    await emu.advance(6000);
    for (const [t, why] of [
      [expired, /410/],
      [forged, /403/],
      [deleted, /404/],
    ] as const) {
      const done = emu.state.getTransfer(t.id)!;
      assert.equal(done.status, "ERROR", `${why}`);
      assert.match(done.error_message!, why);
      assert.equal(done.file_id, null);
    }
    assert.deepEqual(emu.state.listChildren(0, tokenB), []);
  });

  it("refuses more active transfers than knobs.maxActiveTransfers with 403 TOO_MANY_ACTIVE_TRANSFERS", async () => {
    emu.knobs.maxActiveTransfers = 1;
    const a = emu.state.addFile(0, "a.bin", crypto.randomBytes(10));
    await addOnB(await urlOf(a.id));
    const res = await call(emu, "POST", "/v2/transfers/add", { token: tokenB, form: { url: "https://example.com/x.bin" } });
    assertError(res, 403, "TOO_MANY_ACTIVE_TRANSFERS");
    await emu.advance(6000);
    await addOnB("https://example.com/x.bin");
  });
});
