import * as assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { Emulator, startEmulator } from "./emulator";
import { assertError, assertOk, call } from "./emulator/test-helpers";

const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;

describe("emulator: envelopes, auth and files", () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(async () => emu.close());

  describe("auth", () => {
    it("401 Unauthorized envelope without, with a bad, or with a revoked token", async () => {
      assertError(await call(emu, "GET", "/v2/account/info", { token: null }), 401, "Unauthorized");
      assertError(await call(emu, "GET", "/v2/account/info", { token: "AAAAAAAAAAAAAAAAAAAA" }), 401, "Unauthorized");
      const other = emu.addUser();
      assertOk(await call(emu, "GET", "/v2/account/info", { token: other.token }));
      emu.revokeToken(other.token);
      assertError(await call(emu, "GET", "/v2/files/list", { token: other.token }), 401, "Unauthorized");
    });

    it("accepts token/Token/Bearer schemes and ?oauth_token=", async () => {
      for (const scheme of ["token", "Token", "Bearer"]) {
        assertOk(await call(emu, "GET", "/v2/account/info", { token: null, headers: { Authorization: `${scheme} ${emu.token}` } }));
      }
      assertOk(await call(emu, "GET", `/v2/account/info?oauth_token=${emu.token}`, { token: null }));
      assertError(await call(emu, "GET", "/v2/account/info", { token: null, headers: { Authorization: `Basic ${emu.token}` } }), 401);
    });

    it("token is 20 upper-case alphanumerics", () => {
      assert.match(emu.token, /^[A-Z0-9]{20}$/);
    });
  });

  it("success envelopes carry status OK, application/json without charset and CORS", async () => {
    const res = await call(emu, "GET", "/v2/account/info");
    assertOk(res);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.deepEqual(Object.keys(res.body.info.disk).sort(), ["avail", "size", "used"]);
  });

  it("unknown routes are 404 and wrong methods 405 envelopes", async () => {
    assertError(await call(emu, "GET", "/v2/nope"), 404, "NotFound");
    assertError(await call(emu, "GET", "/v2/files/create-folder"), 405);
  });

  it("serialises the root and files like put.io", async () => {
    const folder = emu.state.addFolder(0, "Movies");
    const file = emu.state.addFile(folder.id, "Clip.MKV", Buffer.from("hello world"));
    const res = await call(emu, "GET", `/v2/files/list?parent_id=${folder.id}`);
    assertOk(res);
    assert.deepEqual(Object.keys(res.body).sort(), ["cursor", "files", "parent", "status"]);
    const f = res.body.files[0];
    assert.equal(f.id, file.id);
    assert.equal(f.crc32, zlib.crc32(Buffer.from("hello world")).toString(16).padStart(8, "0"));
    assert.equal(f.extension, "mkv");
    assert.equal(f.file_type, "VIDEO");
    assert.equal(f.content_type, "video/x-matroska");
    assert.match(f.created_at, DATE);
    assert.match(f.opensubtitles_hash, /^[0-9a-f]{16}$/);
    assert.equal(res.body.parent.size, 11);
    const root = (await call(emu, "GET", "/v2/files/0")).body.file;
    assert.equal(root.name, "Your Files");
    assert.equal(root.parent_id, null);
    assert.equal(root.content_type, "application/x-directory");
    assert.equal(root.file_type, "FOLDER");
    assert.equal(root.crc32, null);
    assert.equal(root.size, 11);
  });

  it("paginates 2,500 items with opaque cursors to the end", async () => {
    const folder = emu.state.addFolder(0, "Big");
    for (let i = 0; i < 2500; i++) emu.state.addFile(folder.id, `f${String(i).padStart(4, "0")}.txt`, Buffer.from(String(i)));
    let res = await call(emu, "GET", `/v2/files/list?parent_id=${folder.id}&per_page=1000&total=1`);
    assertOk(res);
    assert.equal(res.body.total, 2500);
    const names: string[] = res.body.files.map((f: { name: string }) => f.name);
    let pages = 1;
    while (res.body.cursor) {
      assert.equal(typeof res.body.cursor, "string");
      res = await call(emu, "POST", "/v2/files/list/continue?per_page=1000", { form: { cursor: res.body.cursor } });
      assertOk(res);
      names.push(...res.body.files.map((f: { name: string }) => f.name));
      pages++;
    }
    assert.equal(pages, 3);
    assert.equal(names.length, 2500);
    assert.equal(new Set(names).size, 2500);
    assert.equal(names[0], "f0000.txt");
    assert.equal(res.body.cursor, null);
  });

  it("rejects per_page 1001 / 0 and garbage or foreign cursors with 400", async () => {
    assertError(await call(emu, "GET", "/v2/files/list?per_page=1001"), 400);
    assertError(await call(emu, "GET", "/v2/files/list?per_page=0"), 400);
    assertError(await call(emu, "GET", "/v2/transfers/list?per_page=1001"), 400);
    assertError(await call(emu, "POST", "/v2/files/list/continue", { form: { cursor: "garbage" } }), 400);
    assertError(await call(emu, "POST", "/v2/trash/list/continue", { form: { cursor: "garbage" } }), 400);
    assertError(await call(emu, "GET", "/v2/files/list?parent_id=abc"), 400);
    for (let i = 0; i < 3; i++) emu.state.addFile(0, `x${i}`, Buffer.from("x"));
    const first = await call(emu, "GET", "/v2/files/list?per_page=1");
    const other = emu.addUser();
    assertError(await call(emu, "POST", "/v2/files/list/continue", { form: { cursor: first.body.cursor }, token: other.token }), 400);
  });

  it("404 for unknown ids", async () => {
    assertError(await call(emu, "GET", "/v2/files/2147483647"), 404, "NotFound");
    assertError(await call(emu, "GET", "/v2/files/list?parent_id=2147483647"), 404);
    assertError(await call(emu, "GET", "/v2/transfers/2147483647"), 404, "TRANSFER_NOT_FOUND");
  });

  it("keeps users' trees apart", async () => {
    const other = emu.addUser({ username: "bob" });
    const mine = emu.state.addFile(0, "mine.txt", Buffer.from("m"));
    assertError(await call(emu, "GET", `/v2/files/${mine.id}`, { token: other.token }), 404);
    const list = await call(emu, "GET", "/v2/files/list", { token: other.token });
    assert.deepEqual(list.body.files, []);
  });

  it("searches case-insensitively with a cursor; rejects 300-character queries", async () => {
    const a = emu.state.addFolder(0, "A");
    for (let i = 0; i < 25; i++) emu.state.addFile(a.id, `Holiday ${i}.jpg`, Buffer.from("x" + i));
    emu.state.addFile(0, "other.txt", Buffer.from("y"));
    let res = await call(emu, "GET", "/v2/files/search?query=HOLIDAY&per_page=10");
    assertOk(res);
    assert.equal(res.body.total, 25);
    const found = [...res.body.files];
    while (res.body.cursor) {
      res = await call(emu, "POST", "/v2/files/search/continue?per_page=10", { json: { cursor: res.body.cursor } });
      found.push(...res.body.files);
    }
    assert.equal(found.length, 25);
    assertError(await call(emu, "GET", `/v2/files/search?query=${"a".repeat(300)}`), 400, "SEARCH_TOO_LONG_QUERY");
    assertError(await call(emu, "GET", "/v2/files/search"), 400);
  });

  it("create-folder validates names (form, JSON and multipart bodies)", async () => {
    const ok = await call(emu, "POST", "/v2/files/create-folder", { form: { name: "Inbox", parent_id: "0" } });
    assertOk(ok);
    assert.equal(ok.body.file.file_type, "FOLDER");
    assert.equal(ok.body.file.size, 0);
    assertError(await call(emu, "POST", "/v2/files/create-folder", { json: { name: "Inbox", parent_id: 0 } }), 400, "NAME_ALREADY_EXIST");
    assertError(await call(emu, "POST", "/v2/files/create-folder", { form: { name: "", parent_id: "0" } }), 400, "EMPTY_NAME");
    assertError(await call(emu, "POST", "/v2/files/create-folder", { form: { name: "a/b", parent_id: "0" } }), 400, "SLASH_IN_NAME");
    assertError(await call(emu, "POST", "/v2/files/create-folder", { form: { name: "é".repeat(128), parent_id: "0" } }), 400, "NAME_TOO_LONG");
    assertError(await call(emu, "POST", "/v2/files/create-folder", { form: { name: "x", parent_id: "2147483647" } }), 404);
    const fd = new FormData();
    fd.append("name", "Multi");
    fd.append("parent_id", "0");
    assertOk(await call(emu, "POST", "/v2/files/create-folder", { body: fd }));
    const byPath = await call(emu, "POST", "/v2/files/create-folder", { form: { path: "/Deep/Er" } });
    assertOk(byPath);
    assert.equal(emu.state.getFile(byPath.body.file.parent_id)?.name, "Deep");
  });

  it("child lookup, rename, move (per-item errors) and move-with-rename", async () => {
    const dir = emu.state.addFolder(0, "Dir");
    const a = emu.state.addFile(0, "a.txt", Buffer.from("a"));
    assert.equal((await call(emu, "GET", "/v2/files/0/child?name=a.txt")).body.file.id, a.id);
    assertError(await call(emu, "GET", "/v2/files/0/child?name=zzz"), 404);
    assertOk(await call(emu, "POST", "/v2/files/rename", { form: { file_id: String(a.id), name: "b.txt" } }));
    assert.equal(emu.state.getFile(a.id)?.name, "b.txt");
    const moved = await call(emu, "POST", "/v2/files/move", { form: { file_ids: `${a.id},2147483647,${dir.id}`, parent_id: String(dir.id) } });
    assertOk(moved);
    assert.deepEqual(
      moved.body.errors.map((e: { id: number; status_code: number }) => [e.id, e.status_code]),
      [
        [2147483647, 404],
        [dir.id, 400],
      ],
    );
    assert.equal(emu.state.getFile(a.id)?.parent_id, dir.id);
    assertOk(await call(emu, "POST", "/v2/files/move", { form: { file_id: String(a.id), parent_id: "0", name: "c.txt" } }));
    assert.deepEqual([emu.state.getFile(a.id)?.parent_id, emu.state.getFile(a.id)?.name], [0, "c.txt"]);
  });

  it("delete goes to trash; trash lists top level only, restore keeps ids, child ids are 404", async () => {
    const dir = emu.state.addFolder(0, "Dir");
    const child = emu.state.addFile(dir.id, "c.txt", Buffer.from("ccc"));
    const lone = emu.state.addFile(0, "lone.txt", Buffer.from("l"));
    assertError(await call(emu, "POST", "/v2/files/delete", { form: { file_ids: `${dir.id},2147483647` } }), 404);
    const del = await call(emu, "POST", "/v2/files/delete?skip_nonexistents=true", { form: { file_ids: `${dir.id},2147483647` } });
    assertOk(del);
    assert.equal(del.body.skipped, 1);
    assert.equal(del.body.cursor, null);
    assertError(await call(emu, "GET", `/v2/files/${child.id}`), 404);
    const trash = await call(emu, "GET", "/v2/trash/list");
    assertOk(trash);
    assert.deepEqual(
      trash.body.files.map((f: { id: number }) => f.id),
      [dir.id],
    );
    assert.equal(trash.body.trash_size, 3);
    assertError(await call(emu, "POST", "/v2/trash/restore", { form: { file_ids: String(child.id) } }), 404, "TRASH_FILE_NOT_FOUND");
    assertOk(await call(emu, "POST", "/v2/trash/restore", { form: { file_ids: String(dir.id) } }));
    assert.equal(emu.state.getFile(child.id)?.parent_id, dir.id);
    assertOk(await call(emu, "POST", "/v2/files/delete?skip_trash=True", { form: { file_ids: String(lone.id) } }));
    assert.equal((await call(emu, "GET", "/v2/trash/list")).body.total, 0);
    await call(emu, "POST", "/v2/files/delete", { form: { file_ids: String(dir.id) } });
    assertOk(await call(emu, "POST", "/v2/trash/empty"));
    assert.equal((await call(emu, "GET", "/v2/trash/list")).body.total, 0);
    assert.equal(emu.state.getFile(dir.id), undefined);
  });

  it("rejects bad booleans and malformed JSON with 400", async () => {
    assertError(await call(emu, "GET", "/v2/files/list?total=maybe"), 400);
    assertError(await call(emu, "POST", "/v2/files/rename", { body: "{", headers: { "Content-Type": "application/json" } }), 400);
  });

  it("download: /url and /download lead to storage; Range 206, 416 and 200", async () => {
    const data = Buffer.from("0123456789abcdefghij");
    const f = emu.state.addFile(0, "d.bin", data);
    const urlRes = await call(emu, "GET", `/v2/files/${f.id}/url`);
    assertOk(urlRes);
    const storage: string = urlRes.body.url;
    const redirect = await call(emu, "GET", `/v2/files/${f.id}/download`);
    assert.equal(redirect.status, 302);
    assert.match(redirect.headers.get("location") ?? "", /\/download\/\d+\?u=/);
    const full = await fetch(storage);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get("accept-ranges"), "bytes");
    assert.equal(full.headers.get("content-length"), "20");
    assert.deepEqual(Buffer.from(await full.arrayBuffer()), data);
    const part = await fetch(storage, { headers: { Range: "bytes=5-9" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 5-9/20");
    assert.equal(Buffer.from(await part.arrayBuffer()).toString(), "56789");
    const tail = await fetch(storage, { headers: { Range: "bytes=15-" } });
    assert.equal(Buffer.from(await tail.arrayBuffer()).toString(), "fghij");
    const bad = await fetch(storage, { headers: { Range: "bytes=20-" } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), "bytes */20");
    assert.equal((await fetch(storage.replace(/u=[^&]+/, "u=forged"))).status, 403);
    const folder = emu.state.addFolder(0, "F");
    assertError(await call(emu, "GET", `/v2/files/${folder.id}/url`), 400);
  });

  it("virtual 64 MiB files: deterministic ranges, crc32 of the whole, corruptCrc and replaceFileContent", async () => {
    const size = 64 * 1024 * 1024;
    const f = emu.state.addFile(0, "big.mkv", { size, seed: 7 });
    const again = emu.state.addFile(0, "big2.mkv", { size, seed: 7 });
    assert.equal(f.crc32, again.crc32);
    const storage = (await call(emu, "GET", `/v2/files/${f.id}/url`)).body.url as string;
    const res = await fetch(storage, { headers: { Range: `bytes=${size - 100000}-` } });
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), emu.state.fileBytes(f.id, size - 100000));
    let crc = 0;
    for (let pos = 0; pos < size; pos += 8 << 20) crc = zlib.crc32(emu.state.fileBytes(f.id, pos, pos + (8 << 20)), crc);
    assert.equal(crc.toString(16).padStart(8, "0"), f.crc32);
    emu.state.corruptCrc(f.id);
    const whole = Buffer.from(await (await fetch(storage)).arrayBuffer());
    assert.equal(whole.length, size);
    assert.notEqual(zlib.crc32(whole).toString(16).padStart(8, "0"), f.crc32);
    assert.equal(emu.state.getFile(f.id)?.crc32, f.crc32);
    const replaced = emu.state.replaceFileContent(f.id, Buffer.from("new"));
    assert.equal(replaced.id, f.id);
    assert.equal(replaced.size, 3);
    assert.equal(replaced.crc32, zlib.crc32(Buffer.from("new")).toString(16).padStart(8, "0"));
  });

  it("account settings round-trip and config store per user/app", async () => {
    assertOk(await call(emu, "POST", "/v2/account/settings", { json: { trash_enabled: false, callback_url: "http://127.0.0.1:1/cb" } }));
    const s = await call(emu, "GET", "/v2/account/settings");
    assert.equal(s.body.settings.trash_enabled, false);
    assertError(await call(emu, "POST", "/v2/account/settings", { json: { callback_url: "not a url" } }), 400, "INVALID_CALLBACK_URL");
    assert.deepEqual((await call(emu, "GET", "/v2/config/k")).body.value, null);
    assertOk(await call(emu, "PUT", "/v2/config/k", { json: { value: { a: [1, 2] } } }));
    assert.deepEqual((await call(emu, "GET", "/v2/config/k")).body.value, { a: [1, 2] });
    assertOk(await call(emu, "PUT", "/v2/config", { json: { config: { x: 1 } } }));
    assert.deepEqual((await call(emu, "GET", "/v2/config")).body.config, { x: 1 });
    assertOk(await call(emu, "DELETE", "/v2/config/x"));
    assert.deepEqual((await call(emu, "GET", "/v2/config")).body.config, {});
    assertError(await call(emu, "PUT", "/v2/config", { json: { config: 3 } }), 400);
  });

  it("device-code flow: code, poll null, approve, poll token; unknown/expired 404; /link page", async () => {
    const code = await call(emu, "GET", "/v2/oauth2/oob/code?app_id=1234", { token: null });
    assertOk(code);
    assert.match(code.body.qr_code_url, /^http/);
    assertError(await call(emu, "GET", "/v2/oauth2/oob/code", { token: null }), 400);
    const poll = await call(emu, "GET", `/v2/oauth2/oob/code/${code.body.code}`, { token: null });
    assert.equal(poll.body.oauth_token, null);
    emu.approveDeviceCode(code.body.code);
    const token = (await call(emu, "GET", `/v2/oauth2/oob/code/${code.body.code}`, { token: null })).body.oauth_token;
    assert.match(token, /^[A-Z0-9]{20}$/);
    const v = await call(emu, "GET", `/v2/oauth2/validate?oauth_token=${token}`, { token: null });
    assert.equal(v.body.result, true);
    const bad = await call(emu, "GET", "/v2/oauth2/validate?oauth_token=NOPE", { token: null });
    assert.deepEqual([bad.status, bad.body.result, bad.body.user_id], [200, false, null]);
    assertError(await call(emu, "GET", "/v2/oauth2/oob/code/ZZZZZZ", { token: null }), 404);
    emu.expireDeviceCode(code.body.code);
    assertError(await call(emu, "GET", `/v2/oauth2/oob/code/${code.body.code}`, { token: null }), 404);

    const second = (await call(emu, "GET", "/v2/oauth2/oob/code?app_id=1", { token: null })).body.code as string;
    const page = await fetch(`${emu.apiUrl}/link?code=${second}`);
    assert.match(await page.text(), /<form method="POST"/);
    const posted = await fetch(`${emu.apiUrl}/link`, { method: "POST", body: new URLSearchParams({ code: second }) });
    assert.match(await posted.text(), /Device linked/);
    assert.notEqual((await call(emu, "GET", `/v2/oauth2/oob/code/${second}`, { token: null })).body.oauth_token, null);

    const third = (await call(emu, "GET", "/v2/oauth2/oob/code?app_id=1", { token: null })).body.code as string;
    const approved = await call(emu, "POST", "/v2/oauth2/oob/code", { form: { code: third } });
    assertOk(approved);
    assert.equal(approved.body.app.id, 1);
    await emu.advance(10 * 60 * 1000 + 1);
    assertError(await call(emu, "GET", `/v2/oauth2/oob/code/${third}`, { token: null }), 404);
  });
});
