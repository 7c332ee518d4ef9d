// Emulator history: events recorded as things happen, paging with per_page/before, delete one,
// clear all, invalid_scope for third-party tokens, history_enabled off.
import * as assert from "node:assert/strict";
import { Emulator, startEmulator } from "./emulator";
import { assertError, assertOk, call } from "./emulator/test-helpers";

describe("emulator: events history", () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(async () => emu.close());

  it("records transfer_completed, transfer_error and upload with put.io's fields, newest first", async () => {
    const ok = emu.state.addTransfer({ url: "http://example.com/good.bin" });
    const bad = emu.state.addTransfer({ url: "http://example.com/fail.bin" });
    await emu.advance(6000);
    const form = new FormData();
    form.append("file", new Blob([Buffer.from("hello")]), "up.txt");
    const up = await fetch(`${emu.uploadUrl}/v2/files/upload`, { method: "POST", headers: { Authorization: `token ${emu.token}` }, body: form });
    assert.equal(up.status, 200);
    const res = await call(emu, "GET", "/v2/events/list");
    assertOk(res);
    assert.equal(res.body.has_more, false);
    const events = res.body.events;
    assert.deepEqual(
      events.map((e: { type: string }) => e.type),
      ["upload", "transfer_completed", "transfer_error"],
    );
    const ids = events.map((e: { id: number }) => e.id);
    assert.deepEqual(
      [...ids].sort((a, b) => b - a),
      ids,
      "newest first",
    );
    const done = events[1];
    assert.deepEqual(Object.keys(done).sort(), ["created_at", "file_id", "id", "source", "transfer_name", "transfer_size", "type", "user_id"]);
    const t = emu.state.getTransfer(ok.id)!;
    assert.deepEqual([done.file_id, done.transfer_name, done.transfer_size, done.source], [t.file_id, t.name, t.size, t.source]);
    assert.match(done.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.deepEqual([events[2].transfer_name, events[2].source], [bad.name, bad.source]);
    assert.deepEqual([events[0].file_name, events[0].file_size], ["up.txt", 5]);
    // Progress updates and repeated pushes record nothing more.
    await emu.advance(5000);
    assert.equal((await call(emu, "GET", "/v2/events/list")).body.events.length, 3);
  });

  it("pages with per_page and before=<last id>; per_page=0 answers 400 INVALID_PER_PAGE", async () => {
    for (let i = 0; i < 5; i++) emu.state.addTransfer({ url: `http://example.com/${i}.bin`, status: "COMPLETED" });
    const first = (await call(emu, "GET", "/v2/events/list?per_page=2")).body;
    assert.equal(first.events.length, 2);
    assert.equal(first.has_more, true);
    const seen = [...first.events];
    let page = first;
    while (page.has_more) {
      page = (await call(emu, "GET", `/v2/events/list?per_page=2&before=${seen[seen.length - 1].id}`)).body;
      seen.push(...page.events);
    }
    assert.equal(new Set(seen.map((e: { id: number }) => e.id)).size, 5);
    assertError(await call(emu, "GET", "/v2/events/list?per_page=0"), 400, "INVALID_PER_PAGE");
  });

  it("delete one (a missing id is OK too) and clear all; other users keep theirs", async () => {
    const other = emu.addUser();
    emu.state.addTransfer({ url: "http://example.com/a.bin", status: "COMPLETED" });
    emu.state.addTransfer({ url: "http://example.com/b.bin", status: "COMPLETED" });
    emu.state.addTransfer({ url: "http://example.com/c.bin", status: "COMPLETED", userToken: other.token });
    const [newest] = (await call(emu, "GET", "/v2/events/list")).body.events;
    assertOk(await call(emu, "POST", `/v2/events/delete/${newest.id}`));
    assertOk(await call(emu, "POST", `/v2/events/delete/${newest.id}`));
    assert.equal((await call(emu, "GET", "/v2/events/list")).body.events.length, 1);
    assertOk(await call(emu, "POST", "/v2/events/delete"));
    assert.deepEqual((await call(emu, "GET", "/v2/events/list")).body.events, []);
    assert.equal((await call(emu, "GET", "/v2/events/list", { token: other.token })).body.events.length, 1);
  });

  it("third-party app tokens may list but not delete: 401 invalid_scope", async () => {
    const code = (await call(emu, "GET", "/v2/oauth2/oob/code?app_id=4242", { token: null })).body.code;
    emu.approveDeviceCode(code);
    const token = (await call(emu, "GET", `/v2/oauth2/oob/code/${code}`, { token: null })).body.oauth_token;
    assertOk(await call(emu, "GET", "/v2/events/list", { token }));
    assertError(await call(emu, "POST", "/v2/events/delete", { token }), 401, "invalid_scope");
    assertError(await call(emu, "POST", "/v2/events/delete/1", { token }), 401, "invalid_scope");
  });

  it("nothing is recorded while history_enabled is off", async () => {
    assertOk(await call(emu, "POST", "/v2/account/settings", { json: { history_enabled: false } }));
    emu.state.addTransfer({ url: "http://example.com/a.bin", status: "COMPLETED" });
    assert.deepEqual((await call(emu, "GET", "/v2/events/list")).body.events, []);
  });
});
