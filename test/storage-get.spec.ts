/** lib/download/storage-get.ts (the storage GET of the download engine) against servers that send crafted bytes. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { storageGet, type BodySink, type StorageGetOptions } from "../lib/download/storage-get";

type Handler = (socket: net.Socket, request: string) => unknown;

const servers: Array<{ close(): void }> = [];
const sockets: net.Socket[] = [];

/** A TCP server that reads the request head, then lets `handler` write whatever it likes. */
async function rawServer(handler: Handler): Promise<{ url: string; requests: string[]; closed: Promise<void> }> {
  const requests: string[] = [];
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let head = "";
    socket.on("error", () => {});
    socket.on("close", () => closedResolve());
    socket.on("data", (d) => {
      if (head.includes("\r\n\r\n")) return;
      head += d.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        requests.push(head);
        void handler(socket, head);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/file/x?u=1`, requests, closed };
}

function opts(extra: Partial<StorageGetOptions> = {}): StorageGetOptions {
  return {
    headers: { range: "bytes=0-", "user-agent": "test" },
    signal: new AbortController().signal,
    connectTimeoutMs: 2000,
    headersTimeoutMs: 2000,
    ...extra,
  };
}

/** Copy-path sink collecting the body. */
function collector(): BodySink & { bytes(): Buffer; calls: number } {
  const parts: Buffer[] = [];
  return {
    calls: 0,
    write(chunk) {
      this.calls++;
      parts.push(Buffer.from(chunk));
    },
    bytes: () => Buffer.concat(parts),
  };
}

/** Zero-copy sink: hands out 1000-byte pieces of one buffer, as the engine's batches do. */
function claimer(size: number): BodySink & { bytes(): Buffer; landedCalls: number } {
  const buf = Buffer.alloc(size + 4096);
  let filled = 0;
  const copied: Buffer[] = [];
  return {
    landedCalls: 0,
    write(chunk) {
      copied.push(Buffer.from(chunk));
      chunk.copy(buf, filled);
      filled += chunk.length;
    },
    claim: () => buf.subarray(filled, filled + 1000),
    landed(n) {
      this.landedCalls++;
      filled += n;
    },
    bytes: () => buf.subarray(0, filled),
  };
}

const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const tick = () => new Promise((r) => setImmediate(r));

describe("storage GET (lean HTTP/1.1 reader)", function () {
  this.timeout(10_000);
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) s.close();
  });

  const body = crypto.randomBytes(300_000);

  it("Content-Length body, copy path: byte-identical; the request says GET, Host, Range and Connection: close", async () => {
    const srv = await rawServer((s) =>
      s.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes 0-${body.length - 1}/${body.length}\r\nX-Twice: a\r\nx-twice: b\r\n\r\n`,
          ),
          body,
        ]),
      ),
    );
    const res = await storageGet(srv.url, opts());
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers["content-range"], `bytes 0-${body.length - 1}/${body.length}`);
    assert.equal(res.headers["x-twice"], "a, b");
    const sink = collector();
    await res.readBody(sink);
    assert.equal(sha(sink.bytes()), sha(body));
    const req = srv.requests[0];
    assert.match(req, /^GET \/file\/x\?u=1 HTTP\/1\.1\r\n/);
    assert.match(req, new RegExp(`\r\nHost: 127\\.0\\.0\\.1:\\d+\r\n`));
    assert.match(req, /\r\nrange: bytes=0-\r\n/);
    assert.match(req, /\r\nConnection: close\r\n\r\n$/);
  });

  it("zero-copy path: reads land in the claimed views (several), byte-identical", async () => {
    const srv = await rawServer(async (s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      for (let i = 0; i < body.length; i += 50_000) {
        s.write(body.subarray(i, i + 50_000));
        await tick();
      }
      s.end();
    });
    const res = await storageGet(srv.url, opts());
    const sink = claimer(body.length);
    await res.readBody(sink);
    assert.equal(sha(sink.bytes()), sha(body));
    assert.ok(sink.landedCalls > 10, `${sink.landedCalls} reads landed in claimed views`);
  });

  it("header values with CR or LF are refused before anything is sent", async () => {
    await assert.rejects(storageGet("http://127.0.0.1:1/x", opts({ headers: { range: "bytes=0-\r\nX-Evil: 1" } })), TypeError);
    await assert.rejects(storageGet("ftp://127.0.0.1/x", opts()), /unsupported storage URL scheme/);
  });

  it("a head sent byte by byte, with body bytes in the same write as its end", async () => {
    const head = `HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n`;
    const srv = await rawServer(async (s) => {
      for (const ch of head.slice(0, -1)) {
        s.write(ch);
        await new Promise((r) => setTimeout(r, 1));
      }
      s.write("\nhello");
      await tick();
      s.end(" world");
    });
    const res = await storageGet(srv.url, opts());
    const sink = collector();
    await res.readBody(sink);
    assert.equal(sink.bytes().toString(), "hello world");
  });

  it("a head over 64 KiB, a malformed status line and an invalid Content-Length are EPROTO", async () => {
    const big = await rawServer((s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70_000)}\r\n`));
    await assert.rejects(storageGet(big.url, opts()), (e: NodeJS.ErrnoException) => e.code === "EPROTO" && /64 KiB/.test(e.message));
    const status = await rawServer((s) => s.end("HTCPCP/1.0 418 teapot\r\n\r\n"));
    await assert.rejects(storageGet(status.url, opts()), (e: NodeJS.ErrnoException) => e.code === "EPROTO" && /status line/.test(e.message));
    const length = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n"));
    await assert.rejects(storageGet(length.url, opts()), (e: NodeJS.ErrnoException) => e.code === "EPROTO" && /Content-Length/.test(e.message));
  });

  it("skips an interim 100 Continue head", async () => {
    const srv = await rawServer((s) => s.end("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    const res = await storageGet(srv.url, opts());
    assert.equal(res.statusCode, 200);
    const sink = collector();
    await res.readBody(sink);
    assert.equal(sink.bytes().toString(), "ok");
  });

  it("chunked bodies (extensions, trailers, awkward splits) are decoded; a bad chunk size is EPROTO", async () => {
    const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
    const srv = await rawServer(async (s) => {
      for (let i = 0; i < wire.length; i += 3) {
        s.write(wire.slice(i, i + 3));
        await tick();
      }
      // The connection stays open: the terminating chunk alone must end the body.
    });
    const res = await storageGet(srv.url, opts());
    const sink = claimer(100); // chunked bodies must not use the zero-copy path
    await res.readBody(sink);
    assert.equal(sink.bytes().toString(), "hello 0123456789");
    assert.equal(sink.landedCalls, 0);

    const bad = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"));
    const r2 = await storageGet(bad.url, opts());
    await assert.rejects(r2.readBody(collector()), (e: NodeJS.ErrnoException) => e.code === "EPROTO" && /chunk size/.test(e.message));
  });

  it("a body without length ends at the close; a Content-Length body cut short is ECONNRESET; no head at all too", async () => {
    const open = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\n\r\nuntil close"));
    const r1 = await storageGet(open.url, opts());
    const s1 = collector();
    await r1.readBody(s1);
    assert.equal(s1.bytes().toString(), "until close");

    const cut = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"));
    const r2 = await storageGet(cut.url, opts());
    const s2 = collector();
    await assert.rejects(r2.readBody(s2), (e: NodeJS.ErrnoException) => e.code === "ECONNRESET");
    assert.equal(s2.bytes().toString(), "only this", "what arrived was delivered first");

    const none = await rawServer((s) => s.end());
    await assert.rejects(storageGet(none.url, opts()), (e: NodeJS.ErrnoException) => e.code === "ECONNRESET");
  });

  it("204 has no body; bytes beyond Content-Length are not delivered", async () => {
    const empty = await rawServer((s) => s.write("HTTP/1.1 204 No Content\r\n\r\n"));
    const r1 = await storageGet(empty.url, opts());
    const s1 = collector();
    await r1.readBody(s1);
    assert.equal(s1.calls, 0);

    const extra = await rawServer((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdefgh"));
    const r2 = await storageGet(extra.url, opts());
    const s2 = collector();
    await r2.readBody(s2);
    assert.equal(s2.bytes().toString(), "abc");
  });

  it("no head within headersTimeoutMs is UND_ERR_HEADERS_TIMEOUT; a closed port is ECONNREFUSED", async () => {
    const silent = await rawServer(() => {});
    await assert.rejects(storageGet(silent.url, opts({ headersTimeoutMs: 150 })), (e: NodeJS.ErrnoException) => e.code === "UND_ERR_HEADERS_TIMEOUT");
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await assert.rejects(storageGet(`http://127.0.0.1:${port}/x`, opts()), (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED");
  });

  it("abort: before the call, and mid-body (the server sees the connection close)", async () => {
    const ac = new AbortController();
    ac.abort(new Error("stop now"));
    await assert.rejects(storageGet("http://127.0.0.1:1/x", opts({ signal: ac.signal })), /stop now/);

    const srv = await rawServer((s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nfirst bytes"));
    const ac2 = new AbortController();
    const res = await storageGet(srv.url, opts({ signal: ac2.signal }));
    const sink = collector();
    const reading = res.readBody({
      write(chunk) {
        sink.write(chunk);
        ac2.abort(new Error("user stop"));
      },
    });
    await assert.rejects(reading, /user stop/);
    await srv.closed;
  });

  it("pause: no bytes reach the sink while paused, then the body completes", async () => {
    const srv = await rawServer(async (s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body.subarray(0, 1000));
      await new Promise((r) => setTimeout(r, 50));
      s.end(body.subarray(1000));
    });
    const res = await storageGet(srv.url, opts());
    const sink = collector();
    let pausedAt = -1;
    let callsWhilePaused = 0;
    const reading = res.readBody({
      write(chunk) {
        if (pausedAt >= 0) callsWhilePaused++;
        sink.write(chunk);
        if (pausedAt < 0) {
          pausedAt = sink.calls;
          res.pause();
          setTimeout(() => {
            const seen = callsWhilePaused;
            pausedAt = -2; // counting stops
            assert.equal(seen, 0);
            res.resume();
          }, 200);
        }
      },
    });
    await reading;
    assert.equal(callsWhilePaused, 0);
    assert.equal(sha(sink.bytes()), sha(body));
  });

  it("https: TLS is really used (a self-signed certificate is refused, a trusted one serves the body)", async function () {
    let dir: string;
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-tls-"));
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "k"), "-out", path.join(dir, "c"), "-days", "1", "-subj", "/CN=localhost"],
        { stdio: "ignore" },
      );
    } catch {
      return this.skip();
    }
    const server = https.createServer({ key: fs.readFileSync(path.join(dir, "k")), cert: fs.readFileSync(path.join(dir, "c")) }, (_q, r) => r.end("secret"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push(server);
    const port = (server.address() as net.AddressInfo).port;
    await assert.rejects(storageGet(`https://localhost:${port}/x`, opts()), (e: NodeJS.ErrnoException) => /SELF_SIGNED|DEPTH_ZERO/.test(String(e.code)));

    // Trusted (NODE_EXTRA_CA_CERTS works only at start-up, hence a child process): the body arrives
    // over TLS through the zero-copy path.
    const script = `
      const { storageGet } = require(${JSON.stringify(require.resolve("../lib/download/storage-get"))});
      (async () => {
        const res = await storageGet(process.argv[1], { headers: {}, signal: new AbortController().signal, connectTimeoutMs: 2000, headersTimeoutMs: 2000 });
        const buf = Buffer.alloc(64); let n = 0;
        await res.readBody({ write(c) { c.copy(buf, n); n += c.length; }, claim: () => buf.subarray(n, n + 3), landed(k) { n += k; } });
        process.stdout.write(res.statusCode + " " + buf.subarray(0, n).toString());
      })().catch((e) => { process.stdout.write("error " + e.code); });`;
    const out = await new Promise<string>((resolve, reject) =>
      require("node:child_process").execFile(
        process.execPath,
        ["-e", script, `https://localhost:${port}/x`],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, "c") } },
        (err: Error | null, stdout: string) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    assert.equal(out, "200 secret");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
