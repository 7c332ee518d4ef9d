// Emulator zips: lifecycle on the clock, signed zip URL with real zip bytes, missing files, cancel,
// 410 LINK_EXPIRED, 403 ZIP_TOTAL_SIZE_EXCEEDED, cursor selection, zip_created push and history.
import * as assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { WebSocket } from "ws";
import { Emulator, startEmulator } from "./emulator";
import { expireZip, ZIP_DONE_MS, ZIP_NEW_MS } from "./emulator/routes-zips";
import { historyEvents } from "./emulator/routes-events";
import { assertError, assertOk, call } from "./emulator/test-helpers";

/** Entries of a stored zip: name → bytes (checks each local header's CRC32). */
function unzip(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (buf.readUInt32LE(pos) === 0x04034b50) {
    const crc = buf.readUInt32LE(pos + 14);
    const size = buf.readUInt32LE(pos + 18);
    const nameLen = buf.readUInt16LE(pos + 26);
    const name = buf.subarray(pos + 30, pos + 30 + nameLen).toString("utf8");
    const data = buf.subarray(pos + 30 + nameLen, pos + 30 + nameLen + size);
    assert.equal(zlib.crc32(data) >>> 0, crc, `crc of ${name}`);
    out.set(name, data);
    pos += 30 + nameLen + size;
  }
  assert.equal(buf.readUInt32LE(buf.length - 22), 0x06054b50, "end of central directory");
  return out;
}

