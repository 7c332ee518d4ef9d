import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket } from "ws";
import { Emulator, startEmulator } from "./emulator";
import { assertError, assertOk, call } from "./emulator/test-helpers";

interface Frame {
  type: string;
  value: any;
}

/** Opens the raw socket, sends the token, and resolves once the emulator counts it as authenticated. */
async function openSocket(emu: Emulator, token: string): Promise<{ ws: WebSocket; frames: Frame[] }> {
  const ws = new WebSocket(emu.socketUrl);
  const frames: Frame[] = [];
  ws.on("message", (data) => frames.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  const before = emu.socketCount();
  ws.send(token);
  // A round-trip guarantees the token frame was processed before we continue.
  await waitFor(() => emu.socketCount() > before);
  return { ws, frames };
}

/** Polls until the condition holds (frames travel over a real socket); only mocha's timeout bounds it. */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe("emulator: transfers, uploads, socket, callbacks", () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(async () => emu.close());

  it("walks IN_QUEUE -> DOWNLOADING -> COMPLETING -> COMPLETED on advance(), with callback POST and socket events", async () => {
    const received: Record<string, string>[] = [];
    const cb = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push(Object.fromEntries(new URLSearchParams(body)));
        res.end("ok");
      });
    });
    await new Promise<void>((r) => cb.listen(0, "127.0.0.1", () => r()));
    const cbUrl = `http://127.0.0.1:${(cb.address() as AddressInfo).port}/done?x=1`;
    const { ws, frames } = await openSocket(emu, emu.token);
    try {
      const dest = emu.state.addFolder(0, "Dest");
      const add = await call(emu, "POST", "/v2/transfers/add", {
        form: { url: "https://example.com/files/Movie.mkv", save_parent_id: String(dest.id), callback_url: cbUrl },
      });
      assertOk(add);
      const t = add.body.transfer;
      assert.equal(t.status, "IN_QUEUE");
      assert.equal(t.type, "URL");
      assert.equal(t.name, "Movie.mkv");
      assert.equal(t.file_id, null);
      assert.equal(t.callback_url, cbUrl);
      const statuses: string[] = [];
      for (let i = 0; i < 8; i++) {
        await emu.advance(1000);
        const s = (await call(emu, "GET", `/v2/transfers/${t.id}`)).body.transfer;
        if (statuses[statuses.length - 1] !== s.status) statuses.push(s.status);
      }
      assert.deepEqual(statuses, ["DOWNLOADING", "COMPLETING", "COMPLETED"]);
      const done = (await call(emu, "GET", `/v2/transfers/${t.id}`)).body.transfer;
      assert.equal(done.percent_done, 100);
      assert.match(done.finished_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      const file = emu.state.getFile(done.file_id);
      assert.equal(file?.parent_id, dest.id);
      assert.equal(file?.name, "Movie.mkv");
      // Callback: awaited by advance(), form-encoded transfer fields.
      assert.equal(received.length, 1);
      assert.equal(received[0].file_id, String(done.file_id));
      assert.equal(received[0].name, "Movie.mkv");
      assert.equal(received[0].status, "COMPLETED");
      // Socket: create, an update on every status change, and the new file.
      await waitFor(() => frames.some((f) => f.type === "transfer_update" && f.value.status === "COMPLETED"));
      const types = frames.map((f) => f.type);
      assert.ok(types.includes("transfer_create"));
      assert.ok(types.includes("transfers_count"));
      const updateStatuses = frames.filter((f) => f.type === "transfer_update").map((f) => f.value.status);
      for (const s of ["DOWNLOADING", "COMPLETING", "COMPLETED"]) assert.ok(updateStatuses.includes(s), s);
      assert.ok(frames.some((f) => f.type === "file_create" && f.value.id === done.file_id));
    } finally {
      ws.close();
      cb.close();
    }
  });

  it("socket: a bad first frame closes with 4001; dropSockets closes connections", async () => {
    const ws = new WebSocket(emu.socketUrl);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.send("NOTATOKEN");
    assert.equal(await closed, 4001);
    const { ws: good } = await openSocket(emu, emu.token);
    const dropped = new Promise<number>((r) => good.once("close", (code) => r(code)));
    emu.dropSockets();
    assert.notEqual(await dropped, 1000);
  });

  it("pushSocketEvent delivers {type, value} to that user's sockets only", async () => {
    const other = emu.addUser();
    const mine = await openSocket(emu, emu.token);
    const theirs = await openSocket(emu, other.token);
    emu.pushSocketEvent(emu.token, "custom", { message: "hi" });
    const got = await new Promise<Frame>((r) => mine.ws.once("message", (d) => r(JSON.parse(d.toString()))));
    assert.deepEqual(got, { type: "custom", value: { message: "hi" } });
    assert.deepEqual(theirs.frames, []);
    mine.ws.close();
    theirs.ws.close();
  });

  it("ERROR for failing URLs, retry requeues, cancel is idempotent, clean returns deleted_ids", async () => {
    const t = (await call(emu, "POST", "/v2/transfers/add", { form: { url: "http://example.com/fail.iso" } })).body.transfer;
    await emu.advance(6000);
    const failed = (await call(emu, "GET", `/v2/transfers/${t.id}`)).body.transfer;
    assert.equal(failed.status, "ERROR");
    assert.equal(typeof failed.error_message, "string");
    const retried = await call(emu, "POST", "/v2/transfers/retry", { form: { id: String(t.id) } });
    assert.equal(retried.body.transfer.status, "IN_QUEUE");
    assertError(await call(emu, "POST", "/v2/transfers/retry", { form: { id: "2147483647" } }), 404, "TRANSFER_NOT_FOUND");
    await emu.advance(6000);
    const ok = emu.state.addTransfer({ url: "magnet:?xt=urn:btih:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&dn=ok", status: "COMPLETED" });
    const running = (await call(emu, "POST", "/v2/transfers/add", { form: { url: "magnet:?xt=urn:btih:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" } })).body
      .transfer;
    assertOk(await call(emu, "POST", "/v2/transfers/cancel", { form: { transfer_ids: `${running.id},2147483647` } }));
    assertOk(await call(emu, "POST", "/v2/transfers/cancel", { form: { transfer_ids: `${running.id}` } }));
    assert.equal(emu.state.getTransfer(running.id), undefined);
    const clean = await call(emu, "POST", "/v2/transfers/clean");
    assert.deepEqual([...clean.body.deleted_ids].sort(), [t.id, ok.id].sort());
    assert.equal((await call(emu, "GET", "/v2/transfers/count")).body.count, 0);
  });

  it("add: EMPTY_URL, missing save_parent_id 404, duplicate returns the active transfer, add-multi partial errors", async () => {
    assertError(await call(emu, "POST", "/v2/transfers/add", { form: { url: " " } }), 400, "EMPTY_URL");
    assertError(await call(emu, "POST", "/v2/transfers/add", { form: {} }), 400, "EMPTY_URL");
    assertError(await call(emu, "POST", "/v2/transfers/add", { form: { url: "http://x/y", save_parent_id: "2147483647" } }), 404);
    const a = (await call(emu, "POST", "/v2/transfers/add", { json: { url: "magnet:?xt=urn:btih:cccccccccccccccccccccccccccccccccccccccc" } })).body.transfer;
    const b = (await call(emu, "POST", "/v2/transfers/add", { json: { url: "magnet:?xt=urn:btih:cccccccccccccccccccccccccccccccccccccccc" } })).body.transfer;
    assert.equal(a.id, b.id);
    assert.equal(a.type, "TORRENT");
    const multi = await call(emu, "POST", "/v2/transfers/add-multi", {
      form: { urls: JSON.stringify([{ url: "http://example.com/a.zip" }, { url: "" }, { url: "http://e.com/b", save_parent_id: 2147483647 }]) },
    });
    assertOk(multi);
    assert.equal(multi.body.transfers.length, 1);
    assert.deepEqual(
      multi.body.errors.map((e: { error_type: string }) => e.error_type),
      ["EMPTY_URL", "NotFound"],
    );
  });

  it("lists transfers with cursors", async () => {
    for (let i = 0; i < 5; i++) emu.state.addTransfer({ url: `http://example.com/${i}.bin` });
    let res = await call(emu, "GET", "/v2/transfers/list?per_page=2&total=1");
    assert.equal(res.body.total, 5);
    const ids = res.body.transfers.map((t: { id: number }) => t.id);
    while (res.body.cursor) {
      res = await call(emu, "POST", "/v2/transfers/list/continue", { form: { cursor: res.body.cursor, per_page: "2" } });
      ids.push(...res.body.transfers.map((t: { id: number }) => t.id));
    }
    assert.equal(new Set(ids).size, 5);
  });

  it("seedTorrents knob: finished torrents SEED with file_id; setTransferStatus jumps with side effects", async () => {
    emu.knobs.seedTorrents = true;
    const t = emu.state.addTransfer({
      url: "magnet:?xt=urn:btih:dddddddddddddddddddddddddddddddddddddddd&dn=Pack",
      files: [
        { name: "a.mkv", size: 10 },
        { name: "b.srt", size: 5 },
      ],
    });
    await emu.advance(6000);
    const seeding = emu.state.getTransfer(t.id)!;
    assert.equal(seeding.status, "SEEDING");
    assert.deepEqual(
      emu.state
        .listChildren(seeding.file_id!)
        .map((f) => f.name)
        .sort(),
      ["a.mkv", "b.srt"],
    );
    assert.equal(emu.state.getFile(seeding.file_id!)?.size, 15);
    const u = emu.state.addTransfer({ url: "http://example.com/z.bin" });
    emu.state.setTransferStatus(u.id, "ERROR", { error_message: "nope" });
    assert.deepEqual([emu.state.getTransfer(u.id)?.status, emu.state.getTransfer(u.id)?.error_message], ["ERROR", "nope"]);
  });

  it("multipart upload stores a file; a .torrent becomes a transfer", async () => {
    const dir = emu.state.addFolder(0, "Up");
    const fd = new FormData();
    fd.append("file", new Blob([Buffer.from("payload")]), "orig.txt");
    fd.append("filename", "renamed.txt");
    fd.append("parent_id", String(dir.id));
    // The TS SDK sends the token in the query only.
    const up = await call(emu, "POST", `/v2/files/upload?oauth_token=${emu.token}`, { body: fd, token: null });
    assertOk(up);
    assert.equal(up.body.file.name, "renamed.txt");
    assert.equal(up.body.file.parent_id, dir.id);
    assert.deepEqual(emu.state.fileBytes(up.body.file.id), Buffer.from("payload"));
    const torrent = Buffer.from("d8:announce3:url4:infod6:lengthi10e4:name8:Some.iso12:piece lengthi16384eee");
    const tf = new FormData();
    tf.append("file", new Blob([torrent]), "x.torrent");
    const tr = await call(emu, "POST", "/v2/files/upload", { body: tf });
    assertOk(tr);
    assert.equal(tr.body.transfer.name, "Some.iso");
    assert.equal(tr.body.transfer.type, "TORRENT");
    assertError(await call(emu, "POST", "/v2/files/upload", { body: new FormData() }), 400);
  });

  it("unauthenticated multipart upload is 401", async () => {
    const fd = new FormData();
    fd.append("file", new Blob([Buffer.from("x")]), "x.txt");
    assertError(await call(emu, "POST", "/v2/files/upload", { body: fd, token: null }), 401);
  });

  it("tus: create 201 + Location, HEAD offset, PATCH 204, 409 on wrong offset, final headers, DELETE", async () => {
    const auth = { Authorization: `Bearer ${emu.token}`, "Tus-Resumable": "1.0.0" };
    const meta = `name ${Buffer.from("tus.bin").toString("base64")},parent_id ${Buffer.from("0").toString("base64")}`;
    const create = await fetch(`${emu.uploadUrl}/files/`, { method: "POST", headers: { ...auth, "Upload-Length": "10", "Upload-Metadata": meta } });
    assert.equal(create.status, 201);
    const location = create.headers.get("location")!;
    assert.ok(location.startsWith(emu.uploadUrl + "/files/"));
    const patch = (offset: number, body: string) =>
      fetch(location, { method: "PATCH", headers: { ...auth, "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }, body });
    const p1 = await patch(0, "01234");
    assert.equal(p1.status, 204);
    assert.equal(p1.headers.get("upload-offset"), "5");
    assert.equal((await patch(3, "xxxxx")).status, 409);
    const head = await fetch(location, { method: "HEAD", headers: auth });
    assert.equal(head.headers.get("upload-offset"), "5");
    const p2 = await patch(5, "56789");
    assert.equal(p2.status, 204);
    const fileId = Number(p2.headers.get("putio-file-id"));
    assert.equal(emu.state.getFile(fileId)?.name, "tus.bin");
    assert.equal(p2.headers.get("putio-file-crc32"), emu.state.getFile(fileId)?.crc32);
    assert.deepEqual(emu.state.fileBytes(fileId), Buffer.from("0123456789"));
    // Termination and auth.
    const c2 = await fetch(`${emu.uploadUrl}/files/`, { method: "POST", headers: { ...auth, "Upload-Length": "3", "Upload-Metadata": meta } });
    const loc2 = c2.headers.get("location")!;
    assert.equal((await fetch(loc2, { method: "DELETE", headers: auth })).status, 204);
    assert.equal((await fetch(loc2, { method: "HEAD", headers: auth })).status, 404);
    assert.equal((await fetch(`${emu.uploadUrl}/files/`, { method: "POST", headers: { "Upload-Length": "3", "Upload-Metadata": meta } })).status, 401);
  });
});
