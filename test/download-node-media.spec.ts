/**
 * The putio-download node's media options in a real Node-RED runtime: extract archives on put.io
 * first (password from the node's credentials or msg.password, never kept or sent on; a wrong one is
 * a catchable error with nothing written or deleted) and prefer the MP4 version.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PutioClient } from "../lib/client";
import { convertToMp4AndWait } from "../lib/media-jobs";
import { buildZip } from "./emulator/archives";
import { whileClockRuns } from "./support/emulator-clock";
import { catchAll, messages, nextMessage, nr, statusMatching, type FlowNode } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";

const downloadNode = require("../nodes/putio-download");

describe("putio-download node: extract first, prefer MP4 @nr", function () {
  this.timeout(30_000);
  const secret = "zip-s3cret";
  const rig = useNodeRed({ work: "putio-dlm-", userDir: true });

  async function load(dl: Partial<FlowNode>, creds: Record<string, string> = {}): Promise<void> {
    const flow = [
      rig.account(),
      { id: "dl", type: "putio-download", account: "acc", target: rig.work, targetType: "str", wires: [["out"]], ...dl },
      { id: "out", type: "helper" },
      catchAll("c", "caught"),
      { id: "caught", type: "helper" },
    ];
    await rig.load([downloadNode], flow, { acc: { accessToken: rig.emu.token }, dl: creds });
  }
  const journalFile = () => path.join(rig.userDir, "node-red-putio", "download-dl.json");
  /** Moves put.io's clock on until `p` settles (the extraction waits on it). */
  const clockWhile = <T>(p: Promise<T>) => whileClockRuns(rig.emu, p, 200);

  it("msg.password: extracted, downloaded, parts left; the password is in no msg sent, no journal, no status", async () => {
    const folder = rig.emu.state.addFolder(0, "Release");
    const zip = rig.emu.state.addFile(folder.id, "release.zip", buildZip([{ name: "Release.mkv", data: Buffer.from("the release") }], { password: secret }));
    await load({ extract: true, deleteAfter: true });
    const statuses: string[] = [];
    nr.node("dl").on("call:status", (call: any) => statuses.push(JSON.stringify(call.args[0])));
    const got = messages("out", 2);
    nr.node("dl").receive({ payload: folder.id, password: secret });
    // The job is journaled before put.io is asked: the journal must not hold the password.
    const journaled = await new Promise<string>((resolve) => {
      const look = () => (fs.existsSync(journalFile()) ? resolve(fs.readFileSync(journalFile(), "utf8")) : setTimeout(look, 10));
      look();
    });
    assert.match(journaled, /Release|"payload"/);
    assert.ok(!journaled.includes(secret), "no password in the journal");
    const [file, job] = await clockWhile(got);
    assert.equal(file.payload.path, path.join(rig.work, "Release", "Release.mkv"));
    assert.equal(fs.readFileSync(file.payload.path, "utf8"), "the release");
    assert.equal(job.topic, "putio/download/done");
    assert.deepEqual(job.payload.extraction, { archives: ["release.zip"], partsSkipped: 1 });
    assert.ok(rig.emu.state.getFile(zip.id), "the archive (never on disk) stays on put.io");
    for (const m of [file, job]) assert.ok(!JSON.stringify(m).includes(secret), "no password in a msg sent on");
    assert.ok(
      statuses.some((x) => /extracting on put\.io: release\.zip/.test(x)),
      statuses.join("\n"),
    );
    assert.ok(!statuses.join("\n").includes(secret));
    assert.deepEqual(fs.readdirSync(rig.work), ["Release"]);
  });

  it("the node's password (credentials) is used; a wrong msg.password is a catchable error naming the archive, nothing written or deleted", async () => {
    const folder = rig.emu.state.addFolder(0, "Locked");
    rig.emu.state.addFile(folder.id, "locked.zip", buildZip([{ name: "film.mkv", data: Buffer.from("film") }], { password: secret }));
    await load({ extract: true, deleteAfter: true }, { archivePassword: secret });
    const caught = nextMessage("caught");
    nr.node("dl").receive({ payload: folder.id, password: "wrong one" });
    const err = await clockWhile(caught);
    assert.equal(err.error.code, "extract.wrong-password");
    assert.match(err.error.message, /locked\.zip/);
    assert.ok(!JSON.stringify(err).includes("wrong one") && !JSON.stringify(err).includes(secret));
    await statusMatching("dl", (s) => s.fill === "red");
    assert.deepEqual(fs.readdirSync(rig.work), []);
    assert.ok(!rig.emu.requests.some((r) => r.path === "/v2/files/delete"));
    // Without msg.password the node's own works.
    const got = messages("out", 2);
    nr.node("dl").receive({ payload: folder.id });
    const [file] = await clockWhile(got);
    assert.equal(fs.readFileSync(file.payload.path, "utf8"), "film");
  });

  it("a restart after put.io extracted and before the download ended: the job resumes without extracting a second copy", async () => {
    const MiB = 1024 * 1024;
    const folder = rig.emu.state.addFolder(0, "Big");
    rig.emu.state.addFile(folder.id, "big.zip", buildZip([{ name: "Big.mkv", data: Buffer.alloc(4 * MiB, 9) }]));
    rig.emu.knobs.stallDownloadAfterBytes = MiB;
    rig.emu.knobs.stallsRemaining = 1;
    await load({ extract: true, stallMs: 60_000 });
    nr.node("dl").receive({ payload: folder.id, keep: "me" });
    const extractedKept = () => fs.existsSync(journalFile()) && fs.readFileSync(journalFile(), "utf8").includes('"extracted"');
    const progressed = () => {
      try {
        const dir = path.join(rig.work, "Big");
        const side = fs.readdirSync(dir).find((n) => n.endsWith(".part.json"));
        return side !== undefined && JSON.parse(fs.readFileSync(path.join(dir, side), "utf8")).segments[0].pos >= MiB / 2;
      } catch {
        return false;
      }
    };
    await clockWhile(
      (async () => {
        while (!extractedKept() || !progressed()) await new Promise((r) => setTimeout(r, 10));
      })(),
    );
    const extracts = () => rig.emu.requests.filter((r) => r.method === "POST" && r.path === "/v2/files/extract").length;
    assert.equal(extracts(), 1);
    await nr.stop(); // Node-RED stops mid-file, after the extraction
    await nr.start();
    rig.settings({ userDir: rig.userDir });
    await load({ extract: true });
    const [file, job] = await clockWhile(messages("out", 2)); // the node picks the job up itself
    assert.equal(file.keep, "me");
    assert.equal(file.payload.resumed, true);
    assert.ok(fs.readFileSync(file.payload.path).equals(Buffer.alloc(4 * MiB, 9)));
    assert.deepEqual(job.payload.extraction, { archives: ["big.zip"], partsSkipped: 1 });
    assert.equal(extracts(), 1, "put.io is not asked to extract again");
    const copies = [...rig.emu.state.files.values()].filter((n) => n.name === "Big.mkv");
    assert.equal(copies.length, 1, "one extracted copy on put.io");
  });

  it("prefer MP4: the converted video arrives as <name>.mp4 with variant mp4", async () => {
    const folder = rig.emu.state.addFolder(0, "Films");
    const v = rig.emu.state.addFile(folder.id, "Film.mkv", Buffer.alloc(150_000, 7));
    const c = new PutioClient({ apiUrl: rig.emu.apiUrl, token: rig.emu.token });
    const mp4 = await whileClockRuns(rig.emu, convertToMp4AndWait(c, v.id, { pollMs: 2, maxPollMs: 10 }));
    await c.close();
    await load({ preferMp4: true });
    const got = messages("out", 2);
    nr.node("dl").receive({ payload: "/Films" });
    const [file, job] = await got;
    assert.equal(file.payload.variant, "mp4");
    assert.equal(file.payload.path, path.join(rig.work, "Films", "Film.mp4"));
    assert.equal(fs.statSync(file.payload.path).size, mp4.size);
    assert.equal(job.payload.downloaded, 1);
  });
});
