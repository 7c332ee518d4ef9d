/**
 * putio-transmission's clean-up once the app imported (its "Remove Completed" off), in a real
 * Node-RED against the emulator and a strict stand-in of Sonarr's v3 API: an imported torrent is
 * cleaned on put.io with its local copy untouched; one the app did not import stays; an app that is
 * down is asked again and the clean-up follows its return; a refused key is said in the status,
 * cleans nothing and is not asked again and again; a torrent put.io still seeds toward the app's
 * goal is not touched before the goal.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { AppApi, AppApiError } from "../lib/transmission/app-api";
import { APP_POLL } from "../lib/transmission/app-imports";
import { nr, statusMatching, withTab, type FlowNode } from "./nr";
import { startArrApp, type ArrAppStandIn } from "./support/arr-app";
import { WATCH_SECRET, transmissionFixture } from "./support/transmission-fixture";
import { ArrRpcClient, SONARR_FIELDS, TS, until, untilReady, withHttpNode } from "./support/transmission-rpc";
import { USER, PASS, HASH_A, HASH_B } from "./support/transmission-flow";

const accountNode = require("../nodes/putio-account");
const watchNode = require("../nodes/putio-transfer-watch");
const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));

const KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const HOUR = 3_600_000;

describe("putio-transmission: clean-up once the app imported, through the app's API @nr", function () {
  this.timeout(120_000);
  const f = transmissionFixture("putio-tra-");
  let app: ArrAppStandIn;
  let events: any[];
  const saved = { ...APP_POLL };

  beforeEach(async () => {
    // Rounds every 100 ms here instead of minutes; the order of what happens is the same.
    Object.assign(APP_POLL, { intervalMs: 100, maxBackoffMs: 400 });
    app = await startArrApp("sonarr", KEY);
  });
  afterEach(async () => {
    Object.assign(APP_POLL, saved);
    await app.stop();
  });

  async function load(opts: { key?: string; seeding?: boolean; cleanup?: string } = {}): Promise<void> {
    events = [];
    const flow: FlowNode[] = [
      { id: "acc", type: "putio-account", apiUrl: f.emu.apiUrl, uploadUrl: f.emu.uploadUrl, socketUrl: f.emu.socketUrl },
      {
        id: "trn",
        type: "putio-transmission",
        account: "acc",
        downloadDir: f.work,
        appCleanup: true,
        appUrl: app.url,
        ...(opts.cleanup ? { cleanup: opts.cleanup } : {}),
        wires: [["out"]],
      },
      { id: "out", type: "helper" },
    ];
    // put.io's callback wakes the account's watcher (the seeding figures move on put.io's clock).
    if (opts.seeding) flow.push({ id: "watch", type: "putio-transfer-watch", account: "acc", callback: true, callbackPath: "putio-cb", wires: [[]] });
    await nr.load([accountNode, watchNode, transmissionNode], withTab(flow), {
      acc: { accessToken: f.emu.token },
      trn: { username: USER, password: PASS, appApiKey: opts.key ?? KEY },
      watch: { callbackSecret: WATCH_SECRET },
    });
    nr.node("out").on("input", (m: any) => events.push(m));
  }

  const client = () => new ArrRpcClient(`${f.server.url}/transmission/rpc`, USER, PASS);
  const magnet = (hex: string, name: string) => `magnet:?xt=urn:btih:${hex}&dn=${encodeURIComponent(name)}`;
  const torrent = async (c: ArrRpcClient, hash: string) =>
    (await c.call("torrent-get", { fields: [...SONARR_FIELDS, "uploadRatio"], ids: [hash] })).torrents[0] as Record<string, any> | undefined;
  /** History questions about one download, as the app saw them. */
  const askedAbout = (hash: string) => app.asked("history").filter((r) => r.query.get("downloadId") === hash.toUpperCase());
  const removed = (hash: string) => events.find((e) => e.topic === "transmission/removed" && e.payload.hash === hash);

  /** The app grabs a release; put.io downloads it; the node copies and verifies it. */
  async function finished(c: ArrRpcClient, hash: string, name: string, goals: Record<string, number> = {}) {
    const data = Buffer.from(`${name}: the episode's bytes`);
    f.emu.knobs.transferContents[name] = [{ name: `${name}.mkv`, data }];
    app.grabbed(hash, name);
    await c.call("torrent-add", { filename: magnet(hash, name), "download-dir": `${f.work}/tv` });
    if (Object.keys(goals).length) await c.call("torrent-set", { ids: [hash], ...goals });
    await f.emu.advance(8000);
    const t = await until(
      `${name} on disk`,
      () => torrent(c, hash),
      (x) => x?.leftUntilDone === 0 || !!x?.errorString,
    );
    assert.equal(t!.errorString, "");
    const transfer = f.emu.state.transfers().find((x) => x.name === name)!;
    const fileId = f.emu.state.getTransfer(transfer.id)!.file_id as number;
    const local = path.join(f.work, "tv", name, `${name}.mkv`);
    assert.deepEqual(fs.readFileSync(local), data);
    return { transfer, fileId, local, data };
  }

  it("imported by the app: put.io's file goes to the trash and the transfer is removed; the local copy is untouched", async () => {
    await load();
    const c = client();
    await untilReady(c);
    const { transfer, fileId, local, data } = await finished(c, HASH_A, "Show.S01E01");
    const stat = fs.statSync(local);
    app.imported(HASH_A, "Show.S01E01");
    const e = await until(
      "the removal once the app imported",
      () => removed(HASH_A),
      (x) => !!x,
    );
    assert.equal(e.payload.reason, "imported-by-app");
    assert.equal(e.payload.putio, "trashed");
    assert.equal(e.payload.deleteLocalData, false);
    assert.equal(f.emu.state.getFile(fileId), undefined, "put.io's file is in the trash");
    assert.equal(f.emu.state.getTransfer(transfer.id), undefined, "the transfer is removed");
    assert.deepEqual(fs.readFileSync(local), data, "the local copy is untouched");
    assert.equal(fs.statSync(local).ino, stat.ino);
    assert.equal(fs.statSync(local).mtimeMs, stat.mtimeMs);
    assert.equal(await torrent(c, HASH_A), undefined, "gone from the app's list");
    // The question as the app reads it: its own id (the hash upper case), the import event's number, the key in the header.
    const q = askedAbout(HASH_A).at(-1)!.query;
    assert.equal(q.get("eventType"), "3");
    assert.equal(q.get("apikey"), null, "the key is never in the URL");
    assert.ok(app.asked("queue").length >= 1, "the queue was read before the clean-up");
    assert.ok(!nr.logText().includes(KEY), "the API key is in no log line");
    assert.ok(!JSON.stringify(events).includes(KEY), "nor in any msg");
  });

  it("not imported: asked again and again, nothing is cleaned (an unfiltered history of other downloads proves nothing)", async () => {
    app.noise(120);
    app.ignoresFilters = true;
    await load();
    const c = client();
    await untilReady(c);
    const { transfer, fileId, local, data } = await finished(c, HASH_A, "Show.S01E02");
    await until(
      "three rounds asking about it",
      () => askedAbout(HASH_A).length,
      (n) => n >= 3,
    );
    assert.equal(removed(HASH_A), undefined);
    assert.ok(f.emu.state.getFile(fileId), "put.io's file stays");
    assert.ok(f.emu.state.getTransfer(transfer.id), "and its transfer");
    assert.deepEqual(fs.readFileSync(local), data);
    assert.equal((await torrent(c, HASH_A))!.isFinished, true, "still in the app's list, finished");
  });

  it("imported but still being imported (in the app's queue, importing): waits until the app is done with it", async () => {
    await load();
    const c = client();
    await untilReady(c);
    const { fileId } = await finished(c, HASH_A, "Show.S01.Pack");
    app.imported(HASH_A, "Show.S01E01");
    // Behind a full first page of other downloads: the queue is read to its end.
    for (let i = 0; i < 120; i++) app.inQueue(`${i.toString(16).padStart(4, "0")}${"e".repeat(36)}`, `Other.${i}`, "downloading");
    app.inQueue(HASH_A, "Show.S01.Pack", "importing", true);
    const queueReads = app.asked("queue").length;
    await until(
      "three queue reads",
      () => app.asked("queue").length - queueReads,
      (n) => n >= 3,
    );
    assert.equal(removed(HASH_A), undefined, "not while the app imports the pack");
    assert.ok(f.emu.state.getFile(fileId));
    app.queue.at(-1)!.trackedDownloadState = "imported";
    await until(
      "the removal once the app is done",
      () => removed(HASH_A),
      (x) => !!x,
    );
    assert.equal(f.emu.state.getFile(fileId), undefined);
  });

  it("the app down: asked again later, cleaned after it returns; the status says it does not answer", async () => {
    await app.stop();
    await load();
    const c = client();
    await untilReady(c);
    const { fileId, local, data } = await finished(c, HASH_A, "Film.2026");
    app.imported(HASH_A, "Film.2026");
    await statusMatching("trn", (s) => /app not answering/.test(s?.text ?? ""));
    assert.ok(f.emu.state.getFile(fileId), "nothing cleaned while the app cannot say");
    await app.start();
    await until(
      "the removal after the app's return",
      () => removed(HASH_A),
      (x) => !!x,
    );
    assert.equal(f.emu.state.getFile(fileId), undefined);
    assert.deepEqual(fs.readFileSync(local), data);
  });

  it("imported while put.io is down: the clean-up is kept and retried like any removal, done once put.io is back", async () => {
    await load();
    const c = client();
    await untilReady(c);
    const { transfer, fileId, local, data } = await finished(c, HASH_A, "Show.S04E01");
    f.emu.knobs.fail5xx = { probability: 1, status: 503 };
    app.imported(HASH_A, "Show.S04E01");
    // The removal's state is also pushed to put.io's config store, which waits out the transport's retries.
    const e = await until(
      "the removal",
      () => removed(HASH_A),
      (x) => !!x,
      4000,
    );
    assert.equal(e.payload.putio, "pending");
    assert.ok(f.emu.state.getFile(fileId), "put.io still holds it while down");
    f.emu.knobs.fail5xx = null;
    await until(
      "the clean-up once put.io is back",
      () => events.find((x) => x.topic === "transmission/cleaned" && x.payload.hash === HASH_A),
      (x) => !!x,
      4000,
    );
    assert.equal(f.emu.state.getFile(fileId), undefined);
    assert.equal(f.emu.state.getTransfer(transfer.id), undefined);
    assert.deepEqual(fs.readFileSync(local), data);
  });

  it("a wrong API key: the status says the app refused it, nothing is cleaned, no storm of retries, the key in no text", async () => {
    const WRONG = "ffffffffffffffffffffffffffffffff";
    await load({ key: WRONG });
    const c = client();
    await untilReady(c);
    const { fileId, local, data } = await finished(c, HASH_A, "Film.2026");
    app.imported(HASH_A, "Film.2026");
    const s = await statusMatching("trn", (x) => /refused the API key/.test(x?.text ?? ""));
    assert.equal(s.fill, "red");
    const refused = () => app.requests.filter((r) => r.status === 401).length;
    const seen = refused();
    // Many rounds' worth of time (100 ms each here): the refused key is asked again only after an hour.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(refused() <= seen + 1, `asked ${refused() - seen} more times after the refusal`);
    assert.ok(f.emu.state.getFile(fileId), "nothing cleaned");
    assert.deepEqual(fs.readFileSync(local), data);
    assert.match(nr.logText(), /refused the API key \(HTTP 401\)/);
    assert.ok(!nr.logText().includes(WRONG), "the key is in no log line");
    assert.ok(!JSON.stringify((nr.node("trn") as any).status.args).includes(WRONG), "nor in a status");
  });

  it("a wrong API key is said at deploy, before any torrent: one request", async () => {
    await load({ key: "0000" });
    const s = await statusMatching("trn", (x) => /refused the API key/.test(x?.text ?? ""));
    assert.equal(s.fill, "red");
    assert.deepEqual(
      app.requests.map((r) => [r.path, r.status]),
      [["/api/v3/queue", 401]],
    );
  });

  it("the clean-up policy 'keep': the app is never asked, nothing is removed", async () => {
    await load({ cleanup: "keep" });
    const c = client();
    await untilReady(c);
    // A second finished torrent: by then rounds would long have asked about the first.
    await finished(c, HASH_A, "Show.S02E01");
    app.imported(HASH_A, "Show.S02E01");
    await finished(c, HASH_B, "Show.S02E02");
    assert.equal(app.requests.length, 0);
    assert.equal(removed(HASH_A), undefined);
  });

  it("the option on without an address, without a key, or with an address that is not one: a red node that says what to set, and the app is never asked", async () => {
    const cases: Array<[Record<string, unknown>, Record<string, string>, RegExp]> = [
      [{ appUrl: "" }, { appApiKey: KEY }, /no app address is set/],
      [{ appUrl: app.url }, {}, /no API key is set/],
      [{ appUrl: `${app.url}/?apikey=${KEY}` }, { appApiKey: KEY }, /is not the address of an app/],
    ];
    for (const [def, creds, message] of cases) {
      const flow = withTab([
        { id: "acc", type: "putio-account", apiUrl: f.emu.apiUrl, uploadUrl: f.emu.uploadUrl, socketUrl: f.emu.socketUrl },
        { id: "trn", type: "putio-transmission", account: "acc", downloadDir: f.work, appCleanup: true, ...def, wires: [[]] },
      ]);
      await nr.load([accountNode, transmissionNode], flow, { acc: { accessToken: f.emu.token }, trn: { username: USER, password: PASS, ...creds } });
      const s = await statusMatching("trn", (x) => x?.fill === "red");
      assert.ok(!JSON.stringify(s).includes(KEY));
      assert.match(nr.logText(), message);
      await nr.helper.unload();
    }
    assert.ok(!nr.logText().includes(KEY), "a key pasted into the address is not repeated");
    assert.equal(app.requests.length, 0);
  });

  describe("put.io seeding toward the app's goal", () => {
    beforeEach(() => {
      f.emu.knobs.seedTorrents = true;
      f.emu.knobs.seedRatioPerHour = 1;
    });

    it("not removed before the goal: a torrent whose goal is reached is cleaned meanwhile, the other only at its own goal", async () => {
      await load({ seeding: true });
      const c = client();
      await untilReady(c);
      const a = await finished(c, HASH_A, "Show.S03E01", { seedRatioLimit: 1.5, seedRatioMode: 1 });
      const b = await finished(c, HASH_B, "Show.S03E02", { seedRatioLimit: 0.5, seedRatioMode: 1 });
      assert.equal((await torrent(c, HASH_A))!.status, TS.Seeding);
      app.imported(HASH_A, "Show.S03E01");
      app.imported(HASH_B, "Show.S03E02");

      await f.later(HOUR);
      // B's goal (0.5) is reached: its seeding is stopped, then the app is asked and B cleaned.
      await until(
        "B cleaned once past its goal",
        () => removed(HASH_B),
        (x) => !!x,
      );
      assert.equal(f.emu.state.getFile(b.fileId), undefined);
      const t = await torrent(c, HASH_A);
      assert.equal(t!.status, TS.Seeding, "A still seeds toward 1.5");
      assert.equal(removed(HASH_A), undefined);
      assert.equal(f.emu.state.getTransfer(a.transfer.id)!.status, "SEEDING");
      assert.equal(askedAbout(HASH_A).length, 0, "the app is not even asked about a torrent put.io still seeds");

      await f.later(HOUR / 2);
      await until(
        "A cleaned at its goal",
        () => removed(HASH_A),
        (x) => !!x,
      );
      assert.ok(
        events.some((e) => e.topic === "transmission/seeding-stopped" && e.payload.hash === HASH_A),
        "its seeding was stopped at the goal first",
      );
      assert.equal(f.emu.state.getFile(a.fileId), undefined);
      assert.deepEqual(fs.readFileSync(a.local), a.data);
      assert.deepEqual(fs.readFileSync(b.local), b.data);
    });
  });
  describe("the app's API client", () => {
    /** A server that answers every request with `handler`. */
    async function raw(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
      const server = http.createServer(handler);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => {
          server.closeAllConnections();
          return new Promise<void>((r) => server.close(() => r()));
        },
      };
    }
    const failure = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => assert.fail("no error"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AppApiError, String(err));
      assert.ok(!err.message.includes(KEY), "the key is in no error");
      return err;
    };

    it("an app behind a URL base (Radarr at /radarr/, trailing slash typed): asked there, its answer read", async () => {
      const radarr = await (await import("./support/arr-app")).startArrApp("radarr", KEY, "/radarr");
      try {
        radarr.imported(HASH_A, "Film.2026");
        const api = new AppApi({ url: `${radarr.url}/`, apiKey: KEY });
        assert.equal(await api.imported(HASH_A), true);
        assert.equal(await api.imported(HASH_B), false);
        radarr.inQueue(HASH_B, "Other.Film", "importPending", true);
        assert.deepEqual([...(await api.busy())], [HASH_B.toUpperCase()], "an unknown movie's item counts too");
        assert.deepEqual(
          radarr.requests.map((r) => r.path),
          ["/radarr/api/v3/history", "/radarr/api/v3/history", "/radarr/api/v3/queue"],
        );
        api.close();
      } finally {
        await radarr.stop();
      }
    });

    it("through the package's proxy decision: a CONNECT tunnel when a proxy is set, directly when no_proxy names the app", async () => {
      const tunnels: string[] = [];
      const proxy = http.createServer((_req, res) => res.writeHead(405).end());
      proxy.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        tunnels.push(req.url ?? "");
        const [host, port] = (req.url ?? "").split(":");
        const upstream = net.connect(Number(port), host, () => {
          socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          upstream.write(head);
          upstream.pipe(socket).pipe(upstream);
        });
        upstream.on("error", () => socket.destroy());
        socket.on("error", () => upstream.destroy());
      });
      await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      try {
        app.imported(HASH_A, "Film.2026");
        const via = new AppApi({ url: app.url, apiKey: KEY, proxy: { httpProxy: proxyUrl } });
        assert.equal(await via.imported(HASH_A), true);
        via.close();
        assert.deepEqual(tunnels, [new URL(app.url).host]);
        const direct = new AppApi({ url: app.url, apiKey: KEY, proxy: { httpProxy: proxyUrl, noProxy: "127.0.0.1" } });
        assert.equal(await direct.imported(HASH_A), true);
        direct.close();
        assert.equal(tunnels.length, 1, "no_proxy: the app is reached directly");
      } finally {
        proxy.closeAllConnections();
        await new Promise<void>((r) => proxy.close(() => r()));
      }
    });

    it("an address that is not usable is refused at once, without repeating a key pasted into it", async () => {
      for (const url of ["localhost:8989", "ftp://host/", `http://host:8989/?apikey=${KEY}`, `http://user:${KEY}@host:8989`, "not a url"]) {
        const err = await failure(Promise.resolve().then(() => new AppApi({ url, apiKey: KEY })));
        assert.equal(err.code, "app.bad-url", url);
      }
    });

    it("refused key, a sick app, a wrong address, a page that is not JSON, no answer at all: each a clear error of its kind", async () => {
      const api = new AppApi({ url: app.url, apiKey: "wrong" });
      const refused = await failure(api.imported(HASH_A));
      assert.equal(refused.failure, "refused");
      assert.equal(refused.code, "app.key-refused");
      api.close();

      app.failStatus = 503;
      const good = new AppApi({ url: app.url, apiKey: KEY });
      assert.equal((await failure(good.imported(HASH_A))).failure, "down");
      app.failStatus = null;
      good.close();

      const wrongBase = new AppApi({ url: `${app.url}/sonarr`, apiKey: KEY });
      assert.equal((await failure(wrongBase.imported(HASH_A))).failure, "answer", "404: not the app's address");
      wrongBase.close();

      const html = await raw((_req, res) => res.writeHead(200, { "Content-Type": "text/html" }).end("<html>login</html>"));
      const notApp = new AppApi({ url: html.url, apiKey: KEY });
      const e = await failure(notApp.imported(HASH_A));
      assert.equal(e.failure, "answer");
      assert.equal(e.code, "app.bad-answer");
      notApp.close();
      await html.close();

      const silent = await raw(() => {});
      const slow = new AppApi({ url: silent.url, apiKey: KEY, timeoutMs: 300 });
      const t = await failure(slow.imported(HASH_A));
      assert.equal(t.failure, "down");
      assert.equal(t.code, "app.timeout");
      slow.close();
      await silent.close();

      await app.stop();
      const down = new AppApi({ url: app.url, apiKey: KEY });
      const d = await failure(down.imported(HASH_A));
      assert.equal(d.failure, "down");
      assert.equal(d.code, "app.unreachable");
      down.close();
    });
  });
});
