/** putio-files, putio-file-action, putio-upload and their lib pieces (walk, filters, tus), against the emulator. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import { whileClockRuns } from "./support/emulator-clock";
import { Readable } from "node:stream";
import { catchAll, messages, nextMessage, nr, statusMatching, type FlowNode } from "./nr";
import { outcomeOf, uploadNodeConfig, useNodeRed } from "./support/node-red-fixture";
import {
  DEFAULT_SKIP_FOLDERS,
  PutioAbortError,
  PutioInputError,
  PutioTransferIntegrityError,
  TusUploader,
  collect,
  compileFilter,
  folderSkipper,
  walk,
  type RawRequestSpec,
} from "../lib";

const filesNode = require("../nodes/putio-files");
const actionNode = require("../nodes/putio-file-action");
const uploadNode = require("../nodes/putio-upload");
const splitJoin = require("@node-red/nodes/core/sequence/17-split.js");

const DAY = 86_400_000;
const hex = (b: Buffer) => (crc32(b) >>> 0).toString(16).padStart(8, "0");

describe("file nodes @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed({ work: "putio-files-", client: { retry: { baseDelayMs: 5, maxDelayMs: 20 } } });

  const account = (): FlowNode => rig.account({ name: "files account" });

  /** /Completed with videos old and new, big and small, subtitles, and a sample folder. */
  function library() {
    const completed = rig.emu.state.addFolder(0, "Completed");
    const show = rig.emu.state.addFolder(completed.id, "Show");
    const sample = rig.emu.state.addFolder(show.id, "Sample");
    const old = new Date(Date.now() - 10 * DAY);
    rig.emu.state.addFile(completed.id, "Old.Big.mkv", { size: 600 * 1024 * 1024, seed: 1 }, { createdAt: old });
    rig.emu.state.addFile(completed.id, "Old.Small.mkv", Buffer.alloc(1000, 1), { createdAt: old });
    rig.emu.state.addFile(completed.id, "New.Big.mp4", { size: 700 * 1024 * 1024, seed: 2 });
    rig.emu.state.addFile(show.id, "Show.S01E01.mkv", Buffer.alloc(2000, 2), { createdAt: old });
    rig.emu.state.addFile(show.id, "Show.S01E01.srt", Buffer.from("1\n00:00 --> 00:01\nhi\n"), { createdAt: old });
    rig.emu.state.addFile(sample.id, "sample.mkv", Buffer.alloc(10, 3), { createdAt: old });
    return { completed, show, sample };
  }

  describe("lib: filters and walk", () => {
    it("each filter alone, and stacked", () => {
      const now = Date.now();
      const f = (name: string, size: number, file_type: string, daysOld: number) => ({
        name,
        size,
        file_type,
        created_at: new Date(now - daysOld * DAY).toISOString().slice(0, 19),
      });
      const files = [f("a.mkv", 600e6, "VIDEO", 10), f("b.mkv", 1e6, "VIDEO", 10), f("c.mp3", 600e6, "AUDIO", 10), f("d.mkv", 600e6, "VIDEO", 1)];
      const names = (filter: object) => files.filter(compileFilter(filter, now)).map((x) => x.name);
      assert.deepEqual(names({ fileTypes: ["video"] }), ["a.mkv", "b.mkv", "d.mkv"]);
      assert.deepEqual(names({ extensions: ["mp3"] }), ["c.mp3"]);
      assert.deepEqual(names({ nameGlob: "?.mkv" }), ["a.mkv", "b.mkv", "d.mkv"]);
      assert.deepEqual(names({ nameRegex: "^[ab]" }), ["a.mkv", "b.mkv"]);
      assert.deepEqual(names({ minSize: 500e6 }), ["a.mkv", "c.mp3", "d.mkv"]);
      assert.deepEqual(names({ maxSize: 2e6 }), ["b.mkv"]);
      assert.deepEqual(names({ olderThanDays: 7 }), ["a.mkv", "b.mkv", "c.mp3"]);
      assert.deepEqual(names({ createdAfter: new Date(now - 2 * DAY) }), ["d.mkv"]);
      assert.deepEqual(names({ createdBefore: new Date(now - 2 * DAY).toISOString().slice(0, 19) }), ["a.mkv", "b.mkv", "c.mp3"], "a put.io date string");
      assert.deepEqual(names({ nameGlob: "*.MKV", maxSize: 2e6 }), ["b.mkv"]);
      assert.deepEqual(names({ fileTypes: ["VIDEO"], minSize: 500e6, olderThanDays: 7 }), ["a.mkv"], "videos over 500 MB older than 7 days");
      assert.throws(() => compileFilter({ nameRegex: "(" }), PutioInputError);
      assert.throws(() => compileFilter({ createdAfter: "last tuesday" }), /not a date/);
    });

    it("skip folders: the default, a custom list, any case, and none", async () => {
      assert.ok(folderSkipper(DEFAULT_SKIP_FOLDERS)("Sample") && folderSkipper(DEFAULT_SKIP_FOLDERS)("EXTRAS"));
      assert.ok(!folderSkipper(DEFAULT_SKIP_FOLDERS)("Samples"), "exact names only");
      const top = rig.emu.state.addFolder(0, "Show");
      for (const name of ["Sample", "Extras", "Featurettes", "Season 1"])
        rig.emu.state.addFile(rig.emu.state.addFolder(top.id, name).id, "x.mkv", Buffer.from(name));
      const paths = async (skipFolders?: string[] | string) => (await collect(walk(rig.client.files, top.id, { skipFolders }))).map((w) => w.path).sort();
      assert.deepEqual(await paths(DEFAULT_SKIP_FOLDERS), ["Featurettes/x.mkv", "Season 1/x.mkv"]);
      assert.deepEqual(await paths("featurettes, SAMPLE"), ["Extras/x.mkv", "Season 1/x.mkv"]);
      assert.equal((await paths()).length, 4);
    });

    it("a walk stops with a clear error at a name that must not become a path (.., /, NUL)", async () => {
      for (const [i, bad] of ["..", "a/b", "x\u0000y"].entries()) {
        const top = rig.emu.state.addFolder(0, `Top ${i}`);
        rig.emu.state.addFile(rig.emu.state.addFolder(top.id, "Sub").id, bad, Buffer.from("x"));
        await assert.rejects(
          collect(walk(rig.client.files, top.id)),
          (err: Error) => err instanceof PutioInputError && /Sub\//.test(err.message) && /usable name|contains "\/"|NUL/.test(err.message),
        );
      }
    });

    it("walks 2,600 files in nested folders with one request per folder per 1,000 files", async () => {
      const top = rig.emu.state.addFolder(0, "Top");
      let folders = 1;
      let expected = 0;
      for (let i = 0; i < 5; i++) {
        const sub = rig.emu.state.addFolder(top.id, `Sub ${i}`);
        folders++;
        const n = i === 0 ? 1500 : 200;
        for (let j = 0; j < n; j++) rig.emu.state.addFile(sub.id, `f${j}.txt`, Buffer.from(`${i}/${j}`));
        expected += n;
        const deep = rig.emu.state.addFolder(sub.id, "deep");
        folders++;
        for (let j = 0; j < 60; j++) rig.emu.state.addFile(deep.id, `d${j}.txt`, Buffer.from(`d${i}/${j}`));
        expected += 60;
      }
      const before = rig.emu.requests.length;
      const all = await collect(walk(rig.client.files, top.id));
      const requests = rig.emu.requests.length - before;
      assert.equal(all.length, expected);
      // Depth-first, a folder's files before its subfolders, in put.io's order: listing ahead must not reorder.
      const reference: string[] = [];
      const dfs = async (id: number, prefix: string): Promise<void> => {
        const subs: Array<{ id: number; name: string }> = [];
        for await (const f of rig.client.files.list(id)) {
          if (f.file_type === "FOLDER") subs.push(f);
          else reference.push(prefix + f.name);
        }
        for (const f of subs) await dfs(f.id, `${prefix}${f.name}/`);
      };
      await dfs(top.id, "");
      assert.deepEqual(
        all.map((w) => w.path),
        reference,
      );
      // 1 per folder, plus 1 continuation for the folder of 1,500 files
      assert.equal(requests, folders + 1);
    });
  });

  describe("putio-files", () => {
    async function load(cfg: object, extra: FlowNode[] = [], wires = [["out"]]) {
      await rig.load(
        [filesNode, splitJoin],
        [
          account(),
          {
            id: "files",
            type: "putio-files",
            account: "acc",
            mode: "list",
            folder: "/",
            folderType: "str",
            output: "array",
            skipFolders: "sample,extras",
            ...cfg,
            wires,
          },
          catchAll("c", "caught"),
          { id: "out", type: "helper" },
          { id: "caught", type: "helper" },
          ...extra,
        ],
      );
    }

    it("walk with stacked filters: videos over 500 MB older than 7 days, with relative paths; sample skipped", async () => {
      library();
      await load({ mode: "walk", folder: "/Completed", fileTypes: "VIDEO", minSizeMb: "500", olderThanDays: "7" });
      const out = nextMessage("out");
      nr.node("files").receive({});
      const msg = await out;
      assert.deepEqual(
        msg.payload.map((f: any) => f.path),
        ["Old.Big.mkv"],
      );
    });

    it("walk yields paths relative to the folder and never enters sample folders", async () => {
      library();
      await load({ mode: "walk", folder: "/Completed", extensions: "mkv,srt" });
      const out = nextMessage("out");
      nr.node("files").receive({});
      const paths = (await out).payload.map((f: any) => f.path).sort();
      assert.deepEqual(paths, ["Old.Big.mkv", "Old.Small.mkv", "Show/Show.S01E01.mkv", "Show/Show.S01E01.srt"]);
    });

    it("one msg per file with msg.parts: a real Join node in automatic mode rebuilds the array", async () => {
      const { completed } = library();
      await load(
        { mode: "list", folder: "folder", folderType: "msg", output: "each" },
        [
          { id: "joiner", type: "join", mode: "auto", wires: [["out"]] },
          { id: "each", type: "helper" },
        ],
        [["joiner", "each"]],
      );
      const out = nextMessage("out");
      const each = messages("each", 4);
      nr.node("files").receive({ folder: completed.id, topic: "keep me" });
      const msg = await out;
      const parts = (await each).map((m) => m.parts);
      assert.deepEqual(
        parts.map((p) => p.index),
        [0, 1, 2, 3],
      );
      assert.ok(parts.every((p) => p.count === 4 && p.type === "array" && p.id === parts[0].id));
      assert.equal(new Set((await each).map((m) => m._msgid)).size, 4, "each file is its own message");
      assert.ok(Array.isArray(msg.payload));
      assert.deepEqual(msg.payload.map((f: any) => f.name).sort(), ["New.Big.mp4", "Old.Big.mkv", "Old.Small.mkv", "Show"]);
      assert.equal(msg.topic, "keep me");
    });

    it("search follows the cursor; get reads one file by path; a missing folder is a catchable error", async () => {
      const { show } = library();
      for (let i = 0; i < 1200; i++) rig.emu.state.addFile(show.id, `Match ${i}.nfo`, Buffer.from(String(i)));
      await load({ mode: "search", folder: "payload", folderType: "msg", namePattern: "/^match/" });
      let out = nextMessage("out");
      nr.node("files").receive({ payload: "match" });
      assert.equal((await out).payload.length, 1200);
      await nr.helper.unload();
      await load({ mode: "get", folder: "/Completed/Show/Show.S01E01.srt" });
      out = nextMessage("out");
      nr.node("files").receive({});
      assert.equal((await out).payload[0].name, "Show.S01E01.srt");
      await nr.helper.unload();
      await load({ mode: "list", folder: "/Nope" });
      const caught = nextMessage("caught");
      nr.node("files").receive({});
      assert.match((await caught).error.message, /"\/Nope" does not exist/);
    });
    it("msg.filter adds to the dialog's filters; an emptied Skip field enters sample folders; a hostile path is refused", async () => {
      library();
      await load({ mode: "walk", folder: "/Completed", extensions: "mkv", skipFolders: "" });
      const paths = async (msg: object) => {
        const out = nextMessage("out");
        nr.node("files").receive(msg);
        return (await out).payload.map((f: any) => f.path).sort();
      };
      assert.deepEqual(await paths({}), ["Old.Big.mkv", "Old.Small.mkv", "Show/Sample/sample.mkv", "Show/Show.S01E01.mkv"]);
      assert.deepEqual(await paths({ filter: { maxSize: 5000 } }), ["Old.Small.mkv", "Show/Sample/sample.mkv", "Show/Show.S01E01.mkv"]);
      await nr.helper.unload();
      await load({ mode: "get", folder: "/Completed/../Completed/Old.Big.mkv" });
      const caught = nextMessage("caught");
      nr.node("files").receive({});
      assert.match((await caught).error.message, /contains "\.\."/);
    });
  });

  describe("putio-file-action", () => {
    async function load(cfg: object) {
      await rig.load(
        [actionNode],
        [
          account(),
          {
            id: "fa",
            type: "putio-file-action",
            account: "acc",
            action: "msg",
            ids: "",
            target: "",
            targetType: "str",
            newName: "",
            newNameType: "str",
            ...cfg,
            wires: [["out"]],
          },
          catchAll("c", "caught"),
          { id: "out", type: "helper" },
          { id: "caught", type: "helper" },
        ],
      );
    }
    const act = (msg: object) => outcomeOf("fa", msg);

    it("mp4: converts a video on put.io and waits until it is ready (the socket's mp4_update wakes it); a failed conversion is catchable; dry run starts nothing", async () => {
      await load({});
      const video = rig.emu.state.addFile(0, "Show.S01E01.mkv", { size: 5 * 1024 * 1024, seed: 9 });
      const dry = await act({ action: "mp4", payload: video.id, dryRun: true });
      assert.deepEqual(
        dry.payload.wouldConvert.map((f: any) => f.id),
        [video.id],
      );
      assert.ok(!rig.emu.requests.some((r) => r.method === "POST" && r.path.endsWith("/mp4")), "a dry run starts no conversion");
      const done = await whileClockRuns(rig.emu, act({ action: "mp4", payload: video.id }), 60);
      assert.equal(done.payload.status, "COMPLETED", JSON.stringify(done));
      assert.ok(done.payload.size > 0);
      assert.equal(done.payload.started, true);
      await statusMatching("fa", (st) => /^MP4 (in_queue|converting) \d+% \(0\/1 done\)$/.test(st.text));
      // Asked again: already there, nothing started.
      const again = await act({ action: "mp4", payload: video.id });
      assert.equal(again.payload.started, false);
      // put.io fails the conversion: a catchable error that names the file.
      const other = rig.emu.state.addFile(0, "Broken.avi", { size: 1024 * 1024, seed: 10 });
      rig.emu.knobs.mp4FailNext = 1;
      const failed = await whileClockRuns(rig.emu, act({ action: "mp4", payload: [{ id: other.id, name: "Broken.avi" }] }), 60);
      assert.ok(failed.caught, JSON.stringify(failed));
      assert.match(failed.caught.error.message, /^"Broken\.avi" \(\d+\): .*could not convert/);
    });

    it("mkdir -p, move with a new name, move file objects, rename, delete to trash, list, restore, empty", async () => {
      await load({ target: "target", targetType: "msg", newName: "name", newNameType: "msg" });
      const made = await act({ action: "mkdir", target: "/Archive/2026" });
      assert.equal(typeof made.payload.id, "number");
      const a = rig.emu.state.addFile(0, "a.txt", Buffer.from("a"));
      const b = rig.emu.state.addFile(0, "b.txt", Buffer.from("b"));
      const c = rig.emu.state.addFile(0, "c.txt", Buffer.from("c"));
      await act({ action: "move", payload: a.id, target: "/Archive/2026", name: "renamed.txt" });
      assert.equal(rig.emu.state.getFile(a.id)?.name, "renamed.txt");
      assert.equal(rig.emu.state.getFile(a.id)?.parent_id, made.payload.id);
      await act({
        action: "move",
        payload: [
          { id: b.id, name: "b.txt" },
          { id: c.id, name: "c.txt" },
        ],
        target: made.payload.id,
      });
      assert.equal(rig.emu.state.getFile(b.id)?.parent_id, made.payload.id);
      await act({ action: "rename", payload: b.id, name: "bee.txt" });
      assert.equal(rig.emu.state.getFile(b.id)?.name, "bee.txt");
      await act({ action: "delete", payload: String(c.id) });
      const trash = await act({ action: "trash-list" });
      assert.deepEqual(
        trash.payload.map((t: any) => t.id),
        [c.id],
      );
      await act({ action: "restore", payload: c.id });
      assert.ok(rig.emu.state.getFile(c.id));
      await act({ action: "delete", payload: c.id });
      await act({ action: "empty" });
      assert.equal((await act({ action: "trash-list" })).payload.length, 0);
    });

    it("conflicts, unknown ids and hostile names are catchable errors that name the file", async () => {
      await load({ target: "target", targetType: "msg", newName: "name", newNameType: "msg" });
      const dir = rig.emu.state.addFolder(0, "Dir");
      rig.emu.state.addFile(dir.id, "same.txt", Buffer.from("1"));
      const mover = rig.emu.state.addFile(0, "same.txt", Buffer.from("2"));
      let r = await act({ action: "move", payload: [{ id: mover.id, name: "same.txt" }], target: dir.id });
      assert.match(r.caught.error.message, /"same\.txt" \(\d+\): NAME_ALREADY_EXIST/);
      r = await act({ action: "delete", payload: 2147483600 });
      assert.match(r.caught.error.message, /file 2147483600 did not exist/);
      r = await act({ action: "rename", payload: mover.id, name: ".." });
      assert.match(r.caught.error.message, /not a usable name/);
      r = await act({ action: "rename", payload: mover.id, name: "a/b" });
      assert.match(r.caught.error.message, /contains "\/"/);
      r = await act({ action: "rename", payload: mover.id, name: "x\u0000y" });
      assert.match(r.caught.error.message, /NUL/);
      r = await act({ action: "mkdir", target: "/a/../../etc" });
      assert.match(r.caught.error.message, /contains "\.\."/);
      r = await act({ action: "restore", payload: 2147483600 });
      assert.ok(r.caught, "restoring an unknown id fails");
    });

    it("refusals name the file: rename and move conflicts, unknown ids and folders, another account's file; trash-delete; mkdir from payload", async () => {
      await load({ target: "target", targetType: "msg", newName: "name", newNameType: "msg" });
      const dir = rig.emu.state.addFolder(0, "Dir");
      const taken = rig.emu.state.addFile(dir.id, "taken.txt", Buffer.from("1"));
      const other = rig.emu.state.addFile(dir.id, "other.txt", Buffer.from("2"));
      const named = { id: other.id, name: "other.txt" };
      let r = await act({ action: "rename", payload: named, name: "taken.txt" });
      assert.match(r.caught.error.message, new RegExp(`^"other\\.txt" \\(${other.id}\\): .*NAME_ALREADY_EXIST`));
      r = await act({ action: "move", payload: [named], target: dir.id, name: "taken.txt" });
      assert.match(r.caught.error.message, new RegExp(`^"other\\.txt" \\(${other.id}\\): .*NAME_ALREADY_EXIST`));
      r = await act({ action: "move", payload: [other.id, 2147483600], target: 0 });
      assert.match(r.caught.error.message, /1 of 2 could not be moved: file 2147483600: NotFound; the others were moved/);
      assert.equal(rig.emu.state.getFile(other.id)?.parent_id, 0, "the known file was moved");
      r = await act({ action: "move", payload: { id: taken.id, name: "taken.txt" }, target: 2147483600 });
      assert.match(r.caught.error.message, /^"taken\.txt" \(\d+\): .*folder 2147483600/);
      r = await act({ action: "rename", payload: 2147483600, name: "x" });
      assert.match(r.caught.error.message, /file 2147483600.*HTTP 404/);
      // Another account's file: put.io answers as for an unknown id, and nothing changes.
      const stranger = rig.emu.addUser({ username: "stranger" });
      const theirs = rig.emu.state.addFile(0, "theirs.txt", Buffer.from("3"), {}, stranger.token);
      r = await act({ action: "rename", payload: theirs.id, name: "mine.txt" });
      assert.match(r.caught.error.message, new RegExp(`file ${theirs.id}`));
      assert.equal(rig.emu.state.getFile(theirs.id)?.name, "theirs.txt");
      await act({ action: "delete", payload: taken.id });
      r = await act({ action: "trash-delete", payload: taken.id });
      assert.deepEqual(r.payload.deletedForGood, [taken.id]);
      assert.equal((await act({ action: "trash-list" })).payload.length, 0);
      r = await act({ action: "trash-delete", payload: { id: taken.id, name: "taken.txt" } });
      assert.match(r.caught.error.message, /^"taken\.txt" .*TRASH_FILE_NOT_FOUND/);
      r = await act({ action: "mkdir", payload: "/From/Payload" });
      assert.equal(r.payload.path, "/From/Payload");
      assert.equal(rig.emu.state.listChildren(rig.emu.state.listChildren(0).find((f) => f.name === "From")!.id)[0].id, r.payload.id);
    });

    it("TRASH_LOCK_TIMEOUT on delete is retried", async () => {
      await load({ action: "delete" });
      const f = rig.emu.state.addFile(0, "x.txt", Buffer.from("x"));
      rig.emu.knobs.trashLockNext = 2;
      const r = await act({ payload: f.id });
      assert.deepEqual(r.payload.deleted, [f.id]);
    });
  });

  describe("upload", () => {
    function localFile(name: string, size: number): { file: string; data: Buffer } {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 7919 + 13) & 0xff;
      const file = path.join(rig.work, name);
      fs.writeFileSync(file, data);
      return { file, data };
    }

    it("tus: a cut connection resumes from put.io's offset; the bytes and CRC32 match", async () => {
      const { file, data } = localFile("movie.bin", 3 * 1024 * 1024 + 17);
      rig.emu.knobs.cutTusPatchNext = 2;
      const res = await new TusUploader(rig.client).upload({ path: file, chunkSize: 1024 * 1024, stateDir: rig.work });
      assert.equal(res.kind, "file");
      if (res.kind !== "file") return;
      assert.equal(res.crc32, hex(data));
      assert.deepEqual(rig.emu.state.fileBytes(res.fileId), data);
      assert.ok(rig.emu.requests.filter((r) => r.method === "HEAD" && r.path.startsWith("/files/")).length >= 2, "the offset was re-read after each cut");
    });

    it("tus: a restart (new uploader) resumes the stored upload instead of starting over", async () => {
      const { file, data } = localFile("big.bin", 4 * 1024 * 1024);
      const ac = new AbortController();
      let chunks = 0;
      await assert.rejects(
        new TusUploader(rig.client).upload({
          path: file,
          chunkSize: 1024 * 1024,
          stateDir: rig.work,
          signal: ac.signal,
          onProgress: () => ++chunks === 2 && ac.abort(),
        }),
        /aborted/,
      );
      const creates = rig.emu.requests.filter((r) => r.method === "POST" && r.path === "/files/").length;
      const res = await new TusUploader(rig.client).upload({ path: file, chunkSize: 1024 * 1024, stateDir: rig.work });
      assert.equal(res.resumed, true);
      assert.equal(rig.emu.requests.filter((r) => r.method === "POST" && r.path === "/files/").length, creates, "no new upload was created");
      assert.equal(rig.emu.requests.filter((r) => r.method === "PATCH").length, 4);
      if (res.kind === "file") assert.deepEqual(rig.emu.state.fileBytes(res.fileId), data);
    });

    it("tus: a CRC32 that differs from the local file is detected (the sent part was rewritten before a resume)", async () => {
      const { file } = localFile("x.bin", 3 * 1024 * 1024);
      // Whole seconds, so the rewrite below can put the same mtime back and the resume is not refused.
      fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
      const ac = new AbortController();
      await assert.rejects(
        new TusUploader(rig.client).upload({ path: file, chunkSize: 1024 * 1024, stateDir: rig.work, signal: ac.signal, onProgress: () => ac.abort() }),
        PutioAbortError,
      );
      // Same size and mtime, other bytes in the part put.io already has: only the CRC can tell.
      const fd = fs.openSync(file, "r+");
      fs.writeSync(fd, Buffer.alloc(1000, 0xee), 0, 1000, 10);
      fs.closeSync(fd);
      fs.utimesSync(file, 1_700_000_000, 1_700_000_000);
      await assert.rejects(new TusUploader(rig.client).upload({ path: file, chunkSize: 1024 * 1024, stateDir: rig.work }), (err: Error) => {
        assert.ok(err instanceof PutioTransferIntegrityError, String(err));
        assert.match(err.message, /CRC32 [0-9a-f]{8} differs from the local file's [0-9a-f]{8}/);
        return true;
      });
    });

    it("tus: a 409 (offset out of step) re-reads the offset; PATCH bodies are streams from disk, never whole buffers", async () => {
      const { file, data } = localFile("conflict.bin", 3 * 1024 * 1024 + 5);
      const send = rig.client.transport.requestRaw.bind(rig.client.transport);
      const bodies: unknown[] = [];
      let patches = 0;
      rig.client.transport.requestRaw = (spec: RawRequestSpec) => {
        if (spec.method === "PATCH") {
          bodies.push(spec.body);
          // Once, claim an offset put.io does not have (as a second process sharing the upload would).
          if (++patches === 2) spec = { ...spec, headers: { ...spec.headers, "upload-offset": String(Number(spec.headers!["upload-offset"]) + 1) } };
        }
        return send(spec);
      };
      const res = await new TusUploader(rig.client).upload({ path: file, chunkSize: 1024 * 1024, stateDir: rig.work });
      assert.equal(res.kind, "file");
      if (res.kind === "file") assert.deepEqual(rig.emu.state.fileBytes(res.fileId), data);
      assert.equal(rig.emu.requests.filter((r) => r.method === "PATCH" && r.status === 409).length, 1);
      assert.ok(
        bodies.every((b) => b instanceof Readable),
        "every PATCH body is a stream",
      );
    });

    it("tus: an upload put.io forgot mid-way starts over once; an empty file is one empty PATCH", async () => {
      const { file, data } = localFile("forgotten.bin", 2 * 1024 * 1024 + 3);
      const send = rig.client.transport.requestRaw.bind(rig.client.transport);
      let patches = 0;
      rig.client.transport.requestRaw = async (spec: RawRequestSpec) => {
        // Before the second chunk, the upload expires on put.io's side (tus termination drops it the same way).
        if (spec.method === "PATCH" && ++patches === 2) {
          const gone = await fetch(spec.path, { method: "DELETE", headers: { authorization: `token ${rig.emu.token}`, "tus-resumable": "1.0.0" } });
          assert.equal(gone.status, 204);
        }
        return send(spec);
      };
      const res = await new TusUploader(rig.client).upload({ path: file, chunkSize: 1024 * 1024, stateDir: rig.work });
      assert.equal(res.kind, "file");
      if (res.kind === "file") assert.deepEqual(rig.emu.state.fileBytes(res.fileId), data);
      assert.equal(rig.emu.requests.filter((r) => r.method === "POST" && r.path === "/files/").length, 2, "a second upload was created");
      const empty = localFile("empty.txt", 0);
      const none = await new TusUploader(rig.client).upload({ path: empty.file, stateDir: rig.work });
      assert.equal(none.kind === "file" && none.crc32, "00000000");
    });

    it("the node: a Node-RED restart in the middle of an upload resumes it from put.io's offset", async () => {
      const { file, data } = localFile("restart.bin", 4 * 1024 * 1024);
      const flow = () => [account(), uploadNodeConfig("up", { wires: [["out"]] }), { id: "out", type: "helper" }];
      await rig.load([uploadNode], flow());
      // The second chunk hangs until the flow stops (what a redeploy or shutdown in mid-transfer looks like).
      const transport = (nr.node("acc") as any).client.transport;
      const send = transport.requestRaw.bind(transport);
      let patches = 0;
      transport.requestRaw = (spec: RawRequestSpec) =>
        spec.method === "PATCH" && ++patches === 2
          ? new Promise((_, reject) => spec.signal!.addEventListener("abort", () => reject(new PutioAbortError(spec.attempted, spec.signal!.reason))))
          : send(spec);
      nr.node("up").receive({ payload: file });
      await statusMatching("up", (s) => s.text === "25%");
      await nr.helper.unload();
      assert.equal(patches, 2);
      await rig.load([uploadNode], flow());
      const out = nextMessage("out");
      nr.node("up").receive({ payload: file });
      const msg = await out;
      assert.equal(msg.payload.resumed, true);
      assert.equal(rig.emu.requests.filter((r) => r.method === "POST" && r.path === "/files/").length, 1, "the stored upload was resumed");
      assert.equal(rig.emu.requests.filter((r) => r.method === "PATCH").length, 4, "one chunk before the restart, three after");
      assert.deepEqual(rig.emu.state.fileBytes(msg.payload.file.id), data);
      assert.equal(msg.payload.crc32, hex(data));
    });

    it("the node: a local path, a Buffer, and a .torrent that starts a transfer", async () => {
      const { file, data } = localFile("doc.pdf", 70_000);
      await rig.load(
        [uploadNode],
        [
          account(),
          uploadNodeConfig("up", { folder: "/Uploads", wires: [["out"]] }),
          catchAll("c", "caught"),
          { id: "out", type: "helper" },
          { id: "caught", type: "helper" },
        ],
      );
      let out = nextMessage("out");
      nr.node("up").receive({ payload: file });
      let msg = await out;
      assert.equal(msg.payload.kind, "file");
      assert.equal(msg.payload.file.name, "doc.pdf");
      assert.deepEqual(rig.emu.state.fileBytes(msg.payload.file.id), data);
      out = nextMessage("out");
      nr.node("up").receive({ payload: Buffer.from("hello"), filename: "hello.txt" });
      msg = await out;
      assert.equal(msg.payload.file.name, "hello.txt");
      out = nextMessage("out");
      nr.node("up").receive({
        payload: Buffer.from("d8:announce13:http://t/ann4:infod4:name5:a.iso12:piece lengthi16384e6:pieces0:6:lengthi5eee"),
        filename: "a.torrent",
      });
      msg = await out;
      assert.equal(msg.payload.kind, "transfer");
      const torrentFile = path.join(rig.work, "b.torrent");
      fs.writeFileSync(torrentFile, "d8:announce13:http://t/ann4:infod4:name5:b.iso12:piece lengthi16384e6:pieces0:6:lengthi5eee");
      out = nextMessage("out");
      nr.node("up").receive({ payload: torrentFile });
      msg = await out;
      assert.equal(msg.payload.kind, "transfer");
      assert.match(msg.payload.note, /started a transfer/);
      assert.deepEqual((await collect(rig.client.transfers.list())).map((t) => t.name).sort(), ["a.iso", "b.iso"], "both torrents became transfers, no file");
      const caught = messages("caught", 2);
      nr.node("up").receive({ payload: path.join(rig.work, "missing.bin") });
      nr.node("up").receive({ payload: Buffer.from("x"), filename: ".." });
      const errs = (await caught).map((m) => m.error.message).join("\n");
      assert.match(errs, /cannot read/);
      assert.match(errs, /not a usable name/);
    });
  });
});
