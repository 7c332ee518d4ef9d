/**
 * Behind an HTTP proxy: a real one (Debian's tinyproxy, started here on a free loopback port with
 * its own config and log), a real Node-RED, the emulator. tinyproxy connects onwards from
 * 127.0.0.2 (its `Bind`), so the emulator can tell every connection that came through it from one
 * that went around it (from 127.0.0.1).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { bypassesProxy, proxyFor, proxySettingsFromEnv, PutioProxyError, type ProxySettings } from "../lib/core/proxy";
import { PutioSocket } from "../lib/core/socket";
import { storageGet } from "../lib/download/storage-get";
import { crcHex } from "./support/files";
import { catchAll, nr, statusMatching, withTab, type FlowNode } from "./nr";
import { uploadNodeConfig, useNodeRed } from "./support/node-red-fixture";

const accountNode = require("../nodes/putio-account");
const watchNode = require("../nodes/putio-transfer-watch");
const addNode = require("../nodes/putio-transfer-add");
const downloadNode = require("../nodes/putio-download");
const uploadNode = require("../nodes/putio-upload");
const infoNode = require("../nodes/putio-account-info");
const httpProxyNode = require("@node-red/nodes/core/network/06-httpproxy.js");

const TINYPROXY = "/usr/bin/tinyproxy";
const PROXY_PEER = "127.0.0.2";
const MiB = 1024 * 1024;

interface Tinyproxy {
  url: string;
  port: number;
  log(): string;
  /** The requests tinyproxy logged: "CONNECT 127.0.0.1:1234", "GET http://127.0.0.1:1234/…". */
  requests(): string[];
  /** Connections it made onwards. */
  established(): number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function startTinyproxy(opts: { user?: string; password?: string } = {}): Promise<Tinyproxy> {
  if (!fs.existsSync(TINYPROXY)) throw new Error("tinyproxy is missing: run scripts/setup.sh (it installs Debian's tinyproxy)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-tinyproxy-"));
  const logFile = path.join(dir, "tinyproxy.log");
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = [
      `Port ${port}`,
      "Listen 127.0.0.1",
      `Bind ${PROXY_PEER}`,
      "Timeout 600",
      `LogFile "${logFile}"`,
      "LogLevel Connect",
      "MaxClients 200",
      "Allow 127.0.0.1",
      ...(opts.user ? [`BasicAuth ${opts.user} ${opts.password}`] : []),
    ];
    fs.writeFileSync(path.join(dir, "tinyproxy.conf"), conf.join("\n") + "\n");
    const child: ChildProcess = spawn(TINYPROXY, ["-d", "-c", path.join(dir, "tinyproxy.conf")], { stdio: "ignore" });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    let up = false;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      up = await new Promise<boolean>((r) => {
        const c = net.connect(port, "127.0.0.1", () => (c.destroy(), r(true)));
        c.on("error", () => r(false));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      child.kill();
      if (attempt < 3) continue; // the port was taken between our check and tinyproxy's bind
      throw new Error("tinyproxy did not start");
    }
    const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "");
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      log,
      requests: () => [...log().matchAll(/Request \(file descriptor \d+\): (\S+ \S+)/g)].map((m) => m[1]!),
      established: () => [...log().matchAll(/Established connection to host/g)].length,
      stop: async () => {
        child.kill();
        await exited;
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

/** Wait for a condition; mocha's timeout bounds it. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

/** Sets proxy environment variables for one test; returns the undo. */
function setEnv(vars: Record<string, string>): () => void {
  const names = ["http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"];
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, vars);
  return () => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  };
}

