/** The putio-download node in a real Node-RED runtime, against the emulator. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { crcHex } from "./support/files";
import { addSubtitle } from "./emulator/routes-media";
import { catchAll, messages, nextMessage, nr, statusMatching, withTab, type FlowNode } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";

const downloadNode = require("../nodes/putio-download");
const MiB = 1024 * 1024;

describe("putio-download node @nr", function () {
  this.timeout(30_000);
  const rig = useNodeRed({ work: "putio-dln-" });
  afterEach(() => {
    delete process.env.PUTIO_DL_TEST_DIR;
  });

  const account = () => rig.account();

  async function load(dl: Partial<FlowNode>, outputs = 1): Promise<void> {
    const wires = outputs === 2 ? [["out"], ["progress"]] : [["out"]];
    const flow = [
      account(),
      { id: "dl", type: "putio-download", account: "acc", target: rig.work, targetType: "str", stallMs: 300, wires, ...dl },
      { id: "out", type: "helper" },
      { id: "progress", type: "helper" },
      catchAll("c", "caught"),
      { id: "caught", type: "helper" },
    ];
    await rig.load([downloadNode], flow);
  }

  it("a file id: one msg for the file, then the job msg; the file is byte-identical", async () => {
    const f = rig.emu.state.addFile(0, "movie.mkv", { size: 2 * MiB + 1, seed: 2 });
    await load({});
    const got = messages("out", 2);
    nr.node("dl").receive({ payload: f.id, keep: "me" });
    const [file, job] = await got;
    assert.equal(file.topic, "putio/downloaded");
    assert.equal(file.keep, "me", "the incoming msg is carried on");
    assert.equal(file.payload.path, path.join(rig.work, "movie.mkv"));
    assert.equal(file.payload.crc32, f.crc32);
    assert.equal(file.payload.fileId, f.id);
    assert.equal(file.payload.resumed, false);
    assert.ok(file.payload.seconds > 0 && file.payload.bytesPerSecond > 0);
    assert.ok(fs.readFileSync(file.payload.path).equals(rig.emu.state.fileBytes(f.id)));
    assert.equal(job.topic, "putio/download/done");
    assert.deepEqual([job.payload.downloaded, job.payload.skipped, job.payload.failed], [1, 0, 0]);
    await statusMatching("dl", (s) => s.fill === "green" && /1 downloaded/.test(s.text));
  });

  it("a folder path mirrors the tree into a target given as ${ENV} (created when missing), with the node's filters", async () => {
    const show = rig.emu.state.addFolder(0, "Show");
    const s1 = rig.emu.state.addFolder(show.id, "Season 1");
    rig.emu.state.addFile(s1.id, "e1.mkv", Buffer.from("one"));
    rig.emu.state.addFile(s1.id, "e2.mkv", Buffer.from("two"));
    rig.emu.state.addFile(s1.id, "e2.nfo", Buffer.from("nfo"));
    process.env.PUTIO_DL_TEST_DIR = rig.work;
    await load({ target: "${PUTIO_DL_TEST_DIR}/library", extensions: "mkv" });
    const got = messages("out", 3);
    nr.node("dl").receive({ payload: "/Show" });
    const msgs = await got;
    const job = msgs[2];
    assert.deepEqual([job.payload.downloaded, job.payload.skipped, job.payload.failed], [2, 0, 0]);
    assert.equal(job.payload.target, path.join(rig.work, "library"));
    assert.deepEqual(fs.readdirSync(path.join(rig.work, "library", "Show", "Season 1")).sort(), ["e1.mkv", "e2.mkv"]);
    assert.deepEqual(
      msgs
        .slice(0, 2)
        .map((m) => m.payload.putioPath)
        .sort(),
      ["Show/Season 1/e1.mkv", "Show/Season 1/e2.mkv"],
    );
  });

  it("a finished transfer from putio-transfer-watch: downloads its file, deletes it and removes the transfer after verification", async () => {
    const client = new PutioClient({ token: rig.emu.token, apiUrl: rig.emu.apiUrl });
    const added = await client.transfers.add("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=Some.Movie.2026");
    await rig.emu.advance(8000);
    const transfer = await client.transfers.get(added.id);
    await client.close();
    assert.equal(typeof transfer.file_id, "number");
    await load({ deleteAfter: true, skipTrash: true, removeTransfer: true });
    const job = new Promise<any>((resolve) => nr.node("out").on("input", (m: any) => m.topic === "putio/download/done" && resolve(m)));
    nr.node("dl").receive({ payload: transfer });
    const done = await job;
    assert.equal(done.payload.failed, 0);
    assert.ok(done.payload.downloaded >= 1);
    assert.equal(done.payload.transferId, transfer.id);
    assert.equal(done.payload.transferRemoved, true);
    assert.ok(done.payload.deletedFileIds.length >= 1);
    for (const f of done.payload.files) {
      assert.ok(fs.existsSync(f.path));
      assert.equal(crcHex(fs.readFileSync(f.path)), f.crc32);
      assert.equal(rig.emu.state.getFile(f.fileId), undefined, "deleted on put.io after verification");
    }
    assert.ok(rig.emu.requests.some((r) => r.path === "/v2/transfers/remove" && r.status === 200));
  });

  it("a transfer msg with the watch's msg.file: that object is used, not read again; a msg.file for another id is ignored", async () => {
    const client = new PutioClient({ token: rig.emu.token, apiUrl: rig.emu.apiUrl });
    const added = await client.transfers.add("magnet:?xt=urn:btih:1123456789abcdef0123456789abcdef01234567&dn=Other.Movie.2026");
    await rig.emu.advance(8000);
    const transfer = await client.transfers.get(added.id);
    const made = await client.files.get(transfer.file_id!);
    await client.close();
    await load({});
    const reads = () => rig.emu.requests.filter((r) => r.method === "GET" && r.path === `/v2/files/${made.id}`).length;
    const before = reads();
    let job = new Promise<any>((resolve) => nr.node("out").on("input", (m: any) => m.topic === "putio/download/done" && resolve(m)));
    nr.node("dl").receive({ payload: transfer, file: made });
    let done = await job;
    assert.equal(done.payload.failed, 0);
    assert.ok(done.payload.downloaded >= 1);
    assert.equal(reads(), before, "put.io's file object came with the msg");
    // An object that is not this transfer's file is not trusted: the file is read from put.io.
    job = new Promise<any>((resolve) => nr.node("out").on("input", (m: any) => m.topic === "putio/download/done" && resolve(m)));
    nr.node("dl").receive({ payload: transfer, file: { ...made, id: made.id + 1000 } });
    done = await job;
    assert.equal(done.payload.failed, 0);
    assert.equal(reads(), before + 1);
  });

  it("progress output: at most one msg per second per file (counted), and the status is throttled too", async () => {
    const f = rig.emu.state.addFile(0, "slow.bin", { size: 6 * MiB, seed: 7 });
    // A bandwidth cap so the download takes a few seconds and the engine writes ~6 batches.
    await load({ progressOutput: true, bandwidthMBs: "2.5" }, 2);
    const progress: any[] = [];
    nr.node("progress").on("input", (m: any) => progress.push(m));
    const got = messages("out", 2);
    const started = Date.now();
    nr.node("dl").receive({ payload: f.id });
    const [file, job] = await got;
    const seconds = (Date.now() - started) / 1000;
    assert.equal(job.payload.downloaded, 1);
    assert.ok(fs.readFileSync(file.payload.path).equals(rig.emu.state.fileBytes(f.id)));
    assert.ok(progress.length >= 1, "some progress was reported");
    assert.ok(progress.length <= Math.ceil(seconds), `${progress.length} progress msgs in ${seconds.toFixed(1)} s`);
    for (const p of progress) {
      assert.equal(p.topic, "putio/download/progress");
      assert.equal(p.payload.fileId, f.id);
      assert.ok(p.payload.bytes > 0 && p.payload.bytes <= p.payload.size);
    }
    const busy = (nr.node("dl") as any).status.args.map((a: any[]) => a[0]).filter((s: any) => /%/.test(s.text ?? ""));
    assert.ok(busy.length <= Math.ceil(seconds), `${busy.length} status updates in ${seconds.toFixed(1)} s`);
  });

  it("job counts: identical files are skipped; a failed file reaches the Catch node, the job msg still comes, nothing is deleted", async () => {
    const folder = rig.emu.state.addFolder(0, "Batch");
    const a = rig.emu.state.addFile(folder.id, "a.mkv", { size: MiB, seed: 1 });
    const b = rig.emu.state.addFile(folder.id, "b.mkv", { size: MiB, seed: 2 });
    const c = rig.emu.state.addFile(folder.id, "c.mkv", { size: MiB, seed: 3 });
    fs.mkdirSync(path.join(rig.work, "Batch"));
    fs.writeFileSync(path.join(rig.work, "Batch", "a.mkv"), rig.emu.state.fileBytes(a.id));
    rig.emu.state.corruptCrc(c.id);
    await load({ deleteAfter: true });
    const out: any[] = [];
    nr.node("out").on("input", (m: any) => out.push(m));
    const caught = nextMessage("caught");
    nr.node("dl").receive({ payload: folder.id });
    const err = await caught;
    assert.match(err.error.message, /1 of 3 file\(s\) failed; nothing was deleted on put\.io\. First: .*CRC32/);
    const job = out.find((m) => m.topic === "putio/download/done");
    assert.deepEqual([job.payload.downloaded, job.payload.skipped, job.payload.failed], [1, 1, 1]);
    assert.deepEqual(job.payload.deletedFileIds, []);
    assert.equal(job.payload.errors[0].fileId, c.id);
    assert.ok(rig.emu.state.getFile(a.id) && rig.emu.state.getFile(b.id) && rig.emu.state.getFile(c.id));
    assert.ok(!fs.existsSync(path.join(rig.work, "Batch", "c.mkv")));
    assert.equal(crcHex(fs.readFileSync(path.join(rig.work, "Batch", "b.mkv"))), b.crc32);
    await statusMatching("dl", (s) => s.fill === "red");
  });

  it("bad input reaches the Catch node with a clear message", async () => {
    await load({});
    const caught = nextMessage("caught");
    nr.node("dl").receive({ payload: { id: 5, status: "DOWNLOADING", file_id: null } });
    const err = await caught;
    assert.match(err.error.message, /transfer 5 has no file yet \(status DOWNLOADING\)/);
  });

  it("an unlimited-speed window that is not a time (25:00, which the dialog's pattern lets through): a red node in the package's words, and each msg fails with it", async () => {
    await load({ bandwidthMBs: 1, unlimitedWindow: "25:00-07:00" });
    await statusMatching("dl", (s) => s.fill === "red" && /^read the download limits: "25:00/.test(s.text));
    const caught = nextMessage("caught");
    nr.node("dl").receive({ payload: 5 });
    const err = await caught;
    assert.match(err.error.message, /^read the download limits: "25:00-07:00" is not a time window like 01:00-07:00/);
    assert.equal(rig.emu.requests.length, 0, "nothing asked of put.io");
  });

  it("a target that cannot be used is a catchable error at once, and the job is not kept for a restart", async function () {
    if (process.platform !== "linux") this.skip();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
    const saved = { ...nr.helper._settings };
    try {
      nr.helper.settings({ ...saved, userDir });
      const f = rig.emu.state.addFile(0, "t.mkv", Buffer.from("t"));
      await load({ target: "/proc/putio-nas" });
      const caught = nextMessage("caught");
      nr.node("dl").receive({ payload: f.id });
      const err = await caught;
      assert.match(err.error.message, /the target folder "\/proc\/putio-nas" could not be created/);
      await statusMatching("dl", (s) => s.fill === "red");
      assert.ok(!fs.existsSync(path.join(userDir, "node-red-putio", "download-dl.json")), "nothing journaled");
      assert.equal(rig.emu.requests.filter((r) => r.path.startsWith("/download/")).length, 0);
    } finally {
      nr.helper.settings(saved);
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it("odd payloads (circular, BigInt) are clear catchable errors in the package's words", async () => {
    await load({});
    for (const payload of [
      (() => {
        const o: any = { a: 1 };
        o.self = o;
        return o;
      })(),
      BigInt(5),
      [1, [2]],
    ]) {
      const caught = nextMessage("caught");
      nr.node("dl").receive({ payload });
      const err = await caught;
      assert.match(err.error.message, /download: expected a put\.io file or folder id/);
      assert.doesNotMatch(err.error.message, /Converting circular|BigInt/);
    }
  });

  it("dry run (msg.dryRun or the node option): one msg listing local paths and deletes; nothing written or deleted", async () => {
    const folder = rig.emu.state.addFolder(0, "Dry");
    const a = rig.emu.state.addFile(folder.id, "z", Buffer.from("z"));
    const b = rig.emu.state.addFile(folder.id, "z.", Buffer.from("z."));
    for (const [nodeOption, msgFlag] of [
      [false, true],
      [true, undefined],
    ] as const) {
      await load({ deleteAfter: true, dryRun: nodeOption, target: path.join(rig.work, "lib") });
      const got = nextMessage("out");
      nr.node("dl").receive({ payload: folder.id, dryRun: msgFlag });
      const msg = await got;
      assert.equal(msg.topic, "putio/download/dry-run");
      assert.equal(msg.dryRun, true);
      assert.deepEqual(
        msg.payload.files.map((f: any) => f.path).sort(),
        [path.join(rig.work, "lib", "Dry", "z"), path.join(rig.work, "lib", "Dry", `z [putio-${b.id}]`)].sort(),
      );
      assert.deepEqual(new Set(msg.payload.wouldDeleteFileIds), new Set([a.id, b.id]));
      await statusMatching("dl", (s) => /dry run: 2 file/.test(s.text));
      await nr.helper.unload();
    }
    assert.deepEqual(fs.readdirSync(rig.work), []);
    assert.ok(rig.emu.state.getFile(a.id) && rig.emu.state.getFile(b.id));
    assert.equal(rig.emu.requests.filter((r) => r.path.startsWith("/download/") || r.path.includes("delete")).length, 0);
  });

  it("subtitles beside videos: written as <video>.<lang>.srt before put.io's copy is deleted, counted in the summary; a missing or failing one does not fail the job", async () => {
    const folder = rig.emu.state.addFolder(0, "Show");
    const a = rig.emu.state.addFile(folder.id, "Show.S01E01.mkv", Buffer.from("video one"));
    const b = rig.emu.state.addFile(folder.id, "Show.S01E02.mkv", Buffer.from("video two"));
    const notes = rig.emu.state.addFile(folder.id, "notes.txt", Buffer.from("not a video"));
    const srt = (text: string) => `1\n00:00:01,000 --> 00:00:02,000\n${text}\n`;
    addSubtitle(rig.emu.state, a.id, { language_code: "eng", text: srt("Hello") });
    addSubtitle(rig.emu.state, a.id, { language_code: "tur", text: srt("Merhaba") });
    addSubtitle(rig.emu.state, b.id, { language_code: "eng", text: srt("Bye") });
    rig.emu.knobs.subtitle404Next = 1; // one subtitle vanishes on put.io between listing and fetching
    await load({ subtitles: true, subtitleLanguages: "eng, tur", deleteAfter: true, source: "payload", sourceType: "msg" });
    const got = messages("out", 4);
    nr.node("dl").receive({ payload: folder.id });
    const job = (await got)[3];
    assert.equal(job.topic, "putio/download/done", JSON.stringify(job));
    const s = job.payload.subtitles;
    assert.equal(s.written + s.failed.length, 3, JSON.stringify(s));
    assert.equal(s.failed.length, 1);
    assert.equal(s.missing, 1, "episode 2 has no Turkish subtitle");
    const dir = path.dirname(job.payload.files[0].path);
    const local = fs.readdirSync(dir).sort();
    assert.ok(local.includes("Show.S01E01.mkv") && local.includes("Show.S01E02.mkv") && local.includes("notes.txt"));
    assert.equal(local.filter((n) => n.endsWith(".srt")).length, 2);
    for (const n of local.filter((x) => x.endsWith(".srt"))) assert.match(n, /^Show\.S01E0[12]\.(eng|tur)\.srt$/);
    // The subtitles were read before the delete, and the delete happened.
    const subtitleReads = rig.emu.requests.flatMap((r, i) => (/\/subtitles/.test(r.path) ? [i] : []));
    assert.ok(subtitleReads.length >= 3);
    const deleteAt = rig.emu.requests.findIndex((r) => r.path === "/v2/files/delete");
    assert.ok(deleteAt > 0 && subtitleReads.every((i) => i < deleteAt), "every subtitle read comes before the delete");
    assert.ok(!rig.emu.state.getFile(a.id) && !rig.emu.state.getFile(b.id) && !rig.emu.state.getFile(notes.id));
  });

  it("an outage is said in the status ('put.io unreachable, retrying n/11'), not as a frozen percentage, and the job goes on after it", async () => {
    const f = rig.emu.state.addFile(0, "outage.mkv", Buffer.from("x".repeat(100_000)));
    // Storage cuts its first 3 answers at byte 0 (retries 1, 2, 3 within a few seconds of backoff).
    rig.emu.knobs.cutDownloadAfterBytes = 0;
    rig.emu.knobs.cutsRemaining = 3;
    await load({});
    const got = messages("out", 2);
    nr.node("dl").receive({ payload: f.id });
    await statusMatching("dl", (s) => s.fill === "yellow" && /^put\.io unreachable, retrying [123]\/11$/.test(s.text));
    const [file, done] = await got;
    assert.ok(fs.readFileSync(file.payload.path).equals(rig.emu.state.fileBytes(f.id)));
    assert.equal(done.payload.downloaded, 1);
    await statusMatching("dl", (s) => s.fill === "green" && /1 downloaded/.test(s.text));
  });

  it("close (redeploy) aborts the download and leaves a resumable part that a new deploy resumes", async () => {
    const f = rig.emu.state.addFile(0, "long.mkv", { size: 4 * MiB, seed: 4 });
    rig.emu.knobs.stallDownloadAfterBytes = 2 * MiB;
    rig.emu.knobs.stallsRemaining = 1;
    await load({});
    nr.node("dl").receive({ payload: f.id });
    const side = path.join(rig.work, `.putio-${f.id}.part.json`);
    const saved = () => {
      try {
        return JSON.parse(fs.readFileSync(side, "utf8")).segments[0].pos >= MiB / 2;
      } catch {
        return false;
      }
    };
    while (!saved()) await new Promise((r) => setTimeout(r, 10));
    await nr.helper.unload();
    assert.ok(fs.existsSync(path.join(rig.work, `.putio-${f.id}.part`)));
    assert.ok(fs.existsSync(side));
    assert.ok(!fs.existsSync(path.join(rig.work, "long.mkv")));

    await load({});
    const got = messages("out", 2);
    nr.node("dl").receive({ payload: f.id });
    const [file] = await got;
    assert.equal(file.payload.resumed, true);
    assert.ok(file.payload.resumedBytes >= MiB / 2);
    assert.ok(fs.readFileSync(file.payload.path).equals(rig.emu.state.fileBytes(f.id)));
    assert.deepEqual(fs.readdirSync(rig.work), ["long.mkv"]);
  });

  it("a job interrupted by a Node-RED restart is run again at start: the part resumes, the msg is carried, the journal empties", async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
    const saved = { ...nr.helper._settings };
    try {
      nr.helper.settings({ ...saved, userDir });
      const f = rig.emu.state.addFile(0, "restart.mkv", { size: 4 * MiB, seed: 12 });
      rig.emu.knobs.stallDownloadAfterBytes = 2 * MiB;
      rig.emu.knobs.stallsRemaining = 1;
      await load({ stallMs: 60_000 });
      nr.node("dl").receive({ payload: f.id, keep: "me" });
      const side = path.join(rig.work, `.putio-${f.id}.part.json`);
      const journal = path.join(userDir, "node-red-putio", "download-dl.json");
      const progressed = () => {
        try {
          return JSON.parse(fs.readFileSync(side, "utf8")).segments[0].pos >= MiB;
        } catch {
          return false;
        }
      };
      while (!progressed()) await new Promise((r) => setTimeout(r, 10));
      const entries = Object.values(JSON.parse(fs.readFileSync(journal, "utf8")).jobs) as any[];
      assert.equal(entries.length, 1);
      assert.equal(entries[0].msg.payload, f.id);
      assert.ok(!JSON.stringify(entries).includes(rig.emu.token), "no token in the journal");

      await nr.stop(); // Node-RED stops mid-file
      assert.ok(fs.existsSync(path.join(rig.work, `.putio-${f.id}.part`)));
      assert.ok(!fs.existsSync(path.join(rig.work, "restart.mkv")));
      assert.ok(fs.existsSync(journal), "the unfinished job is kept");

      await nr.start();
      nr.helper.settings({ ...saved, userDir });
      await load({});
      const [file, job] = await messages("out", 2); // nobody sends anything: the node picks the job up itself
      assert.equal(file.topic, "putio/downloaded");
      assert.equal(file.keep, "me", "the original msg is carried on");
      assert.equal(file.payload.resumed, true);
      assert.ok(file.payload.resumedBytes >= MiB, String(file.payload.resumedBytes));
      assert.ok(fs.readFileSync(file.payload.path).equals(rig.emu.state.fileBytes(f.id)));
      assert.equal(job.payload.downloaded, 1);
      for (const m of [file, job])
        assert.deepEqual(
          Object.keys(m).filter((k) => k.startsWith("_putio")),
          [],
          "no marker field on a msg sent on",
        );
      for (let i = 0; i < 100 && fs.existsSync(journal); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(!fs.existsSync(journal), "a finished job is forgotten");
      assert.deepEqual(fs.readdirSync(rig.work), ["restart.mkv"]);
    } finally {
      nr.helper.settings(saved);
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it("a damaged journal at start: a warning says where it was kept (byte for byte), the node works on, nothing else in the folder is touched", async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
    const saved = { ...nr.helper._settings };
    try {
      nr.helper.settings({ ...saved, userDir });
      const journal = path.join(userDir, "node-red-putio", "download-dl.json");
      const torn = '{"v":1,"jobs":{"m1":{"msg":{"payload":';
      fs.mkdirSync(path.dirname(journal), { recursive: true });
      fs.writeFileSync(journal, torn);
      fs.writeFileSync(path.join(rig.work, "mine.txt"), "the user's");
      const f = rig.emu.state.addFile(0, "after.mkv", Buffer.from("after"));
      await load({});
      const warnings = () =>
        nr.helper
          .log()
          .args.map((a: any[]) => a[0])
          .filter((e: any) => e?.level === 30 && e.id === "dl")
          .map((e: any) => String(e.msg));
      for (let i = 0; i < 500 && !warnings().length; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(warnings().length, 1, "one warning");
      assert.match(
        warnings()[0]!,
        /^interrupted downloads were not resumed: read ".*download-dl\.json": the file is damaged \(.+\); it was kept as "download-dl\.json\.damaged"/,
      );
      assert.equal(fs.readFileSync(`${journal}.damaged`, "utf8"), torn);
      const got = messages("out", 2);
      nr.node("dl").receive({ payload: f.id });
      const [file] = await got;
      assert.equal(fs.readFileSync(file.payload.path, "utf8"), "after");
      assert.deepEqual(fs.readdirSync(rig.work).sort(), ["after.mkv", "mine.txt"]);
      assert.equal(fs.readFileSync(path.join(rig.work, "mine.txt"), "utf8"), "the user's");
    } finally {
      nr.helper.settings(saved);
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it("a job that finished (or failed) is not run again at the next start; removing the node forgets its jobs", async () => {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
    const saved = { ...nr.helper._settings };
    try {
      nr.helper.settings({ ...saved, userDir });
      const f = rig.emu.state.addFile(0, "done.mkv", Buffer.from("done"));
      await load({});
      const got = messages("out", 2);
      nr.node("dl").receive({ payload: f.id });
      await got;
      const bad = new Promise<any>((resolve) => nr.node("caught").on("input", resolve));
      nr.node("dl").receive({ payload: 987654321 });
      await bad;
      const journal = path.join(userDir, "node-red-putio", "download-dl.json");
      for (let i = 0; i < 100 && fs.existsSync(journal); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(!fs.existsSync(journal));
      await nr.stop();
      const before = rig.emu.requests.filter((r) => r.path.startsWith("/download/")).length;
      await nr.start();
      nr.helper.settings({ ...saved, userDir });
      await load({});
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rig.emu.requests.filter((r) => r.path.startsWith("/download/")).length, before, "nothing downloaded again");

      // A removed node: its journal goes with it.
      fs.mkdirSync(path.dirname(journal), { recursive: true });
      fs.writeFileSync(journal, JSON.stringify({ v: 1, jobs: { x: { msg: { payload: 1 }, since: 1 } } }));
      await nr.helper.setFlows(withTab([account()]), "full");
      for (let i = 0; i < 100 && fs.existsSync(journal); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(!fs.existsSync(journal));
    } finally {
      nr.helper.settings(saved);
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });
});