describe("emulator: zips", () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(async () => emu.close());

  it("create → NEW → PROCESSING → DONE on the clock; the URL serves a real zip of the files and folders", async () => {
    const folder = emu.state.addFolder(0, "Show");
    emu.state.addFile(folder.id, "e1.txt", Buffer.from("episode one"));
    const single = emu.state.addFile(0, "notes.txt", Buffer.from("notes"));
    const created = await call(emu, "POST", "/v2/zips/create", { form: { file_ids: `${folder.id},${single.id}` } });
    assertOk(created);
    const id = created.body.zip_id;
    assert.equal(typeof id, "number");
    assert.equal((await call(emu, "GET", `/v2/zips/${id}`)).body.zip_status, "NEW");
    await emu.advance(ZIP_NEW_MS);
    const processing = (await call(emu, "GET", `/v2/zips/${id}`)).body;
    assert.equal(processing.zip_status, "PROCESSING");
    assert.equal(processing.url, null);
    await emu.advance(ZIP_DONE_MS - ZIP_NEW_MS);
    const done = await call(emu, "GET", `/v2/zips/${id}`);
    assertOk(done);
    assert.equal(done.body.zip_status, "DONE");
    assert.deepEqual(done.body.missing_files, []);
    const res = await fetch(done.body.url); // no token: the URL carries its own signature
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(bytes.length, done.body.size);
    const entries = unzip(bytes);
    assert.deepEqual([...entries.keys()].sort(), ["Show/e1.txt", "notes.txt"]);
    assert.equal(entries.get("Show/e1.txt")!.toString(), "episode one");
    const listed = (await call(emu, "GET", "/v2/zips/list")).body.zips;
    assert.deepEqual(
      listed.map((z: { id: number }) => z.id),
      [id],
    );
    assert.match(listed[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  });

  it("a forged zip URL is refused", async () => {
    const f = emu.state.addFile(0, "a.txt", Buffer.from("a"));
    const id = (await call(emu, "POST", "/v2/zips/create", { form: { file_ids: String(f.id) } })).body.zip_id;
    await emu.advance(ZIP_DONE_MS);
    const url = new URL((await call(emu, "GET", `/v2/zips/${id}`)).body.url);
    url.searchParams.set(
      "u",
      url.searchParams.get("u")!.replace(/.$/, (c) => (c === "A" ? "B" : "A")),
    );
    assert.equal((await fetch(url)).status, 403);
  });

  it("files deleted before the zip is done are listed as missing_files", async () => {
    const keep = emu.state.addFile(0, "keep.txt", Buffer.from("k"));
    const gone = emu.state.addFile(0, "gone.txt", Buffer.from("g"));
    const id = (await call(emu, "POST", "/v2/zips/create", { form: { file_ids: `${keep.id},${gone.id}` } })).body.zip_id;
    assertOk(await call(emu, "POST", "/v2/files/delete", { form: { file_ids: String(gone.id), skip_trash: "true" } }));
    await emu.advance(ZIP_DONE_MS);
    const done = (await call(emu, "GET", `/v2/zips/${id}`)).body;
    assert.deepEqual(done.missing_files, [{ id: gone.id, name: "gone.txt", missing: true }]);
    const entries = unzip(Buffer.from(await (await fetch(done.url)).arrayBuffer()));
    assert.deepEqual([...entries.keys()], ["keep.txt"]);
  });

  it("unknown, foreign, cancelled and expired zips answer 410 LINK_EXPIRED; cancel is a GET", async () => {
    assertError(await call(emu, "GET", "/v2/zips/123"), 410, "LINK_EXPIRED");
    const f = emu.state.addFile(0, "a.txt", Buffer.from("a"));
    const id = (await call(emu, "POST", "/v2/zips/create", { form: { file_ids: String(f.id) } })).body.zip_id;
    const other = emu.addUser();
    assertError(await call(emu, "GET", `/v2/zips/${id}`, { token: other.token }), 410, "LINK_EXPIRED");
    assertError(await call(emu, "POST", `/v2/zips/${id}/cancel`), 405);
    assertOk(await call(emu, "GET", `/v2/zips/${id}/cancel`));
    assertError(await call(emu, "GET", `/v2/zips/${id}`), 410, "LINK_EXPIRED");
    assertError(await call(emu, "GET", `/v2/zips/${id}/cancel`), 410, "LINK_EXPIRED");
    const id2 = (await call(emu, "POST", "/v2/zips/create", { form: { file_ids: String(f.id) } })).body.zip_id;
    await emu.advance(ZIP_DONE_MS);
    const url = (await call(emu, "GET", `/v2/zips/${id2}`)).body.url;
    expireZip(emu.state, id2);
    assertError(await call(emu, "GET", `/v2/zips/${id2}`), 410, "LINK_EXPIRED");
    assert.equal((await fetch(url)).status, 410);
  });

  it("bad input: no ids 400, unknown file 404, above the size knob 403 ZIP_TOTAL_SIZE_EXCEEDED", async () => {
    assertError(await call(emu, "POST", "/v2/zips/create", { form: {} }), 400);
    assertError(await call(emu, "POST", "/v2/zips/create", { form: { file_ids: "" } }), 400);
    assertError(await call(emu, "POST", "/v2/zips/create", { form: { file_ids: "x" } }), 400);
    assertError(await call(emu, "POST", "/v2/zips/create", { form: { file_ids: "2147483647" } }), 404);
    const big = emu.state.addFile(0, "big.bin", { size: 10_000 });
    emu.knobs.zipMaxTotalSize = 9_999;
    assertError(await call(emu, "POST", "/v2/zips/create", { form: { file_ids: String(big.id) } }), 403, "ZIP_TOTAL_SIZE_EXCEEDED");
    emu.knobs.zipMaxTotalSize = 10_000;
    assertOk(await call(emu, "POST", "/v2/zips/create", { form: { file_ids: String(big.id) } }));
  });

  it("a listing cursor with exclude_ids selects the rest of the listing (official client's form)", async () => {
    const ids = [0, 1, 2].map((i) => emu.state.addFile(0, `f${i}.txt`, Buffer.from(`f${i}`)).id);
    const page = (await call(emu, "GET", "/v2/files/list?parent_id=0&per_page=1")).body;
    const id = (await call(emu, "POST", "/v2/zips/create", { json: { cursor: page.cursor, exclude_ids: String(ids[0]), file_ids: "" } })).body.zip_id;
    await emu.advance(ZIP_DONE_MS);
    const entries = unzip(Buffer.from(await (await fetch((await call(emu, "GET", `/v2/zips/${id}`)).body.url)).arrayBuffer()));
    assert.deepEqual([...entries.keys()].sort(), ["f1.txt", "f2.txt"]);
  });

  it("pushes zip_created {id} on the socket and records a zip_created history event", async () => {
    const ws = new WebSocket(emu.socketUrl);
    const frames: { type: string; value: any }[] = [];
    ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once("open", r));
    ws.send(emu.token);
    while (emu.socketCount() === 0) await new Promise((r) => setTimeout(r, 5));
    const f = emu.state.addFile(0, "a.txt", Buffer.from("abc"));
    const id = (await call(emu, "POST", "/v2/zips/create", { form: { file_ids: String(f.id) } })).body.zip_id;
    await emu.advance(ZIP_DONE_MS);
    while (!frames.some((x) => x.type === "zip_created")) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(
      frames.filter((x) => x.type === "zip_created").map((x) => x.value),
      [{ id }],
    );
    const size = (await call(emu, "GET", `/v2/zips/${id}`)).body.size;
    const [event] = historyEvents(emu.state, emu.state.userFor(emu.token).id);
    assert.equal(event.type, "zip_created");
    assert.deepEqual([event.zip_id, event.zip_size], [id, size]);
    ws.close();
  });
});
