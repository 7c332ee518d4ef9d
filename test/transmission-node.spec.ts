/**
 * putio-transmission in a real Node-RED against the emulator: the handshake and auth as the daemon
 * does them, bad input, and the whole lifecycle (magnet → put.io → verified on disk → the app's
 * removal → put.io cleaned), a restart mid-copy, failed and archive-only transfers.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildRarSet } from "./emulator/archives";
import { nr, type FlowNode } from "./nr";
import { ArrRpcClient, SONARR_FIELDS, arrCanBeRemoved, arrItemStatus, until, untilReady, withHttpNode } from "./support/transmission-rpc";
import { transmissionFixture } from "./support/transmission-fixture";
import { USER, PASS, HASH_A } from "./support/transmission-flow";

const transmissionNode = withHttpNode(require("../nodes/putio-transmission"));

describe("putio-transmission node @nr", function () {
  this.timeout(60_000);
  const rig = transmissionFixture("putio-trn-");
  let events: any[];

  const rpcUrl = (p = "/transmission/rpc") => rig.server.url + p;

  async function load(extra: Partial<FlowNode> = {}, more: FlowNode[] = [], creds: object = { username: USER, password: PASS }): Promise<void> {
    events = [];
    const flow = [
      rig.account(),
      { id: "trn", type: "putio-transmission", account: "acc", downloadDir: rig.work, wires: [["out"]], ...extra },
      { id: "out", type: "helper" },
      ...more,
    ];
    await rig.load([transmissionNode], flow, { ...rig.creds(), trn: creds });
    nr.node("out").on("input", (m: any) => events.push(m));
  }

  const client = () => new ArrRpcClient(rpcUrl(), USER, PASS);
  const magnet = (hex: string, name: string, extra = "") => `magnet:?xt=urn:btih:${hex}&dn=${encodeURIComponent(name)}${extra}`;

  const ready = untilReady;

  async function torrent(c: ArrRpcClient, hash: string): Promise<any> {
    const args = await c.call("torrent-get", { fields: SONARR_FIELDS, ids: [hash.toUpperCase()] });
    return args.torrents[0];
  }

  describe("handshake, auth and bad input", () => {
    it("GET without auth is 401; with auth, GET and POST without a session id are 409 with the id; a stale id gets 409 and a new one", async () => {
      await load();
      const basic = "Basic " + Buffer.from(`${USER}:${PASS}`).toString("base64");
      let res = await fetch(rpcUrl());
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /Basic/);
      res = await fetch(rpcUrl(), { headers: { Authorization: "Basic " + Buffer.from(`${USER}:wrong`).toString("base64") } });
      assert.equal(res.status, 401, "a wrong password");
      res = await fetch(rpcUrl(), { headers: { Authorization: basic } });
      assert.equal(res.status, 409);
      const id = res.headers.get("x-transmission-session-id");
      assert.ok(id && id.length >= 16);
      res = await fetch(rpcUrl(), {
        method: "POST",
        headers: { Authorization: basic, "X-Transmission-Session-Id": "stale" },
        body: '{"method":"session-get"}',
      });
      assert.equal(res.status, 409);
      assert.equal(res.headers.get("x-transmission-session-id"), id, "the stale request is told the current id");
      res = await fetch(rpcUrl(), {
        method: "POST",
        headers: { Authorization: basic, "X-Transmission-Session-Id": id! },
        body: '{"method":"session-get","tag":7}',
      });
      assert.equal(res.status, 200);
      const json: any = await res.json();
      assert.equal(json.result, "success");
      assert.equal(json.tag, 7, "tag echoed");
      assert.equal(json.arguments["download-dir"], rig.work);
      assert.match(json.arguments.version, /^4\.0/);
      assert.equal(json.arguments["rpc-version"], 17);
    });

    it("malformed JSON, an unknown method, no method, bad arguments: RPC errors, and the endpoint keeps answering", async () => {
      await load();
      const c = client();
      await c.authenticate();
      const post = async (body: string) => {
        const res = await fetch(rpcUrl(), {
          method: "POST",
          headers: { Authorization: "Basic " + Buffer.from(`${USER}:${PASS}`).toString("base64"), "X-Transmission-Session-Id": c.sessionId! },
          body,
        });
        assert.equal(res.status, 200);
        return (await res.json()) as any;
      };
      assert.match((await post("{not json")).result, /invalid JSON/);
      assert.equal((await post('{"method":"torrent-explode","tag":3}')).result, "method name not recognized");
      assert.equal((await post('{"method":"torrent-explode","tag":3}')).tag, 3);
      assert.equal((await post("[]")).result, "no method name");
      assert.equal((await post('{"method":"torrent-get","arguments":[]}')).result, "arguments must be an object");
      assert.equal((await post('{"method":"torrent-get","arguments":{}}')).result, "no fields specified");
      assert.match((await post('{"method":"torrent-add","arguments":{}}')).result, /no filename or metainfo/);
      assert.match((await post('{"method":"torrent-add","arguments":{"metainfo":"bm90IGEgdG9ycmVudA=="}}')).result, /invalid or corrupt torrent/);
      assert.match((await post('{"method":"torrent-add","arguments":{"filename":"/etc/passwd"}}')).result, /magnet link or an http/);
      assert.equal((await c.call("session-stats")).torrentCount, 0);
    });

    it("no auth configured: requests without Authorization pass the auth step; missing credentials with auth on are a config error", async () => {
      await load({ requireAuth: false }, [], {});
      const res = await fetch(rpcUrl());
      assert.equal(res.status, 409, "straight to the session step");
      await nr.helper.unload();
      await load({ requireAuth: true }, [], {});
      const r2 = await fetch(rpcUrl());
      assert.equal(r2.status, 404, "a node without credentials serves nothing");
    });

    it("unknown ids name nothing; a hostile download-dir is refused and nothing is written outside the folder", async () => {
      await load();
      const c = client();
      await ready(c);
      assert.deepEqual((await c.call("torrent-get", { fields: ["id"], ids: [42, "ffffffffffffffffffffffffffffffffffffffff", "x"] })).torrents, []);
      await c.call("torrent-remove", { ids: [42], "delete-local-data": true });
      for (const dir of ["/etc", `${rig.work}/../escape`, `${rig.work}/tv/../../escape`, "relative/dir", `${rig.work}/a\u0000b`, `${rig.work}/bad:name`]) {
        await assert.rejects(
          c.call("torrent-add", { filename: magnet(HASH_A, "x"), "download-dir": dir }),
          /outside the download folder|not a usable path|characters a folder name/,
          dir,
        );
      }
      assert.deepEqual(
        fs.readdirSync(path.dirname(rig.work)).filter((n) => n === "escape"),
        [],
      );
      assert.equal(rig.emu.state.transfers().length, 0, "nothing reached put.io");
    });
    it("a category folder that is a link leading outside: nothing is copied through it, and a removal deletes nothing through it", async () => {
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), "putio-trn-outside-"));
      try {
        fs.symlinkSync(outside, path.join(rig.work, "tv"));
        await load();
        const c = client();
        await ready(c);
        await c.call("torrent-add", { filename: magnet(HASH_A, "Linked"), "download-dir": `${rig.work}/tv` });
        await rig.emu.advance(8000);
        const t = await until(
          "failed",
          () => torrent(c, HASH_A),
          (x) => !!x.errorString,
        );
        assert.match(t.errorString, /leads outside the (download|target) folder/);
        assert.deepEqual(fs.readdirSync(outside), []);

        // A finished torrent whose category folder is swapped for a link afterwards.
        fs.unlinkSync(path.join(rig.work, "tv"));
        const other = "fedcba9876543210fedcba9876543210fedcba98";
        await c.call("torrent-add", { filename: magnet(other, "Swapped"), "download-dir": `${rig.work}/movies` });
        await rig.emu.advance(8000);
        const done = await until(
          "on disk",
          () => torrent(c, other),
          (x) => x.isFinished,
        );
        fs.writeFileSync(path.join(outside, done.name), "precious");
        fs.renameSync(path.join(rig.work, "movies"), path.join(rig.work, "movies-moved"));
        fs.symlinkSync(outside, path.join(rig.work, "movies"));
        await c.call("torrent-remove", { ids: [other], "delete-local-data": true });
        assert.equal(fs.readFileSync(path.join(outside, done.name), "utf8"), "precious", "nothing deleted through the link");
        assert.match(String(events.at(-1).payload.error), /leads outside/);
      } finally {
        fs.rmSync(outside, { recursive: true, force: true });
      }
    });
  });

  describe("lifecycle", () => {
    it("magnet → put.io 0–50 % → copied and verified 50–100 % → finished only on disk → the app's removal cleans put.io and the local data", async () => {
      await load();
      const c = client();
      await ready(c);
      const session = await c.call("session-get");
      const dir = `${session["download-dir"]}/tv`;
      const added = await c.call("torrent-add", { filename: magnet(HASH_A, "Show.S01E01.1080p"), "download-dir": dir, paused: false, labels: ["tv"] });
      assert.equal(added["torrent-added"].hashString, HASH_A);
      const again = await c.call("torrent-add", { filename: magnet(HASH_A.toUpperCase(), "Show.S01E01.1080p"), "download-dir": dir, labels: ["tv"] });
      assert.equal(again["torrent-duplicate"].id, added["torrent-added"].id, "the same hash, in another case, is a duplicate");

      let t = await torrent(c, HASH_A);
      assert.equal(t.downloadDir, dir);
      assert.deepEqual(t.labels, ["tv"]);
      assert.equal(t.isFinished, false);
      assert.notEqual(arrItemStatus(t), "Completed");
      const transfer = rig.emu.state.transfers()[0]!;
      assert.equal(rig.emu.state.getFile(transfer.save_parent_id as number)?.name, "tv", "saved in the category's put.io folder");

      await rig.emu.advance(3000); // put.io half way
      t = await until(
        "put.io progress",
        () => torrent(c, HASH_A),
        (x) => x.leftUntilDone < x.totalSize,
      );
      const get = await c.call("torrent-get", { fields: ["percentDone"], ids: [HASH_A] });
      assert.ok(get.torrents[0].percentDone > 0 && get.torrents[0].percentDone <= 0.5, `put.io's share is 0–50 %: ${get.torrents[0].percentDone}`);

      await rig.emu.advance(4000); // put.io done: the node copies it
      t = await until(
        "on disk",
        () => torrent(c, HASH_A),
        (x) => x.isFinished,
      );
      assert.equal(t.leftUntilDone, 0);
      assert.equal(t.status, 0, "stopped: seeding is put.io's");
      assert.equal(arrItemStatus(t), "Completed");
      assert.equal(arrCanBeRemoved(t, await c.call("session-get")), true, "the app may remove it once it imported it");
      // The path the app computes for import: downloadDir + name.
      const onDisk = path.join(rig.work, "tv", t.name.replace(/:/g, "_"));
      const file = rig.emu.state.getFile(rig.emu.state.getTransfer(transfer.id)!.file_id as number)!;
      assert.equal(fs.statSync(onDisk).size, file.size);
      assert.ok(fs.readFileSync(onDisk).equals(rig.emu.state.fileBytes(file.id)));
      assert.deepEqual(
        events.map((e) => e.topic),
        ["transmission/added", "transmission/putio-done", "transmission/on-disk"],
      );
      assert.equal(events[2].category, "tv");
      assert.equal(events[2].payload.path, onDisk);

      // The app removes it after import, with its lower-case hash.
      await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
      assert.deepEqual((await c.call("torrent-get", { fields: ["id"] })).torrents, []);
      await until(
        "removed msg",
        () => events.length,
        (n) => n === 4,
      );
      assert.equal(events[3].topic, "transmission/removed");
      assert.equal(events[3].payload.putio, "trashed");
      assert.equal(rig.emu.state.getFile(file.id), undefined, "put.io's file is gone (trash)");
      assert.equal(rig.emu.state.getTransfer(transfer.id), undefined, "the transfer is removed");
      assert.equal(fs.existsSync(onDisk), false, "local data deleted as asked");
      const recent = await c.call("torrent-get", { fields: ["id"], ids: "recently-active" });
      assert.deepEqual(recent.removed, [added["torrent-added"].id]);
    });

    it("a release whose name starts with dots finishes (containment is by path segments) and is removed with its data", async () => {
      await load();
      const c = client();
      await ready(c);
      const name = "...And Justice for All (1979) [1080p]";
      await c.call("torrent-add", { filename: magnet(HASH_A, name), "download-dir": `${rig.work}/movies` });
      await rig.emu.advance(8000);
      const t = await until(
        "on disk",
        () => torrent(c, HASH_A),
        (x) => x.isFinished || !!x.errorString,
      );
      assert.equal(t.errorString, "");
      assert.equal(t.name, name);
      const onDisk = path.join(rig.work, "movies", name);
      assert.ok(fs.existsSync(onDisk));
      await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
      await until(
        "removed",
        () => events.at(-1)?.topic,
        (topic) => topic === "transmission/removed",
      );
      assert.equal(fs.existsSync(onDisk), false);
      assert.ok(fs.existsSync(path.join(rig.work, "movies")), "the category folder stays");
    });

    it("removal without delete-local-data keeps the files; cleanup 'keep' keeps put.io's copy and the transfer", async () => {
      await load({ cleanup: "keep" });
      const c = client();
      await ready(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "Film.2026"), "download-dir": `${rig.work}/movies` });
      await rig.emu.advance(8000);
      const t = await until(
        "on disk",
        () => torrent(c, HASH_A),
        (x) => x.isFinished,
      );
      const transfer = rig.emu.state.transfers()[0]!;
      await c.call("torrent-remove", { ids: [t.id], "delete-local-data": false });
      assert.ok(fs.existsSync(path.join(rig.work, "movies", t.name)));
      assert.ok(rig.emu.state.getTransfer(transfer.id));
      assert.ok(rig.emu.state.getFile(rig.emu.state.getTransfer(transfer.id)!.file_id as number));
    });

    it("removing an unfinished torrent deletes nothing on put.io and nothing locally; it only cancels the transfer", async () => {
      await load();
      const c = client();
      await ready(c);
      const existing = rig.emu.state.addFile(0, "keep-me.mkv", Buffer.from("x"));
      await c.call("torrent-add", { filename: magnet(HASH_A, "Unfinished") });
      await rig.emu.advance(2000);
      await c.call("torrent-remove", { ids: [HASH_A], "delete-local-data": true });
      assert.ok(rig.emu.requests.some((r) => r.path === "/v2/transfers/cancel"));
      assert.ok(!rig.emu.requests.some((r) => r.path === "/v2/files/delete"), "no file deleted on put.io");
      assert.ok(rig.emu.state.getFile(existing.id));
      assert.equal(events.at(-1).payload.putio, "cancelled");
    });

    it("a failed put.io transfer is reported as failed (errorString, stopped, error 3), never finished", async () => {
      await load();
      const c = client();
      await ready(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "will-fail"), "download-dir": `${rig.work}/tv` });
      await rig.emu.advance(8000);
      const t = await until(
        "failed",
        () => c.call("torrent-get", { fields: [...SONARR_FIELDS, "error"], ids: [HASH_A] }),
        (x) => !!x.torrents[0].errorString,
      );
      const x = t.torrents[0];
      assert.equal(x.isFinished, false);
      assert.equal(x.status, 0);
      assert.equal(x.error, 3);
      assert.ok(x.leftUntilDone > 0);
      assert.equal(arrItemStatus(x), "Warning");
      assert.equal(events.at(-1).topic, "transmission/failed");
      assert.ok(!fs.existsSync(path.join(rig.work, "tv", x.name)));
    });

    it("an archive-only transfer is failed, not finished with nothing importable on disk", async () => {
      await load();
      const c = client();
      await ready(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "Packed.Release.rar") });
      await rig.emu.advance(8000);
      const t = await until(
        "failed",
        () => torrent(c, HASH_A),
        (x) => !!x.errorString,
      );
      assert.match(t.errorString, /only archives/);
      assert.equal(t.isFinished, false);
      // (The node's own state folder is not a copy.)
      assert.deepEqual(
        fs.readdirSync(rig.work).filter((n) => n !== ".putio-transmission"),
        [],
        "nothing copied",
      );
    });

    it("with extract and subtitles on, a RAR release is extracted on put.io, only what came out is copied and reported, subtitles checked", async () => {
      const vols = buildRarSet("Packed.S01E01", [{ name: "Packed.S01E01.mkv", text: "the episode" }], { volumes: 2, digits: 2 });
      const srt = { name: "Packed.S01E01.eng.srt", data: Buffer.from("1\n00:00:01,000 --> 00:00:02,000\nHi\n") };
      rig.emu.knobs.transferContents["Packed.S01E01"] = [...vols, srt];
      await load({ extract: true, subtitles: true, subtitleLanguages: "eng" });
      const c = client();
      await ready(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "Packed.S01E01"), "download-dir": path.join(rig.work, "tv") });
      // put.io's clock moves on while the node waits for the transfer and then for the extraction.
      const t = await until(
        "finished",
        async () => {
          await rig.emu.advance(1000);
          return torrent(c, HASH_A);
        },
        (x) => x.isFinished === true || !!x.errorString,
        800,
      );
      assert.equal(t.errorString, "", "no failure");
      assert.equal(t.name, "Packed.S01E01");
      const local = fs.readdirSync(path.join(rig.work, "tv", "Packed.S01E01"));
      assert.deepEqual(local.sort(), ["Packed.S01E01.eng.srt", "Packed.S01E01.mkv"], "the video and its subtitle, no .rar parts");
      assert.equal(fs.readFileSync(path.join(rig.work, "tv", "Packed.S01E01", "Packed.S01E01.mkv"), "utf8"), "the episode");
      const files = await c.call("torrent-get", { fields: ["files"], ids: [HASH_A] });
      assert.deepEqual(files.torrents[0].files.map((f: any) => f.name).sort(), ["Packed.S01E01/Packed.S01E01.eng.srt", "Packed.S01E01/Packed.S01E01.mkv"]);
      // The subtitle step ran before the torrent was reported on disk: put.io's subtitle is the file copied.
      const onDisk = events.find((e) => e.topic === "transmission/on-disk");
      assert.deepEqual(onDisk.payload.subtitles, { written: 0, identical: 1, missing: 0, failed: [] });
      assert.equal(rig.emu.requests.filter((r) => r.method === "POST" && r.path === "/v2/files/extract").length, 1);
    });

    it("a restart of Node-RED mid-copy: the state comes back from put.io and the copy resumes to a verified file", async () => {
      // A slow storage so the copy is still running when Node-RED stops.
      rig.emu.knobs.bandwidthPerConnection = 64 * 1024;
      await load();
      let c = client();
      await ready(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "Big.Movie.2026"), "download-dir": `${rig.work}/movies` });
      await rig.emu.advance(8000);
      await until(
        "copying",
        () => events.map((e) => e.topic),
        (topics) => topics.includes("transmission/putio-done"),
      );
      const during = await torrent(c, HASH_A);
      assert.equal(during.isFinished, false);
      await nr.stop();
      rig.emu.knobs.bandwidthPerConnection = null;
      await nr.start();
      await load();
      c = client();
      await ready(c);
      const t = await until(
        "finished after the restart",
        () => torrent(c, HASH_A),
        (x) => x?.isFinished === true,
      );
      const transfer = rig.emu.state.transfers()[0]!;
      const onDisk = path.join(rig.work, "movies", t.name);
      assert.ok(fs.readFileSync(onDisk).equals(rig.emu.state.fileBytes(transfer.file_id as number)));
      assert.equal(t.id, during.id, "the same torrent id across the restart");
    });

    it("a multi-file torrent whose put.io folder is named differently: name is the folder on disk, nested files land under it", async () => {
      await load();
      const c = client();
      await ready(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "Show.S01.1080p"), "download-dir": `${rig.work}/tv` });
      const rec = (rig.emu.state as any).transferMap.get(rig.emu.state.transfers()[0]!.id);
      // An indexer prefix in put.io's folder name, and a nested sample folder.
      rec.name = "www.Site.org - Show.S01.1080p";
      rec.files = [
        { name: "Show.S01E01.mkv", size: 3000 },
        { name: "Show.S01E01.srt", size: 100 },
      ];
      await rig.emu.advance(8000);
      const t = await until(
        "on disk",
        () => torrent(c, HASH_A),
        (x) => x.isFinished,
      );
      assert.equal(t.name, "www.Site.org - Show.S01.1080p");
      assert.equal(t["file-count"], 2);
      const folder = path.join(t.downloadDir, t.name);
      assert.deepEqual(fs.readdirSync(folder).sort(), ["Show.S01E01.mkv", "Show.S01E01.srt"]);
      const files = (await c.call("torrent-get", { fields: ["files"], ids: [t.id] })).torrents[0].files;
      assert.deepEqual(files.map((f: any) => f.name).sort(), [
        "www.Site.org - Show.S01.1080p/Show.S01E01.mkv",
        "www.Site.org - Show.S01.1080p/Show.S01E01.srt",
      ]);
      assert.equal(t.totalSize, 3100);
    });

    it("'offer transfers added elsewhere': a transfer put into a category folder on put.io is offered in that category and copied", async () => {
      const root = rig.emu.state.addFolder(0, "Transmission");
      const tv = rig.emu.state.addFolder(root.id, "tv");
      await load({ adopt: true });
      const c = client();
      await ready(c);
      rig.emu.state.addTransfer({ url: magnet(HASH_A, "Added.On.Putio"), saveParentId: tv.id });
      const t = await until(
        "offered",
        () => torrent(c, HASH_A),
        (x) => !!x,
      );
      assert.equal(t.downloadDir, `${rig.work}/tv`);
      await rig.emu.advance(8000);
      const done = await until(
        "on disk",
        () => torrent(c, HASH_A),
        (x) => x.isFinished,
      );
      assert.ok(fs.existsSync(path.join(rig.work, "tv", done.name)));
      rig.emu.state.addTransfer({ url: magnet("f".repeat(40), "Elsewhere") });
      await rig.emu.advance(1000);
      assert.equal((await c.call("torrent-get", { fields: ["id"] })).torrents.length, 1, "a transfer outside the category folders is not offered");
    });

    it("a cleared put.io transfer list does not lose a finished torrent: it is still answered and removable", async () => {
      await load();
      let c = client();
      await ready(c);
      await c.call("torrent-add", { filename: magnet(HASH_A, "Cleared") });
      await rig.emu.advance(8000);
      await until(
        "on disk",
        () => torrent(c, HASH_A),
        (x) => x.isFinished,
      );
      const transfer = rig.emu.state.transfers()[0]!;
      rig.emu.state.removeTransfer({ ...(rig.emu.state as any).transferMap.get(transfer.id) });
      (rig.emu.state as any).transferMap.delete(transfer.id);
      await nr.stop();
      await nr.start();
      await load();
      c = client();
      await ready(c);
      const t = await torrent(c, HASH_A);
      assert.equal(t.isFinished, true);
      await c.call("torrent-remove", { ids: [t.id], "delete-local-data": false });
      assert.equal(rig.emu.state.getFile(transfer.file_id as number), undefined, "the file is still cleaned up");
    });
  });
});
