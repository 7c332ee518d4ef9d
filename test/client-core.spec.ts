/**
 * The request pipeline against the emulator: auth, errors, rate limits, retries, abort, schemas.
 * Timing never decides a result: where the client waits, the assertion is about order (no request
 * reached the emulator before the reset), not about how long it took.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startEmulator, type Emulator } from "./emulator";
import { PutioAbortError, PutioClient, PutioError, PutioNetworkError, PutioRateLimitError, PutioSchemaError, PutioTimeoutError } from "../lib";

const fastRetry = { baseDelayMs: 5, maxDelayMs: 20 };

describe("client core: request pipeline", function () {
  let emu: Emulator;
  const clients: PutioClient[] = [];
  const client = (opts: ConstructorParameters<typeof PutioClient>[0] = {}) => {
    const c = new PutioClient({ apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, token: emu.token, retry: fastRetry, ...opts });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await emu.close();
  });

  it("sends the token and reads the account", async () => {
    const info = await client().account.info();
    assert.equal(typeof info.username, "string");
    assert.ok(info.disk.size > 0);
    assert.ok(emu.requests.some((r) => r.path === "/v2/account/info" && r.status === 200));
  });

  it("takes the API and upload addresses as users paste them: a trailing /v2, slashes or spaces", async () => {
    for (const suffix of ["/v2", "/v2/", "/", "//", "/V2", ""]) {
      const c = client({ apiUrl: ` ${emu.apiUrl}${suffix} `, uploadUrl: `${emu.uploadUrl}${suffix}` });
      assert.equal(c.transport.apiUrl, emu.apiUrl, suffix);
      assert.equal(c.transport.uploadUrl, emu.uploadUrl, suffix);
      assert.equal(typeof (await c.account.info()).username, "string", suffix);
    }
    assert.ok(!emu.requests.some((r) => r.path.startsWith("/v2/v2")), "never /v2/v2");
  });

  it("turns a bad token into a typed 401 PutioError that says what to do, without the token", async () => {
    const c = client({ token: "BADTOKEN0000000000000" });
    const err = await c.account.info().then(
      () => assert.fail("should fail"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PutioError);
    assert.equal(err.statusCode, 401);
    assert.equal(err.isUnauthorized, true);
    assert.match(err.message, /read the account info/);
    assert.match(err.message, /reconnect/);
    assert.ok(!err.message.includes("BADTOKEN0000000000000"));
    // 401 is not retried
    assert.equal(emu.requests.filter((r) => r.path === "/v2/account/info").length, 1);
  });

  it("maps put.io's error envelope fields onto PutioError", async () => {
    const err = await client()
      .files.get(2147483647)
      .catch((e: unknown) => e);
    assert.ok(err instanceof PutioError);
    assert.equal(err.statusCode, 404);
    assert.equal(typeof err.errorType, "string");
    assert.ok(err.errorType.length > 0);
    assert.equal(err.isNotFound, true);
    assert.match(err.message, /get file 2147483647/);
  });

  it("rides out the emulator's rate limit: every call succeeds, only in-flight ones see a 429, each retried once", async () => {
    emu.knobs.rateLimit = { limit: 3, windowMs: 1000 };
    const c = client({ maxConcurrent: 4 });
    const results = await Promise.all(Array.from({ length: 6 }, () => c.account.info()));
    assert.equal(results.length, 6);
    const seen = emu.requests.filter((r) => r.path === "/v2/account/info");
    assert.equal(seen.filter((r) => r.status === 200).length, 6);
    // Only requests already in flight when the budget ran out may meet a 429 (at most the
    // concurrency); each is retried once, after the hold, instead of hammering put.io.
    const refused = seen.filter((r) => r.status === 429).length;
    assert.ok(refused <= 4, `${refused} requests were sent into a 429`);
    assert.equal(seen.length, 6 + refused);
    const lastRefused = seen.map((r) => r.status).lastIndexOf(429);
    assert.ok(seen.slice(lastRefused + 1).every((r) => r.status === 200));
  });

  it("holds the queue when x-ratelimit-remaining reaches 0 (no request is answered 429)", async () => {
    emu.knobs.rateLimit = { limit: 2, windowMs: 1000 };
    const c = client({ maxConcurrent: 1 });
    for (let i = 0; i < 5; i++) await c.account.info();
    const seen = emu.requests.filter((r) => r.path === "/v2/account/info");
    assert.equal(seen.filter((r) => r.status === 429).length, 0);
    assert.equal(seen.length, 5);
  });

  it("gives a captcha-needed 429 as PutioRateLimitError with the captcha address", async () => {
    emu.knobs.captchaNeeded = true;
    const err = await client()
      .account.info()
      .catch((e: unknown) => e);
    assert.ok(err instanceof PutioRateLimitError);
    assert.ok(err.captchaUrl && /\/captcha\//.test(err.captchaUrl));
    assert.match(err.message, /captcha/);
  });

  it("retries 5xx on idempotent requests, then succeeds", async () => {
    emu.knobs.failNext5xx = 2;
    const c = client();
    const info = await c.account.info();
    assert.ok(info.username);
    assert.equal(emu.requests.filter((r) => r.path === "/v2/account/info").length, 3);
    assert.equal(c.transport.stats.retries, 2);
  });

  it("surfaces 5xx after the retries are used up", async () => {
    emu.knobs.failNext5xx = 50;
    const c = client({ retry: { ...fastRetry, retries: 2 } });
    const err = await c.account.info().catch((e: unknown) => e);
    assert.ok(err instanceof PutioError);
    assert.ok(err.statusCode >= 500);
    assert.equal(emu.requests.filter((r) => r.path === "/v2/account/info").length, 3);
  });

  it("never repeats a non-idempotent request after a 5xx (adding a transfer)", async () => {
    emu.knobs.failNext5xx = 1;
    const err = await client()
      .transfers.add("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=x")
      .catch((e: unknown) => e);
    assert.ok(err instanceof PutioError);
    assert.equal(emu.requests.filter((r) => r.path === "/v2/transfers/add").length, 1);
  });

  it("retries TRASH_LOCK_TIMEOUT on delete", async () => {
    const f = emu.state.addFile(0, "a.txt", Buffer.from("hello"));
    emu.knobs.trashLockNext = 2;
    await client().files.delete([f.id]);
    const deletes = emu.requests.filter((r) => r.path === "/v2/files/delete");
    assert.equal(deletes.length, 3);
    assert.equal(deletes[2].status, 200);
  });

  it("aborts an in-flight call with PutioAbortError", async () => {
    emu.knobs.latencyMs = 5000;
    const ac = new AbortController();
    const p = client().account.info(ac.signal);
    setImmediate(() => ac.abort());
    const err = await p.catch((e: unknown) => e);
    assert.ok(err instanceof PutioAbortError, String(err));
  });

  it("close() aborts every in-flight call", async () => {
    emu.knobs.latencyMs = 5000;
    const c = client();
    const p = Promise.allSettled([c.account.info(), c.transfers.count()]);
    await new Promise((r) => setTimeout(r, 20));
    await c.close();
    const res = await p;
    for (const r of res) {
      assert.equal(r.status, "rejected");
      assert.ok((r as PromiseRejectedResult).reason instanceof PutioAbortError);
    }
  });

  it("maps a refused connection to PutioNetworkError that was not sent", async () => {
    const c = new PutioClient({ apiUrl: "http://127.0.0.1:1", token: "X", retry: { ...fastRetry, retries: 1 } });
    clients.push(c);
    const err = await c.account.info().catch((e: unknown) => e);
    assert.ok(err instanceof PutioNetworkError, String(err));
    assert.equal(err.mayHaveTakenEffect, false);
  });

  describe("against a misbehaving server", () => {
    let server: http.Server;
    let url: string;
    let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
    beforeEach(async () => {
      server = http.createServer((req, res) => handler(req, res));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it("a response of the wrong shape fails with PutioSchemaError naming the field", async () => {
      handler = (_req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ status: "OK", info: { user_id: "7", username: "x", disk: { avail: 1, size: 2, used: 1 } } }));
      };
      const c = new PutioClient({ apiUrl: url, token: "T" });
      clients.push(c);
      const err = await c.account.info().catch((e: unknown) => e);
      assert.ok(err instanceof PutioSchemaError, String(err));
      assert.equal(err.field, "info.user_id");
      assert.match(err.message, /info\.user_id/);
    });

    it("a non-JSON body is a PutioSchemaError, not a crash", async () => {
      handler = (_req, res) => res.end("<html>maintenance</html>");
      const c = new PutioClient({ apiUrl: url, token: "T" });
      clients.push(c);
      const err = await c.account.info().catch((e: unknown) => e);
      assert.ok(err instanceof PutioSchemaError);
    });

    it("a server that never answers gives PutioTimeoutError (headers)", async () => {
      handler = () => {
        /* never answer */
      };
      const c = new PutioClient({ apiUrl: url, token: "T", timeouts: { headersMs: 100 }, retry: { ...fastRetry, retries: 0 } });
      clients.push(c);
      const err = await c.account.info().catch((e: unknown) => e);
      assert.ok(err instanceof PutioTimeoutError, String(err));
      assert.equal(err.phase, "headers");
    });

    it("a connection cut before the answer on a POST is reported as maybe-carried-out and not repeated", async () => {
      let hits = 0;
      handler = (req) => {
        hits++;
        req.socket.destroy();
      };
      const c = new PutioClient({ apiUrl: url, token: "T", retry: fastRetry });
      clients.push(c);
      const err = await c.transfers.add("http://example.com/a.iso").catch((e: unknown) => e);
      assert.ok(err instanceof PutioNetworkError, String(err));
      assert.equal(err.mayHaveTakenEffect, true);
      assert.match(err.message, /check put\.io before repeating/);
      assert.equal(hits, 1);
    });

    it("on 429 waits for x-ratelimit-reset (epoch seconds) and sends nothing before it", async () => {
      const times: number[] = [];
      let resetMs = 0;
      handler = (_req, res) => {
        times.push(Date.now());
        res.setHeader("content-type", "application/json");
        if (times.length === 1) {
          const reset = Math.floor(Date.now() / 1000) + 1;
          resetMs = reset * 1000;
          res.statusCode = 429;
          res.setHeader("x-ratelimit-limit", "1");
          res.setHeader("x-ratelimit-remaining", "0");
          res.setHeader("x-ratelimit-reset", String(reset));
          res.end(JSON.stringify({ status: "ERROR", status_code: 429, error_type: "TooManyRequests", error_message: "slow down" }));
        } else {
          res.end(JSON.stringify({ status: "OK", count: 1 }));
        }
      };
      const c = new PutioClient({ apiUrl: url, token: "T", maxConcurrent: 1 });
      clients.push(c);
      // Two callers share the token's queue: neither may go out before the reset.
      const [a, b] = await Promise.all([c.transfers.count(), c.transfers.count()]);
      assert.deepEqual([a, b], [1, 1]);
      assert.equal(times.length, 3);
      for (const t of times.slice(1)) assert.ok(t >= resetMs, `a request was sent ${resetMs - t} ms before the reset`);
    });

    it("clients of one token share one queue: together they never exceed its concurrency", async () => {
      let active = 0;
      let peak = 0;
      handler = (_req, res) => {
        active++;
        peak = Math.max(peak, active);
        setTimeout(() => {
          active--;
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ status: "OK", count: 0 }));
        }, 20);
      };
      const a = new PutioClient({ apiUrl: url, token: "SHARED", maxConcurrent: 2 });
      const b = new PutioClient({ apiUrl: url, token: "SHARED", maxConcurrent: 2 });
      const other = new PutioClient({ apiUrl: url, token: "OTHER", maxConcurrent: 1 });
      clients.push(a, b, other);
      await Promise.all([...Array.from({ length: 6 }, () => a.transfers.count()), ...Array.from({ length: 6 }, () => b.transfers.count())]);
      assert.equal(peak, 2);
      // Another token has its own queue: it is not held back by the first one's.
      peak = 0;
      await Promise.all([a.transfers.count(), a.transfers.count(), other.transfers.count()]);
      assert.equal(peak, 3);
    });

    it("accepts Retry-After when x-ratelimit-reset is absent", async () => {
      let hits = 0;
      const times: number[] = [];
      handler = (_req, res) => {
        hits++;
        times.push(Date.now());
        res.setHeader("content-type", "application/json");
        if (hits === 1) {
          res.statusCode = 429;
          res.setHeader("retry-after", "1");
          res.end(JSON.stringify({ status: "ERROR", status_code: 429, error_type: "TooManyRequests", error_message: "slow down" }));
        } else {
          res.end(JSON.stringify({ status: "OK", count: 3 }));
        }
      };
      const c = new PutioClient({ apiUrl: url, token: "T" });
      clients.push(c);
      assert.equal(await c.transfers.count(), 3);
      assert.equal(hits, 2);
      assert.ok(times[1] - times[0] >= 1000, "the retry came before Retry-After elapsed");
    });
  });
});
