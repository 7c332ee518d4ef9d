/**
 * Safety at the edges: odd msg values (circular, BigInt) give clear errors that name the action,
 * put.io's root (id 0) is never deleted, moved or renamed, an empty delete is refused, the api node
 * names a broken %-escape, and the upload node's "Only from" folder cannot be escaped.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { type Emulator } from "./emulator";
import { catchAll, nr, type FlowNode } from "./nr";
import { outcomeOf, useNodeRed } from "./support/node-red-fixture";
import { PutioClient, PutioInputError } from "../lib";

const nodes = ["file-action", "transfer-action", "transfer-add", "upload", "api", "zip", "rss", "events"].map((n) => require(`../nodes/putio-${n}`));

/** Requests that change something on put.io (every POST/PUT/DELETE/PATCH but the read-only ones). */
const changing = (emu: Emulator) => emu.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
/** Requests a msg caused (the account node reads the account info once at start, whenever it gets to it). */
const work = (emu: Emulator) => emu.requests.filter((r) => r.path !== "/v2/account/info");

function circular(): Record<string, unknown> {
  const o: Record<string, unknown> = { name: "loop" };
  o.self = o;
  o.folder = o;
  return o;
}

describe("guards at the edges @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed({ work: "putio-guards-" });

  const account = (): FlowNode => rig.account({ name: "guards account" });

  async function load(node: Record<string, unknown>): Promise<void> {
    await rig.load(
      [...nodes],
      [
        account(),
        { id: "n", account: "acc", wires: [["out"]], ...node } as unknown as FlowNode,
        catchAll("c", "caught"),
        { id: "out", type: "helper" },
        { id: "caught", type: "helper" },
      ],
    );
  }
  /** The one outcome of a msg: the output msg, or the caught msg as `{caught}`. */
  const outcome = (msg: object): Promise<any> => outcomeOf("n", msg);

  describe("a circular msg value is a clear error naming the action", () => {
    const cases: Array<{ node: Record<string, unknown>; msg: () => object; names: RegExp }> = [
      {
        node: { type: "putio-transfer-add", folder: "", folderType: "str" },
        msg: () => ({ payload: circular() }),
        names: /^add transfer: .*\[circular\].*expected a magnet/,
      },
      {
        node: { type: "putio-transfer-action", action: "remove", transferIds: "" },
        msg: () => ({ payload: circular() }),
        names: /^remove transfers: .*\[circular\].* is not a transfer id/,
      },
      {
        node: { type: "putio-transfer-action", action: "msg", transferIds: "" },
        msg: () => ({ action: circular(), payload: 1 }),
        names: /^transfer action: unknown action .*\[circular\]/,
      },
      {
        node: { type: "putio-file-action", action: "delete", ids: "" },
        msg: () => ({ payload: circular() }),
        names: /^delete files: .*\[circular\].* is not a file id/,
      },
      {
        node: { type: "putio-file-action", action: "move", ids: "", target: "target", targetType: "msg" },
        msg: () => ({ payload: 5, target: circular() }),
        names: /^move files: the destination folder must be an id or a path/,
      },
      {
        node: { type: "putio-file-action", action: "mkdir", ids: "", target: "", targetType: "str" },
        msg: () => ({ payload: circular() }),
        names: /^create folder: .*\[circular\].* is not a path/,
      },
      {
        node: { type: "putio-upload", source: "payload", sourceType: "msg", folder: "", folderType: "str" },
        msg: () => ({ payload: circular() }),
        names: /^upload: send a local file path or a Buffer/,
      },
      {
        node: { type: "putio-upload", source: "payload", sourceType: "msg", folder: "folder", folderType: "msg" },
        msg: () => ({ payload: Buffer.from("x"), filename: "x.txt", folder: circular() }),
        names: /^upload: the put.io folder must be/,
      },
      {
        node: { type: "putio-zip", source: "payload", sourceType: "msg" },
        msg: () => ({ payload: circular() }),
        names: /^zip: expected file or folder ids.*\[circular\]/,
      },
      {
        node: { type: "putio-api", method: "POST", path: "/v2/files/create-folder", encoding: "auto" },
        msg: () => ({ payload: circular() }),
        names: /^call the put\.io API \(POST \/v2\/files\/create-folder\): the parameters cannot be sent as JSON \(it refers to itself\)/,
      },
      {
        node: { type: "putio-api", method: "POST", path: "/v2/files/create-folder", encoding: "json" },
        msg: () => ({ payload: { n: 10n } }),
        names: /^call the put\.io API \(POST \/v2\/files\/create-folder\): the parameters cannot be sent as JSON \(it holds a BigInt\)/,
      },
      {
        node: { type: "putio-api", method: "GET", path: "", encoding: "auto" },
        msg: () => ({ path: circular() }),
        names: /^call the put\.io API \(GET .*\[circular\].*\): no API path given/,
      },
      {
        node: { type: "putio-rss", action: "create", feedId: "feedId", feedIdType: "msg" },
        msg: () => ({ payload: circular() }),
        names: /^add a feed: the folder must be an id or a path, got .*\[circular\]/,
      },
      {
        node: { type: "putio-rss", action: "create", feedId: "feedId", feedIdType: "msg" },
        msg: () => ({ payload: { title: circular() } }),
        names: /^add RSS feed: title must be text, got .*\[circular\]/,
      },
      {
        node: { type: "putio-rss", action: "msg", feedId: "feedId", feedIdType: "msg" },
        msg: () => ({ action: circular() }),
        names: /^RSS feeds: unknown action .*\[circular\]/,
      },
      {
        node: { type: "putio-events", action: "list", max: "10" },
        msg: () => ({ payload: circular(), since: circular() }),
        names: /^list the history: msg.since must be a date.*\[circular\]/,
      },
    ];
    for (const c of cases) {
      it(`${c.node.type}${c.node.action ? ` (${c.node.action})` : ""}: ${c.names.source.slice(1, 60)}`, async () => {
        await load(c.node);
        const before = changing(rig.emu).length;
        const r = await outcome(c.msg());
        assert.ok(r.caught, `a catchable error, got output ${JSON.stringify(r.payload)?.slice(0, 100)}`);
        const text: string = r.caught.error.message;
        assert.doesNotMatch(text, /Converting circular structure|Do not know how to serialize|TypeError|URIError/);
        assert.match(text, c.names);
        assert.equal(changing(rig.emu).length, before, "nothing was changed on put.io");
      });
    }

    it("putio-events: a circular msg.payload it does not read is passed through (list still works)", async () => {
      await load({ type: "putio-events", action: "list", max: "10" });
      const r = await outcome({ payload: circular() });
      assert.ok(!r.caught, r.caught?.error?.message);
      assert.ok(Array.isArray(r.payload));
    });
  });

  describe("api node: a broken %-escape in the path", () => {
    it("is a PutioInputError naming the call and the segment, not a raw URIError, and nothing is sent", async () => {
      await load({ type: "putio-api", method: "", path: "", encoding: "auto" });
      const before = work(rig.emu).length;
      for (const p of ["/files/%E0%A4%A", "/v2/files/%", "/v2/files/%ZZ/x"]) {
        const r = await outcome({ path: p });
        assert.ok(r.caught, p);
        const text: string = r.caught.error.message;
        assert.doesNotMatch(text, /URIError|URI malformed/);
        assert.match(text, /^call the put\.io API \(GET .*\): the path segment ".*" has a "%" that is not a complete UTF-8 escape/);
      }
      assert.equal(work(rig.emu).length, before);
      // A correct escape still works: %20 in a name.
      const ok = await outcome({ path: "/v2/account/%69nfo" });
      assert.ok(!ok.caught, ok.caught?.error?.message);
      assert.equal(typeof ok.payload.info.username, "string");
    });
  });

  describe("put.io's root (id 0) is never deleted, moved or renamed", () => {
    it("lib: files.delete, move, moveAndRename, rename, trash.delete and trash.restore refuse id 0 before any request", async () => {
      const client = new PutioClient({ apiUrl: rig.emu.apiUrl, uploadUrl: rig.emu.uploadUrl, token: rig.emu.token });
      try {
        const f = rig.emu.state.addFile(0, "a.txt", Buffer.from("a"));
        const dir = rig.emu.state.addFolder(0, "Dir");
        const before = work(rig.emu).length;
        const root = (err: unknown) => err instanceof PutioInputError && /id 0 is put\.io's root folder/.test((err as Error).message);
        await assert.rejects(client.files.delete([0]), root);
        await assert.rejects(client.files.delete([f.id, 0], { skipTrash: true }), root);
        await assert.rejects(client.files.move([0], dir.id), root);
        await assert.rejects(client.files.moveAndRename(0, dir.id, "x"), root);
        await assert.rejects(client.files.rename(0, "x"), root);
        await assert.rejects(client.trash.delete([0]), root);
        await assert.rejects(client.trash.restore([0]), root);
        assert.equal(work(rig.emu).length, before, "no request was sent");
        assert.ok(rig.emu.state.getFile(f.id), "the other file of the list was not deleted");
        // Moving into the root stays allowed.
        assert.deepEqual(await client.files.move([f.id], 0), []);
      } finally {
        await client.close();
      }
    });

    it("file action: id 0 in any form is refused for every action on files, before the destination is created", async () => {
      await load({
        type: "putio-file-action",
        action: "msg",
        ids: "",
        target: "target",
        targetType: "msg",
        newName: "name",
        newNameType: "msg",
        skipTrash: true,
      });
      const keep = rig.emu.state.addFile(0, "keep.txt", Buffer.from("k"));
      const before = work(rig.emu).length;
      for (const payload of [0, "0", " 0 ", `${keep.id},0`, [keep.id, 0], { id: 0, name: "Your Files" }, [{ id: 0, name: "Your Files" }]]) {
        const OPS: Record<string, string> = {
          delete: "delete files",
          move: "move files",
          rename: "rename file",
          "trash-delete": "delete files from the trash for good",
          restore: "restore files",
        };
        for (const action of ["delete", "move", "rename", "trash-delete", "restore"]) {
          const r = await outcome({ action, payload, target: "/Made/By/Move", name: "x" });
          assert.ok(r.caught, `${action} ${JSON.stringify(payload)}`);
          assert.match(r.caught.error.message, new RegExp(`^${OPS[action]}: id 0 is put\\.io's root folder`));
        }
      }
      assert.equal(work(rig.emu).length, before, "no request at all (not even the move's folder creation)");
      assert.ok(rig.emu.state.getFile(keep.id));
      assert.ok(!rig.emu.state.listChildren(0).some((f) => f.name === "Made"));
    });

    it("file action: a delete with an empty or missing msg.payload is refused, not guessed", async () => {
      await load({ type: "putio-file-action", action: "delete", ids: "" });
      rig.emu.state.addFile(0, "a.txt", Buffer.from("a"));
      const before = work(rig.emu).length;
      for (const msg of [{}, { payload: "" }, { payload: null }, { payload: [] }, { payload: "  " }]) {
        const r = await outcome(msg);
        assert.ok(r.caught, JSON.stringify(msg));
        assert.match(r.caught.error.message, /^delete files: /);
      }
      assert.equal(work(rig.emu).length, before);
      assert.equal(rig.emu.state.listChildren(0).length, 1);
    });
  });

  describe("upload: the Only from folder", () => {
    function setup() {
      const allowed = path.join(rig.work, "allowed");
      const outside = path.join(rig.work, "outside");
      fs.mkdirSync(path.join(allowed, "sub"), { recursive: true });
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(allowed, "sub", "in.txt"), "inside");
      fs.writeFileSync(path.join(allowed, "sub", "in2.txt"), "inside");
      fs.writeFileSync(path.join(outside, "secret.txt"), "secret");
      fs.symlinkSync(path.join(outside, "secret.txt"), path.join(allowed, "link-out.txt"));
      fs.symlinkSync(outside, path.join(allowed, "dir-out"));
      fs.symlinkSync(path.join(allowed, "sub", "in.txt"), path.join(allowed, "link-in.txt"));
      fs.symlinkSync(allowed, path.join(rig.work, "allowed-link"));
      return { allowed, outside };
    }
    const uploadNode = (root: string, rootType = "str") => ({
      type: "putio-upload",
      source: "payload",
      sourceType: "msg",
      folder: "/Uploads",
      folderType: "str",
      fileName: "",
      chunkMb: "1",
      root,
      rootType,
    });

    it("files inside are uploaded (also through a symlink that stays inside, and with a symlinked root)", async () => {
      const { allowed } = setup();
      await load(uploadNode(path.join(rig.work, "allowed-link")));
      for (const p of [path.join(allowed, "sub", "in.txt"), path.join(allowed, "link-in.txt"), `${path.join(rig.work, "allowed-link")}/sub/../sub/in2.txt`]) {
        const r = await outcome({ payload: p });
        assert.ok(!r.caught, r.caught?.error?.message);
        assert.equal(r.payload.kind, "file");
        assert.deepEqual(rig.emu.state.fileBytes(r.payload.file.id), Buffer.from("inside"));
      }
      const names = rig.emu.state
        .listChildren(rig.emu.state.listChildren(0).find((f) => f.name === "Uploads")!.id)
        .map((f) => f.name)
        .sort();
      assert.deepEqual(names, ["in.txt", "in2.txt", "link-in.txt"], "uploaded under the names the flow gave (a link under its own name)");
    });

    it("'..', absolute paths outside and symlinks out are refused before anything reaches put.io; buffers are not affected", async () => {
      const { allowed, outside } = setup();
      await load(uploadNode(allowed));
      const before = work(rig.emu).length;
      const escapes = [
        path.join(outside, "secret.txt"),
        `${allowed}/../outside/secret.txt`,
        `${allowed}/../../../../../etc/passwd`,
        "/../../etc/passwd",
        path.join(allowed, "link-out.txt"),
        path.join(allowed, "dir-out", "secret.txt"),
        allowed,
      ];
      for (const p of escapes) {
        const r = await outcome({ payload: p });
        assert.ok(r.caught, `${p} was uploaded`);
        assert.match(r.caught.error.message, /^upload ".*": the file is outside the allowed folder ".*allowed": only files inside it are uploaded/, p);
      }
      const missing = await outcome({ payload: path.join(allowed, "nope.txt") });
      assert.match(missing.caught.error.message, /^upload ".*nope\.txt": cannot read the file \(ENOENT\)/);
      assert.equal(work(rig.emu).length, before, "nothing was sent, not even the folder creation");
      assert.ok(!rig.emu.state.listChildren(0).some((f) => f.name === "Uploads"));
      const buf = await outcome({ payload: Buffer.from("from a buffer"), filename: "b.txt" });
      assert.ok(!buf.caught, buf.caught?.error?.message);
      assert.equal(buf.payload.file.name, "b.txt");
    });

    it("from an environment variable; an unset one allows no local file; a missing folder is named", async () => {
      const { allowed } = setup();
      process.env.PUTIO_GUARDS_TEST_ROOT = allowed;
      try {
        await load(uploadNode("PUTIO_GUARDS_TEST_ROOT", "env"));
        let r = await outcome({ payload: path.join(allowed, "sub", "in.txt") });
        assert.ok(!r.caught, r.caught?.error?.message);
        r = await outcome({ payload: path.join(allowed, "link-out.txt") });
        assert.match(r.caught.error.message, /outside the allowed folder/);
        delete process.env.PUTIO_GUARDS_TEST_ROOT;
        r = await outcome({ payload: path.join(allowed, "sub", "in.txt") });
        assert.match(r.caught.error.message, /the "Only from" folder \(environment variable PUTIO_GUARDS_TEST_ROOT\) is empty, so no local file is allowed/);
        await nr.helper.unload();
        await load(uploadNode(path.join(rig.work, "no-such-folder")));
        r = await outcome({ payload: path.join(allowed, "sub", "in.txt") });
        assert.match(r.caught.error.message, /the allowed folder ".*no-such-folder" cannot be read \(ENOENT\)/);
      } finally {
        delete process.env.PUTIO_GUARDS_TEST_ROOT;
      }
    });

    it("without the option, any local path is uploaded as before", async () => {
      const { outside } = setup();
      await load(uploadNode(""));
      const r = await outcome({ payload: path.join(outside, "secret.txt") });
      assert.ok(!r.caught, r.caught?.error?.message);
      assert.equal(r.payload.file.name, "secret.txt");
    });
  });
});
