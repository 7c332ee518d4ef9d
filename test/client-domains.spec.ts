/** Every client domain of the foundation against the emulator. */
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { startEmulator, type Emulator } from "./emulator";
import { collect, PutioClient, PutioError, PutioInputError, parsePutioDate } from "../lib";

const MAGNET = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=Some.Show.S01E01";

describe("client domains", function () {
  let emu: Emulator;
  let c: PutioClient;
  beforeEach(async () => {
    emu = await startEmulator();
    c = new PutioClient({ apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, token: emu.token, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  });
  afterEach(async () => {
    await c.close();
    await emu.close();
  });

  describe("files", () => {
    it("lists a folder of 2,500 files by following the cursor to the end", async () => {
      const folder = emu.state.addFolder(0, "Big");
      for (let i = 0; i < 2500; i++) emu.state.addFile(folder.id, `f${String(i).padStart(4, "0")}.txt`, Buffer.from(String(i)));
      const files = await collect(c.files.list(folder.id, { perPage: 1000 }));
      assert.equal(files.length, 2500);
      assert.equal(new Set(files.map((f) => f.id)).size, 2500);
      // 1 list + 2 continues
      assert.equal(emu.requests.filter((r) => r.path.startsWith("/v2/files/list")).length, 3);
    });

    it("reads put.io's file fields (crc32, dates without zone, root parent null)", async () => {
      const f = emu.state.addFile(0, "clip.mkv", Buffer.from("video bytes"));
      const got = await c.files.get(f.id);
      assert.equal(got.crc32, crc32(Buffer.from("video bytes")).toString(16).padStart(8, "0"));
      assert.equal(got.file_type, "VIDEO");
      assert.match(got.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      assert.ok(parsePutioDate(got.created_at) instanceof Date);
      const page = await c.files.listPage(0);
      assert.equal(page.parent?.id, 0);
      assert.equal(page.parent?.parent_id, null);
    });

    it("searches by name across the account, following the cursor", async () => {
      const a = emu.state.addFolder(0, "A");
      for (let i = 0; i < 30; i++) emu.state.addFile(a.id, `Holiday ${i}.jpg`, Buffer.from("x" + i));
      emu.state.addFile(0, "other.txt", Buffer.from("y"));
      const found = await collect(c.files.search("holiday", { perPage: 10 }));
      assert.equal(found.length, 30);
      assert.ok(found.every((f) => /Holiday/.test(f.name)));
    });

    it("creates, renames, moves (also with a new name) and deletes", async () => {
      const dir = await c.files.createFolder(0, "Inbox");
      assert.equal(dir.file_type, "FOLDER");
      const dup = await c.files.createFolder(0, "Inbox").catch((e: unknown) => e);
      assert.ok(dup instanceof PutioError && dup.errorType === "NAME_ALREADY_EXIST");
      const f = emu.state.addFile(0, "a.txt", Buffer.from("a"));
      await c.files.rename(f.id, "b.txt");
      assert.equal((await c.files.get(f.id)).name, "b.txt");
      assert.deepEqual(await c.files.move([f.id], dir.id), []);
      assert.equal((await c.files.get(f.id)).parent_id, dir.id);
      await c.files.moveAndRename(f.id, 0, "c.txt");
      const moved = await c.files.get(f.id);
      assert.equal(moved.parent_id, 0);
      assert.equal(moved.name, "c.txt");
      await c.files.delete([f.id], { skipTrash: true });
      const gone = await c.files.get(f.id).catch((e: unknown) => e);
      assert.ok(gone instanceof PutioError && gone.statusCode === 404);
    });

    it("move reports per-item errors for unknown ids", async () => {
      const dir = await c.files.createFolder(0, "D");
      const errors = await c.files.move([2147483600], dir.id);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].id, 2147483600);
    });

    it("rejects hostile names before any request", async () => {
      const before = emu.requests.length;
      for (const bad of ["", "a/b", "x\0y", "n".repeat(300)]) {
        await assert.rejects(c.files.createFolder(0, bad), PutioInputError);
      }
      assert.equal(emu.requests.length, before);
    });

    it("gives a download URL whose bytes match the crc32", async () => {
      const data = Buffer.from("0123456789".repeat(100));
      const f = emu.state.addFile(0, "d.bin", data);
      const url = await c.files.downloadUrl(f.id);
      const res = await fetch(url);
      const body = Buffer.from(await res.arrayBuffer());
      assert.deepEqual(body, data);
    });
  });

  describe("paths", () => {
    it("resolves and creates /Movies/2026 (mkdir -p), then serves it from the cache", async () => {
      assert.equal(await c.paths.resolve("/Movies/2026"), null);
      const id = await c.folderId("/Movies/2026", { create: true });
      assert.ok(typeof id === "number" && id > 0);
      const movies = emu.state.listChildren(0).find((f) => f.name === "Movies");
      assert.ok(movies);
      assert.equal(emu.state.listChildren(movies.id).find((f) => f.name === "2026")?.id, id);
      const before = emu.requests.length;
      assert.equal(await c.folderId("/Movies/2026"), id);
      assert.equal(emu.requests.length, before, "a cached path costs no request");
    });

    it("two concurrent mkdir -p of one path create it once", async () => {
      const [a, b] = await Promise.all([c.folderId("/X/Y", { create: true }), c.folderId("/X/Y", { create: true })]);
      assert.equal(a, b);
      assert.equal(emu.state.listChildren(0).filter((f) => f.name === "X").length, 1);
    });

    it("forgets cached paths after a rename", async () => {
      const id = (await c.folderId("/Old", { create: true })) as number;
      await c.files.rename(id, "New");
      assert.equal(await c.paths.resolve("/Old"), null);
      assert.equal(await c.paths.resolve("/New"), id);
    });

    it("keeps cached paths when a change touches none of their folders; forgets them when it does (a parent deleted)", async () => {
      const inner = (await c.folderId("/Keep/Inner", { create: true })) as number;
      const file = emu.state.addFile(inner, "done.mkv", Buffer.from("d"));
      await c.files.delete([file.id]);
      const before = emu.requests.length;
      assert.equal(await c.folderId("/Keep/Inner"), inner);
      assert.equal(emu.requests.length, before, "a file deleted leaves the cached path");
      assert.equal(c.paths.knownPath(inner), "/Keep/Inner");
      const keep = (await c.folderId("/Keep")) as number;
      await c.files.delete([keep]);
      assert.equal(c.paths.knownPath(inner), null, "its parent went: the path is forgotten");
      assert.equal(await c.paths.resolve("/Keep/Inner"), null);
    });

    it("refuses .. and a file in the middle of a path", async () => {
      await assert.rejects(c.paths.resolve("/a/../b"), PutioInputError);
      emu.state.addFile(0, "plain.txt", Buffer.from("p"));
      await assert.rejects(c.paths.resolve("/plain.txt/sub", { create: true }), /is a file/);
    });
  });

  describe("upload (multipart)", () => {
    it("uploads a buffer to a folder", async () => {
      const dir = await c.files.createFolder(0, "Up");
      const res = await c.upload.upload(Buffer.from("hello upload"), "hello.txt", { parentId: dir.id });
      assert.equal(res.kind, "file");
      if (res.kind !== "file") return;
      assert.equal(res.file.name, "hello.txt");
      assert.equal(res.file.parent_id, dir.id);
      assert.deepEqual(emu.state.fileBytes(res.file.id), Buffer.from("hello upload"));
    });

    it("a .torrent upload becomes a transfer", async () => {
      const torrent = Buffer.from("d8:announce13:http://t/ann4:infod4:name5:a.iso12:piece lengthi16384e6:pieces0:6:lengthi5eee");
      const res = await c.upload.upload(torrent, "a.torrent");
      assert.equal(res.kind, "transfer");
    });
  });

  describe("transfers", () => {
    it("adds, lists, reads, counts, and moves to COMPLETED on the emulator's clock", async () => {
      const dir = await c.files.createFolder(0, "Downloads");
      const t = await c.transfers.add(MAGNET, { saveParentId: dir.id });
      assert.equal(t.save_parent_id, dir.id);
      assert.ok(["IN_QUEUE", "WAITING", "DOWNLOADING"].includes(t.status));
      assert.equal(await c.transfers.count(), 1);
      assert.deepEqual(
        (await collect(c.transfers.list())).map((x) => x.id),
        [t.id],
      );
      await emu.advance(10 * 60_000);
      const done = await c.transfers.get(t.id);
      assert.ok(["COMPLETED", "SEEDING"].includes(done.status), done.status);
      assert.equal(typeof done.file_id, "number");
    });

    it("lists 2,500 transfers across pages", async () => {
      for (let i = 0; i < 2500; i++) emu.state.addTransfer({ url: `http://example.com/${i}.iso` });
      const all = await collect(c.transfers.list({ perPage: 1000 }));
      assert.equal(all.length, 2500);
    });

    it("retry, cancel, clean and remove", async () => {
      const bad = emu.state.addTransfer({ url: "http://example.com/x.iso", status: "ERROR" });
      const retried = await c.transfers.retry(bad.id);
      assert.equal(retried.id, bad.id);
      const running = await c.transfers.add("http://example.com/y.iso");
      await c.transfers.cancel([running.id]);
      await c.transfers.cancel([running.id]); // idempotent
      const finished = emu.state.addTransfer({ url: "http://example.com/z.iso", status: "COMPLETED" });
      const cleaned = await c.transfers.clean();
      assert.ok(cleaned.includes(finished.id));
      const other = await c.transfers.add("http://example.com/w.iso");
      await c.transfers.remove([other.id]);
      await assert.rejects(c.transfers.get(other.id), (e: unknown) => e instanceof PutioError && e.statusCode === 404);
    });

    it("an empty URL is refused before any request; an unknown folder by put.io", async () => {
      await assert.rejects(c.transfers.add(""), PutioInputError);
      await assert.rejects(c.transfers.add(MAGNET, { saveParentId: 2147483600 }), (e: unknown) => e instanceof PutioError && e.statusCode === 404);
    });
  });

  describe("account, config, oauth", () => {
    it("reads info and settings", async () => {
      const info = await c.account.info();
      assert.ok(info.user_id > 0);
      const settings = await c.account.settings();
      assert.equal(typeof settings, "object");
    });

    it("config get/set/delete", async () => {
      assert.equal(await c.config.get("k"), undefined);
      await c.config.set("k", { a: [1, 2] });
      assert.deepEqual(await c.config.get("k"), { a: [1, 2] });
      assert.deepEqual((await c.config.getAll()).k, { a: [1, 2] });
      await c.config.delete("k");
      assert.equal(await c.config.get("k"), undefined);
    });

    it("device-code login: code, pending, approved, token works", async () => {
      const anon = new PutioClient({ apiUrl: emu.apiUrl, webUrl: "http://web.example" });
      try {
        const code = await anon.oauth.getDeviceCode(1234);
        assert.match(code.linkUrl, /^http:\/\/web\.example\/link\?code=/);
        assert.equal(await anon.oauth.checkDeviceCode(code.code), null);
        emu.approveDeviceCode(code.code);
        const token = await anon.oauth.checkDeviceCode(code.code);
        assert.ok(token);
        const v = await anon.oauth.validate(token);
        assert.equal(v.result, true);
        anon.transport.setToken(token);
        assert.ok((await anon.account.info()).username);
        await assert.rejects(anon.oauth.checkDeviceCode("NOPE00"), (e: unknown) => e instanceof PutioError && e.statusCode === 404);
      } finally {
        await anon.close();
      }
    });

    it("validate answers result:false for a bad token (not an HTTP error)", async () => {
      const v = await c.oauth.validate("NOTATOKEN00000000000");
      assert.equal(v.result, false);
    });
  });
});
