import * as assert from "node:assert/strict";
import * as http from "node:http";
import { Emulator, startEmulator } from "./emulator";
import { assertError, assertOk, call } from "./emulator/test-helpers";

/** Raw GET that reports how many body bytes arrived and how the response ended. */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; bytes: number; ended: "end" | "aborted"; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ status: res.statusCode!, bytes, ended: "end", req }));
      res.on("aborted", () => resolve({ status: res.statusCode!, bytes, ended: "aborted", req }));
      res.on("error", () => resolve({ status: res.statusCode!, bytes, ended: "aborted", req }));
    });
    req.on("error", reject);
  });
}

describe("emulator: knobs", () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(async () => emu.close());

  async function storageUrlFor(size: number): Promise<string> {
    const f = emu.state.addFile(0, "k.bin", { size, seed: 3 });
    return (await call(emu, "GET", `/v2/files/${f.id}/url`)).body.url;
  }

  it("rateLimit: headers on every response (reset in epoch seconds), then 429 TooManyRequests with retry-after", async () => {
    emu.knobs.rateLimit = { limit: 3, windowMs: 60_000 };
    const before = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 3; i++) {
      const r = await call(emu, "GET", "/v2/account/info");
      assertOk(r);
      assert.equal(r.headers.get("x-ratelimit-limit"), "3");
      assert.equal(r.headers.get("x-ratelimit-remaining"), String(2 - i));
      const reset = Number(r.headers.get("x-ratelimit-reset"));
      assert.ok(reset >= before + 59 && reset <= before + 62, String(reset));
    }
    const limited = await call(emu, "GET", "/v2/account/info");
    assertError(limited, 429, "TooManyRequests");
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
    // Budgets are per token.
    assertOk(await call(emu, "GET", "/v2/account/info", { token: emu.addUser().token }));
  });

  it("captchaNeeded: 429 with x-ratelimit-action and x-ratelimit-id", async () => {
    emu.knobs.captchaNeeded = true;
    const r = await call(emu, "GET", "/v2/files/list");
    assertError(r, 429, "TooManyRequests");
    assert.equal(r.headers.get("x-ratelimit-action"), "captcha-needed");
    assert.ok(r.headers.get("x-ratelimit-id"));
  });

  it("failNext5xx answers the next N requests with 5xx envelopes; fail5xx probability 1 always fails", async () => {
    emu.knobs.failNext5xx = 2;
    emu.knobs.failNext5xxStatus = 503;
    assertError(await call(emu, "GET", "/v2/files/list"), 503);
    assertError(await call(emu, "GET", "/v2/files/list"), 503);
    assertOk(await call(emu, "GET", "/v2/files/list"));
    emu.knobs.fail5xx = { probability: 1 };
    assertError(await call(emu, "GET", "/v2/files/list"), 500);
    assert.deepEqual(
      emu.requests.map((r) => r.status),
      [503, 503, 200, 500],
    );
    assert.equal(emu.requests[0].path, "/v2/files/list");
    assert.equal(emu.requests[0].token, emu.token);
  });

  it("trashLockNext: the next N deletes answer 400 TRASH_LOCK_TIMEOUT", async () => {
    const f = emu.state.addFile(0, "x", Buffer.from("x"));
    emu.knobs.trashLockNext = 1;
    assertError(await call(emu, "POST", "/v2/files/delete", { form: { file_ids: String(f.id) } }), 400, "TRASH_LOCK_TIMEOUT");
    assertOk(await call(emu, "POST", "/v2/files/delete", { form: { file_ids: String(f.id) } }));
  });

  it("cutDownloadAfterBytes + cutsRemaining: the next N responses are destroyed after exactly N bytes", async () => {
    const url = await storageUrlFor(500_000);
    emu.knobs.cutDownloadAfterBytes = 100_000;
    emu.knobs.cutsRemaining = 2;
    const first = await rawGet(url);
    assert.deepEqual([first.status, first.bytes, first.ended], [200, 100_000, "aborted"]);
    const resumed = await rawGet(url, { Range: "bytes=100000-" });
    assert.deepEqual([resumed.status, resumed.bytes, resumed.ended], [206, 100_000, "aborted"]);
    const whole = await rawGet(url);
    assert.deepEqual([whole.bytes, whole.ended], [500_000, "end"]);
    assert.equal(emu.knobs.cutsRemaining, 0);
  });

  it("stallDownloadAfterBytes: sends N bytes then keeps the connection open without data", async () => {
    const url = await storageUrlFor(300_000);
    emu.knobs.stallDownloadAfterBytes = 65_536;
    emu.knobs.stallsRemaining = 1;
    let bytes = 0;
    const req = http.get(url);
    const ended = new Promise<string>((resolve) => {
      req.on("response", (res) => {
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () => resolve("end"));
        res.on("error", () => resolve("aborted"));
      });
      req.on("error", () => resolve("aborted"));
    });
    while (bytes < 65_536) await new Promise((r) => setTimeout(r, 5));
    assert.equal(bytes, 65_536);
    req.destroy(); // the client's stall watchdog would do this
    assert.equal(await ended, "aborted");
    assert.equal(emu.knobs.stallsRemaining, 0);
  });

  it("downloadUrlTtlMs: storage URLs expire on the emulator clock (410)", async () => {
    emu.knobs.downloadUrlTtlMs = 60_000;
    const url = await storageUrlFor(1000);
    assert.equal((await fetch(url)).status, 200);
    await emu.advance(60_001);
    assert.equal((await fetch(url)).status, 410);
  });

  it("latencyMs delays responses; bandwidthPerConnection throttles bodies (lower bounds only)", async () => {
    emu.knobs.latencyMs = 50;
    let t0 = performance.now();
    await call(emu, "GET", "/v2/account/info");
    assert.ok(performance.now() - t0 >= 45);
    emu.knobs.latencyMs = 0;
    const url = await storageUrlFor(64 * 1024 * 4);
    emu.knobs.bandwidthPerConnection = 64 * 1024 * 10; // 4 chunks at 10 chunks/s: the last arrives after >= 3 pauses of 100 ms
    t0 = performance.now();
    const r = await rawGet(url);
    assert.equal(r.bytes, 64 * 1024 * 4);
    assert.ok(performance.now() - t0 >= 250);
  });

  it("revoked tokens close their sockets and fail the API; a second user has separate transfers", async () => {
    const bob = emu.addUser({ username: "bob" });
    emu.state.addTransfer({ url: "http://example.com/bob.bin", userToken: bob.token });
    assert.equal(emu.state.transfers().length, 0);
    assert.equal(emu.state.transfers(bob.token).length, 1);
    assert.equal((await call(emu, "GET", "/v2/transfers/count", { token: bob.token })).body.count, 1);
    emu.revokeToken(bob.token);
    assertError(await call(emu, "GET", "/v2/transfers/count", { token: bob.token }), 401);
  });

  it("listingGlitches: one bad files/list answer each (first N, none, or half), cursor null, parent size and total right; a glitch without folder waits for a listing it cuts", async () => {
    const a = emu.state.addFolder(0, "A");
    const b = emu.state.addFolder(0, "B");
    const one = emu.state.addFolder(0, "One");
    for (let i = 0; i < 5; i++) emu.state.addFile(a.id, `a${i}.txt`, Buffer.from(`file ${i}`));
    for (let i = 0; i < 4; i++) emu.state.addFile(b.id, `b${i}.txt`, Buffer.from(`file ${i}`));
    emu.state.addFile(one.id, "only.txt", Buffer.from("x"));
    const list = async (folder: number, perPage = 100) => {
      const r = await call(emu, "GET", `/v2/files/list?parent_id=${folder}&per_page=${perPage}&total=true`);
      assertOk(r);
      return { names: (r.body.files as Array<{ name: string }>).map((f) => f.name), cursor: r.body.cursor, total: r.body.total, size: r.body.parent.size };
    };
    const right = { a: await list(a.id), b: await list(b.id) };
    assert.equal(right.a.names.length, 5);
    emu.knobs.listingGlitches = [{ folder: b.id, keep: 1 }, { keep: 0 }, { keep: "half" }];
    // Folder A is listed first: the folder-less glitches are for it; B's waits for B.
    let got = await list(a.id);
    assert.deepEqual([got.names, got.cursor, got.total, got.size], [[], null, 5, right.a.size]);
    got = await list(one.id);
    assert.deepEqual([got.names, got.cursor], [["only.txt"], null], "half of one item cuts nothing: not used here");
    got = await list(a.id);
    assert.deepEqual([got.names, got.cursor, got.total], [right.a.names.slice(0, 3), null, 5]);
    got = await list(b.id);
    assert.deepEqual([got.names, got.cursor, got.total, got.size], [right.b.names.slice(0, 1), null, 4, right.b.size]);
    assert.deepEqual(emu.knobs.listingGlitches, [], "each used once");
    got = await list(a.id, 2);
    assert.deepEqual(got.names, right.a.names.slice(0, 2));
    assert.notEqual(got.cursor, null, "right again: the rest follows the cursor");
  });
});
