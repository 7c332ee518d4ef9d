/**
 * lib/transmission without Node-RED or put.io: the .torrent and magnet readers, the RPC dispatcher,
 * the HTTP handshake, the category placement and the stored state, including hostile input
 * (property-based where the input has structure).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import fc from "fast-check";
import { RpcHttp, basicCredentials } from "../lib/transmission/http";
import { TorrentManager } from "../lib/transmission/manager";
import { handleRpc, parseIds, type RpcBackend } from "../lib/transmission/rpc";
import { SourceError, encodeBencode, parseMagnet, parseMetainfo } from "../lib/transmission/sources";
import { MemoryStore, readState } from "../lib/transmission/store";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 200);

describe("transmission protocol (lib/transmission)", () => {
  describe("sources", () => {
    it("a magnet's btih in hex (any case) or base32 becomes one lower-case hex hash; dn is decoded", () => {
      const hex = "0123456789ABCDEF0123456789ABCDEF01234567";
      assert.equal(parseMagnet(`magnet:?xt=urn:btih:${hex}&dn=A%20B+C`).hash, hex.toLowerCase());
      assert.equal(parseMagnet(`magnet:?dn=x&xt=urn:btih:${hex}`).name, "x");
      // base32 of 20 bytes 0x00..0x13
      const bytes = Buffer.from(Array.from({ length: 20 }, (_, i) => i));
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
      let bits = "";
      for (const b of bytes) bits += b.toString(2).padStart(8, "0");
      let b32 = "";
      for (let i = 0; i < bits.length; i += 5) b32 += alphabet[parseInt(bits.slice(i, i + 5), 2)];
      assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32}`).hash, bytes.toString("hex"));
      assert.throws(() => parseMagnet("magnet:?dn=nohash"), SourceError);
      assert.throws(() => parseMagnet("magnet:?xt=urn:btih:xyz"), SourceError);
    });

    it("a .torrent's hash is SHA-1 of its info dictionary's exact bytes; name, size and file count are read", () => {
      const info = {
        name: "Pack",
        "piece length": 16384,
        pieces: Buffer.alloc(40),
        files: [
          { length: 5, path: ["a.mkv"] },
          { length: 7, path: ["b", "c.srt"] },
        ],
      };
      const data = encodeBencode({ announce: "http://t.invalid/a", info, comment: "x" });
      const src = parseMetainfo(data);
      assert.equal(src.hash, createHash("sha1").update(encodeBencode(info)).digest("hex"));
      assert.deepEqual([src.name, src.size, src.fileCount], ["Pack", 12, 2]);
    });

    it("any bytes: a SourceError or a result, never another exception (and no deep recursion)", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          try {
            parseMetainfo(Buffer.from(bytes));
          } catch (err) {
            assert.ok(err instanceof SourceError, String(err));
          }
        }),
        { numRuns: RUNS },
      );
      assert.throws(() => parseMetainfo(Buffer.from("l".repeat(100_000))), /nested too deeply/);
      assert.throws(() => parseMetainfo(Buffer.from("d4:infod4:name1:xee" + "junk")), /data after its end/);
    });

    it("any structured value bencoded with an info dict: the hash matches, whatever the other keys", () => {
      const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
        v: fc.oneof(
          { depthSize: "small" },
          fc.integer(),
          fc.string(),
          fc.array(tie("v"), { maxLength: 3 }),
          fc.dictionary(fc.string(), tie("v"), { maxKeys: 3 }),
        ),
      })).v;
      fc.assert(
        fc.property(fc.dictionary(fc.string(), value, { maxKeys: 4 }), fc.string({ minLength: 1 }), (extra, name) => {
          const info = { name, length: 1, pieces: "x" };
          const data = encodeBencode({ ...extra, info });
          assert.equal(parseMetainfo(data).hash, createHash("sha1").update(encodeBencode(info)).digest("hex"));
        }),
        { numRuns: RUNS },
      );
    });
  });

  describe("RPC", () => {
    it("ids: numbers, hashes in any case, digit strings, recently-active; anything else names nothing", () => {
      assert.equal(parseIds(undefined), null);
      assert.equal(parseIds("recently-active"), "recent");
      const sel = parseIds([1, "2", "ABCDEF0123456789ABCDEF0123456789ABCDEF01", {}, -1, 1.5, null, "zz"]);
      assert.ok(sel && sel !== "recent");
      assert.deepEqual([...sel.ids], [1, 2]);
      assert.deepEqual([...sel.hashes], ["abcdef0123456789abcdef0123456789abcdef01"]);
      fc.assert(
        fc.property(fc.anything(), (v) => {
          const s = parseIds(v);
          if (s && s !== "recent") for (const id of s.ids) assert.ok(Number.isSafeInteger(id) && id > 0);
        }),
        { numRuns: RUNS },
      );
    });

    it("any request body: an answer with a result text, the tag echoed when it is a number, never a throw", async () => {
      const backend = new Proxy({} as RpcBackend, {
        get: (_t, k) => (k === "touched" ? undefined : () => Promise.reject(new Error("backend called"))),
      });
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.anything(), fc.record({ method: fc.string(), arguments: fc.anything(), tag: fc.anything() })), async (body) => {
          const res = await handleRpc(body, backend);
          assert.equal(typeof res.result, "string");
          assert.ok(res.result.length > 0);
          const tag = (body as { tag?: unknown } | null)?.tag;
          if (typeof tag === "number" && Number.isFinite(tag)) assert.equal(res.tag, tag);
          else assert.equal("tag" in res, false);
        }),
        { numRuns: RUNS },
      );
    });

    it("Basic credentials: user and password split at the first colon; anything else is none", () => {
      assert.deepEqual(basicCredentials("Basic " + Buffer.from("a:b:c").toString("base64")), { username: "a", password: "b:c" });
      assert.deepEqual(basicCredentials("Basic " + Buffer.from(":").toString("base64")), { username: "", password: "" });
      assert.equal(basicCredentials("Bearer x"), null);
      assert.equal(basicCredentials(undefined), null);
    });

    it("HTTP: 401 before 409, 413 for a body over the limit, the session id header on answers", async () => {
      const backend = { session: () => ({ version: "x" }), touched: () => {} } as unknown as RpcBackend;
      const rpc = new RpcHttp({ backend, credentials: { username: "u", password: "p" }, maxBodyBytes: 1000 });
      const server = http.createServer((req, res) => rpc.handle(req, res));
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      try {
        const auth = { Authorization: "Basic " + Buffer.from("u:p").toString("base64") };
        assert.equal((await fetch(url, { method: "POST", body: "{}", headers: { "X-Transmission-Session-Id": rpc.sessionId } })).status, 401);
        assert.equal((await fetch(url, { method: "POST", body: "{}", headers: auth })).status, 409);
        const big = await fetch(url, { method: "POST", body: "x".repeat(5000), headers: { ...auth, "X-Transmission-Session-Id": rpc.sessionId } });
        assert.equal(big.status, 413);
        const ok = await fetch(url, { method: "POST", body: '{"method":"session-get"}', headers: { ...auth, "X-Transmission-Session-Id": rpc.sessionId } });
        assert.equal(ok.headers.get("x-transmission-session-id"), rpc.sessionId);
        assert.deepEqual(await ok.json(), { result: "success", arguments: { version: "x" } });
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });

  describe("placement and stored state", () => {
    const root = path.resolve("/srv/dl");
    const manager = (store = new MemoryStore()) =>
      new TorrentManager({
        client: {} as never,
        scheduler: { run: () => Promise.reject(new Error("no")) },
        watcher: { subscribe: () => () => {}, reconcile: () => Promise.resolve() },
        store,
        localRoot: root,
        putioRoot: "/Transmission",
        cleanup: "trash",
      });

    it("any download-dir is refused or lands inside the local folder, with the category folder on put.io below the put.io folder", () => {
      const m = manager();
      const segment = fc.oneof(fc.constantFrom("..", ".", "", "tv", "a:b", "..."), fc.string({ maxLength: 8 }));
      fc.assert(
        fc.property(fc.array(segment, { maxLength: 6 }), fc.boolean(), (parts, absolute) => {
          const dir = (absolute ? root + "/" : "") + parts.join("/");
          let place;
          try {
            place = m.placeOf(dir);
          } catch {
            return;
          }
          const rel = path.relative(root, place.localDir);
          assert.ok(!rel.startsWith("..") && !path.isAbsolute(rel), `${dir} → ${place.localDir}`);
          assert.ok(place.putioPath === "/Transmission" || place.putioPath.startsWith("/Transmission/"));
          assert.equal(place.downloadDir, place.category ? `${root}/${place.category}` : root);
        }),
        { numRuns: RUNS },
      );
    });

    it("a stored state is read record by record; local paths are derived again from the node's settings, never taken from the store", async () => {
      fc.assert(
        fc.property(fc.anything(), (v) => void readState(v)),
        { numRuns: RUNS },
      );
      const store = new MemoryStore();
      const good = {
        id: 3,
        hash: "a".repeat(40),
        name: "x",
        category: "tv",
        downloadDir: "/elsewhere",
        localDir: "/etc",
        transferId: 1,
        fileId: 2,
        phase: "done",
        topPath: "/etc/passwd",
        files: [],
        labels: ["tv"],
      };
      store.value = { version: 1, nextId: 9, torrents: [good, { id: "bad" }, { ...good, id: 4, category: "../escape" }], session: {}, folders: {} };
      const m = manager(store);
      await m.open();
      assert.deepEqual(
        m.all().map((r) => r.id),
        [3],
        "the bad record and the escaping category are dropped",
      );
      const r = m.get(3)!;
      assert.equal(r.localDir, path.join(root, "tv"));
      assert.equal(r.downloadDir, `${root}/tv`);
      assert.equal(r.topPath, null, "a stored top path outside its folder is not trusted");
    });
  });
});