describe("behind an HTTP proxy (tinyproxy) @nr", function () {
  this.timeout(90_000);

  describe("the decision (lib/core/proxy.ts)", () => {
    it("http_proxy for http and ws, https_proxy for https and wss, lower case first, all_proxy as the fallback", () => {
      const env = proxySettingsFromEnv({ http_proxy: "http://a:1", HTTP_PROXY: "http://b:2", HTTPS_PROXY: "http://c:3", no_proxy: "x" });
      assert.deepEqual(env, { httpProxy: "http://a:1", httpsProxy: "http://c:3", noProxy: "x" });
      assert.equal(proxyFor("ws://h/s", env)?.label, "http://a:1");
      assert.equal(proxyFor("wss://h/s", env)?.label, "http://c:3");
      assert.deepEqual(proxySettingsFromEnv({ ALL_PROXY: "p:8" }), { httpProxy: "p:8", httpsProxy: "p:8", noProxy: undefined });
      assert.equal(proxyFor("https://api.put.io", { httpProxy: "http://a:1" }), null, "an https target does not borrow http_proxy");
    });

    it("no_proxy: exact hosts, domains with or without a leading dot or star, host:port, IPv6, *", () => {
      const np = "localhost, .lan,*.corp.example ,nas:8080,[::1]:9000,10.0.0.7";
      assert.ok(bypassesProxy("localhost", 80, np));
      assert.ok(bypassesProxy("media.lan", 443, np) && bypassesProxy("lan", 443, np));
      assert.ok(bypassesProxy("a.corp.example", 443, np) && !bypassesProxy("corp.example.com", 443, np));
      assert.ok(bypassesProxy("nas", 8080, np) && !bypassesProxy("nas", 80, np));
      assert.ok(bypassesProxy("[::1]", 9000, np) && !bypassesProxy("::1", 80, np));
      assert.ok(bypassesProxy("10.0.0.7", 1, np) && !bypassesProxy("10.0.0.70", 1, np));
      assert.ok(bypassesProxy("api.put.io", 443, "*"));
      assert.ok(!bypassesProxy("api.put.io", 443, ""));
      assert.ok(bypassesProxy("api.put.io", 443, ["put.io"]), "a domain covers its subdomains (core's http proxy list)");
    });

    it("credentials: from the proxy URL, or the http proxy node's own; never in the label", () => {
      const inUrl = proxyFor("https://api.put.io", { httpsProxy: "http://u%40x:p%3Aw@proxy:3128" })!;
      assert.equal(inUrl.authorization, `Basic ${Buffer.from("u@x:p:w").toString("base64")}`);
      assert.equal(inUrl.label, "http://proxy:3128");
      const node = proxyFor("https://api.put.io", { httpsProxy: "http://proxy:3128", username: "me", password: "pw" })!;
      assert.equal(node.authorization, `Basic ${Buffer.from("me:pw").toString("base64")}`);
      assert.throws(() => proxyFor("https://api.put.io", { httpsProxy: "socks5://proxy:1080" }), /scheme socks5: is not supported/);
    });
  });

  describe("through tinyproxy", () => {
    let proxy: Tinyproxy;
    let restoreEnv: () => void = () => {};
    // Each test starts Node-RED itself, once the proxy and the environment are set.
    const rig = useNodeRed({ work: "putio-proxy-", start: false });
    afterEach(async () => {
      restoreEnv();
      restoreEnv = () => {};
      await proxy?.stop();
    });

    const account = (extra: object = {}): FlowNode => rig.account(extra);

    /** The flagship flow: add a magnet, watch it finish, download it, delete it on put.io; plus an upload. */
    async function flagshipAndUpload(): Promise<{ download: any; upload: any; data: Buffer }> {
      const flow = [
        account(),
        { id: "add", type: "putio-transfer-add", account: "acc", folder: "", folderType: "str", wires: [[]] },
        { id: "watch", type: "putio-transfer-watch", account: "acc", mode: "socket", statuses: "COMPLETED", emitMissed: true, wires: [["dl"]] },
        {
          id: "dl",
          type: "putio-download",
          account: "acc",
          target: rig.work,
          targetType: "str",
          deleteAfter: true,
          skipTrash: true,
          removeTransfer: true,
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
        uploadNodeConfig("up", { wires: [["uploaded"]] }),
        { id: "uploaded", type: "helper" },
        catchAll("c", "caught"),
        { id: "caught", type: "helper" },
      ];
      await rig.load([addNode, watchNode, downloadNode, uploadNode], flow);
      const errors: unknown[] = [];
      nr.node("caught").on("input", (m: any) => errors.push(m.error));
      await statusMatching("watch", (s) => /connected/.test(s.text ?? ""));
      await until(() => rig.emu.socketCount() > 0);
      await until(() => rig.emu.requests.some((r) => r.path === "/v2/transfers/list" && r.status === 200));
      await new Promise((r) => setTimeout(r, 100)); // the watch finishes priming after the list is answered

      const done = new Promise<any>((resolve) => nr.node("out").on("input", (m: any) => m.topic === "putio/download/done" && resolve(m)));
      nr.node("add").receive({ payload: "magnet:?xt=urn:btih:" + "cd".repeat(20) + "&dn=Proxied.Movie.2026" });
      await until(() => rig.emu.requests.some((r) => r.path === "/v2/transfers/add" && r.status === 200));
      for (let i = 0; i < 10; i++) await rig.emu.advance(1000);
      const download = await done;

      const data = Buffer.alloc(3 * MiB + 5, 7);
      for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
      const file = path.join(rig.work, "upload.bin");
      fs.writeFileSync(file, data);
      const uploaded = new Promise<any>((resolve) => nr.node("uploaded").on("input", resolve));
      nr.node("up").receive({ payload: file });
      const upload = await uploaded;
      assert.deepEqual(errors, []);
      return { download, upload, data };
    }

    /** Every connection the emulator saw came from the proxy, and the proxy made each of them. */
    function assertNothingBypassed(): void {
      const direct = rig.emu.peers.requests.filter((r) => r.from !== PROXY_PEER);
      assert.deepEqual(direct, [], "requests that went around the proxy");
      assert.ok(
        rig.emu.peers.connections.every((a) => a === PROXY_PEER),
        `connections not from the proxy: ${rig.emu.peers.connections.filter((a) => a !== PROXY_PEER)}`,
      );
      assert.equal(proxy.established(), rig.emu.peers.connections.length, "each connection the emulator accepted, the proxy logged");
    }

    it("the flagship flow (watch → download → delete) and an upload pass through it; its log shows API, socket, storage and upload; nothing goes around it", async () => {
      proxy = await startTinyproxy();
      restoreEnv = setEnv({ http_proxy: proxy.url });
      await nr.start();
      const { download, upload, data } = await flagshipAndUpload();

      assert.equal(download.payload.failed, 0);
      assert.ok(download.payload.downloaded >= 1);
      assert.ok(download.payload.deletedFileIds.length >= 1, "deleted on put.io after verification");
      for (const f of download.payload.files) assert.equal(crcHex(fs.readFileSync(f.path)), f.crc32);
      assert.deepEqual(rig.emu.state.fileBytes(upload.payload.file.id), data);

      const origin = new URL(rig.emu.apiUrl).host;
      const logged = proxy.requests();
      // The API, the upload and the socket are tunnelled (CONNECT); storage reads are asked in absolute form.
      assert.ok(logged.includes(`CONNECT ${origin}`), `CONNECT in the log: ${logged.slice(0, 5)}`);
      assert.ok(
        logged.some((r) => r.startsWith(`GET http://${origin}/download/`)),
        `storage GETs in the log: ${logged.filter((r) => r.startsWith("GET"))}`,
      );
      const through = (pred: (url: string, method: string) => boolean) =>
        rig.emu.peers.requests.filter((r) => pred(r.url, r.method) && r.from === PROXY_PEER).length;
      assert.ok(through((u) => u.startsWith("/v2/")) > 0, "API calls through the proxy");
      assert.ok(through((u, m) => u.startsWith("/files/") && m === "PATCH") > 0, "upload chunks through the proxy");
      assert.ok(through((u) => u.startsWith("/socket/")) > 0, "the realtime socket through the proxy");
      assert.ok(through((u) => u.startsWith("/download/")) > 0, "storage reads through the proxy");
      assertNothingBypassed();
    });

    it("the account's http proxy node (core's config node, credentials in Node-RED's credentials) carries everything; a proxy asking for credentials gives a clear error", async () => {
      proxy = await startTinyproxy({ user: "nas", password: "s3cret" });
      restoreEnv = setEnv({}); // no environment proxy: only the node's
      await nr.start();
      const f = rig.emu.state.addFile(0, "movie.mkv", { size: 2 * MiB + 3, seed: 5 });
      const flow = (creds: boolean) => ({
        flow: withTab([
          account({ proxy: "px" }),
          { id: "px", type: "http proxy", url: proxy.url, noproxy: [] },
          { id: "info", type: "putio-account-info", account: "acc", wires: [["out"], []] },
          { id: "dl", type: "putio-download", account: "acc", target: rig.work, targetType: "str", stallMs: 2000, wires: [["out"]] },
          { id: "out", type: "helper" },
          catchAll("c", "caught"),
          { id: "caught", type: "helper" },
        ]),
        creds: { acc: { accessToken: rig.emu.token }, ...(creds ? { px: { username: "nas", password: "s3cret" } } : {}) },
      });

      let { flow: nodes, creds } = flow(true);
      await nr.load([httpProxyNode, accountNode, infoNode, downloadNode], nodes, creds);
      const job = new Promise<any>((resolve) => nr.node("out").on("input", (m: any) => m.topic === "putio/download/done" && resolve(m)));
      nr.node("dl").receive({ payload: f.id });
      const done = await job;
      assert.equal(done.payload.failed, 0);
      assert.equal(crcHex(fs.readFileSync(path.join(rig.work, "movie.mkv"))), f.crc32);
      assertNothingBypassed();
      assert.ok(!nr.logText().includes("s3cret"), "the proxy's password is in no log line");

      // The same proxy node without its credentials: tinyproxy answers 407.
      await nr.stop();
      await nr.start();
      ({ flow: nodes, creds } = flow(false));
      await nr.load([httpProxyNode, accountNode, infoNode, downloadNode], nodes, creds);
      const caught = new Promise<any>((resolve) => nr.node("caught").on("input", resolve));
      nr.node("info").receive({ payload: "go" });
      const msg = await caught;
      assert.match(msg.error.message, /the proxy http:\/\/127\.0\.0\.1:\d+ asks for credentials \(HTTP 407\)/);
      assert.equal((nr.node("acc") as any).state, "unreachable");
    });

    it("407 from the proxy: API calls fail at once with the clear error (no retries), storage reads and the socket say it too", async () => {
      proxy = await startTinyproxy({ user: "nas", password: "s3cret" });
      const settings: ProxySettings = { httpProxy: proxy.url, httpsProxy: proxy.url };
      const client = new PutioClient({ token: rig.emu.token, apiUrl: rig.emu.apiUrl, proxy: settings, retry: { baseDelayMs: 1 } });
      try {
        await assert.rejects(client.account.info(), (err: unknown) => {
          assert.ok(err instanceof PutioProxyError);
          assert.equal(err.code, "proxy.failed");
          assert.equal(err.status, 407);
          assert.match(err.message, /^put\.io: read the account info failed: the proxy http:\/\/127\.0\.0\.1:\d+ asks for credentials \(HTTP 407\)/);
          return true;
        });
        assert.equal(client.transport.stats.retries, 0, "a refusal by the proxy is not repeated");
        assert.equal(proxy.requests().length, 1);
      } finally {
        await client.close();
      }
      // Storage (absolute form): the proxy's 407 is not taken for storage's answer.
      const f = rig.emu.state.addFile(0, "a.bin", { size: 1000, seed: 1 });
      const withToken = new PutioClient({ token: rig.emu.token, apiUrl: rig.emu.apiUrl, proxy: { noProxy: "*" } });
      const href = await withToken.files.downloadUrl(f.id);
      await withToken.close();
      const signal = new AbortController().signal;
      await assert.rejects(storageGet(href, { headers: {}, signal, connectTimeoutMs: 10_000, headersTimeoutMs: 10_000, proxy: settings }), (err: any) => {
        assert.equal(err.code, "EPROXYAUTH");
        assert.match(err.message, /asks for credentials \(HTTP 407\)/);
        return true;
      });
      // Wrong credentials (tinyproxy answers 401 to them, squid 407): the proxy's answer, said as such, not repeated.
      const wrong = new PutioClient({ token: rig.emu.token, apiUrl: rig.emu.apiUrl, proxy: { ...settings, username: "nas", password: "wrong" } });
      await assert.rejects(wrong.account.info(), /the proxy http:\/\/127\.0\.0\.1:\d+ answered HTTP 401 instead of connecting to 127\.0\.0\.1:\d+/);
      assert.equal(wrong.transport.stats.retries, 0);
      await wrong.close();
      // The socket: one warning with the proxy's words, not one per redial.
      const socket = new PutioSocket({ url: rig.emu.socketUrl, token: () => rig.emu.token, proxy: settings, baseDelayMs: 10, maxDelayMs: 20 });
      const warnings: Error[] = [];
      socket.on("warning", (e) => warnings.push(e));
      socket.start();
      try {
        await until(() => proxy.requests().filter((r) => r.startsWith("CONNECT")).length >= 4);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!.message, /asks for credentials \(HTTP 407\)/);
        assert.equal(proxy.established(), 0, "the proxy connected nowhere");
        assert.ok(
          rig.emu.peers.connections.every((a) => a === "127.0.0.1"),
          "only the test's own direct call reached the emulator",
        );
      } finally {
        socket.stop();
      }
    });

    it("no_proxy: hosts it names are reached directly, the proxy sees nothing", async () => {
      proxy = await startTinyproxy();
      restoreEnv = setEnv({ http_proxy: proxy.url, NO_PROXY: "localhost,127.0.0.1" });
      await nr.start();
      const { download } = await flagshipAndUpload();
      assert.equal(download.payload.failed, 0);
      assert.deepEqual(proxy.requests(), []);
      assert.ok(rig.emu.peers.requests.length > 0 && rig.emu.peers.requests.every((r) => r.from === "127.0.0.1"));
    });

    it("https targets: API calls, storage reads and the wss socket go through a CONNECT tunnel with TLS to the target", async () => {
      proxy = await startTinyproxy();
      // A TLS front of the emulator (self-signed): put.io's hosts are https.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-proxy-tls-"));
      const { execFileSync } = await import("node:child_process");
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${dir}/k.pem`, "-out", `${dir}/c.pem`, "-days", "1", "-subj", "/CN=127.0.0.1"],
        {
          stdio: "ignore",
        },
      );
      const peers: string[] = [];
      const front = https.createServer({ key: fs.readFileSync(`${dir}/k.pem`), cert: fs.readFileSync(`${dir}/c.pem`) }, (req, res) => {
        peers.push(String(req.socket.remoteAddress));
        const up = http.request(rig.emu.apiUrl + req.url, { method: req.method, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode!, r.headers);
          r.pipe(res);
        });
        req.pipe(up);
      });
      // The socket's upgrade, passed on to the emulator as it came.
      front.on("upgrade", (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
        peers.push(String(req.socket.remoteAddress));
        const { port } = new URL(rig.emu.apiUrl);
        const up = net.connect(Number(port), "127.0.0.1", () => {
          const lines = [`${req.method} ${req.url} HTTP/1.1`];
          for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
          up.write(lines.join("\r\n") + "\r\n\r\n");
          up.write(head);
          sock.pipe(up).pipe(sock);
        });
        up.on("error", () => sock.destroy());
        sock.on("error", () => up.destroy());
      });
      await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
      const frontUrl = `https://127.0.0.1:${(front.address() as net.AddressInfo).port}`;
      const reject = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the front's certificate is self-signed
      const settings: ProxySettings = { httpsProxy: proxy.url };
      const client = new PutioClient({ token: rig.emu.token, apiUrl: frontUrl, proxy: settings });
      try {
        const info = await client.account.info();
        assert.equal(info.username, "emulator");
        const f = rig.emu.state.addFile(0, "b.bin", { size: 300_000, seed: 9 });
        const href = new URL(await client.files.downloadUrl(f.id));
        const res = await storageGet(`${frontUrl}${href.pathname}${href.search}`, {
          headers: { range: "bytes=0-" },
          signal: new AbortController().signal,
          connectTimeoutMs: 10_000,
          headersTimeoutMs: 10_000,
          proxy: settings,
        });
        const chunks: Buffer[] = [];
        await res.readBody({ write: (c) => chunks.push(Buffer.from(c)) });
        assert.equal(crcHex(Buffer.concat(chunks)), f.crc32);
        const socket = new PutioSocket({
          url: `wss://127.0.0.1:${new URL(frontUrl).port}${new URL(rig.emu.socketUrl).pathname}`,
          token: () => rig.emu.token,
          proxy: settings,
        });
        socket.start();
        await until(() => rig.emu.socketCount() > 0);
        socket.stop();
        const port = new URL(frontUrl).port;
        assert.ok(proxy.requests().filter((r) => r === `CONNECT 127.0.0.1:${port}`).length >= 3, `${proxy.requests()}`);
        assert.ok(peers.length >= 4 && peers.every((p) => p === PROXY_PEER), `${peers}`);
      } finally {
        if (reject === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
        else process.env.NODE_TLS_REJECT_UNAUTHORIZED = reject;
        await client.close();
        await new Promise((r) => front.close(r));
        front.closeAllConnections();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
