/**
 * The download node's journaled runner (lib/download/journaled-run.ts) on its own, without
 * Node-RED: each "instance" below is what one start of a node holds (a crash is an instance that is
 * simply dropped, its file left as the crash left it), on a real journal file; and the one atomic
 * state-file writer both journals use (lib/local/state-file.ts).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { PutioAbortError } from "../lib/core/errors";
import { t } from "../lib/core/texts";
import { JobJournal, JournaledJobs, type ExtractionDone, type JobEnd, type JobMsg } from "../lib/download";
import { CopyJournal } from "../lib/copy";
import { StateFile, nodeFs, type LocalFs } from "../lib/local";
import { tree } from "./support/files";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 30);
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined;

describe("download journal: jobs that outlive a restart", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-journaled-"));
    file = path.join(dir, "node-red-putio", "download-dl.json");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const instance = () => new JournaledJobs({ file, attempted: t("putio-download.op.download") });
  const open = () => new AbortController();
  /** A deliver that records what went out. */
  const outbox = () => {
    const sent: JobMsg[] = [];
    return { sent, deliver: (m: JobMsg) => void sent.push(m) };
  };
  const done = <M extends JobMsg>(msg: M, n: number): JobEnd<M> => ({ out: { ...msg, topic: "putio/download/done", payload: { downloaded: n } }, error: null });
  const jobsOnDisk = () => (fs.existsSync(file) ? Object.keys(JSON.parse(fs.readFileSync(file, "utf8")).jobs) : []);

  it("a crash mid-job: the next start receives the same msg (same _msgid, no added field), runs it once more without extracting again, and forgets it once sent", async () => {
    const extraction: ExtractionDone = { archives: ["Show.rar"], partIds: [11, 12], topIds: [13] };
    const a = instance();
    const msg = { _msgid: "m1", payload: 42, keep: "me", req: { socket: {} } };
    const job = await a.admit(msg, open().signal, () => assert.fail("nothing is sent before the job ends"));
    let crash!: () => void;
    const running = job!.run(async ({ extracted, onExtracted }) => {
      assert.equal(extracted, null, "a new job has extracted nothing yet");
      onExtracted(extraction);
      await new Promise<void>((resolve) => (crash = resolve));
      throw new Error("the process is gone: never concluded");
    });
    while (!crash || !fs.readFileSync(file, "utf8").includes("Show.rar")) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(jobsOnDisk(), ["m1"]);

    // The crash: instance a is dropped as it is (no close, no conclusion).
    const b = instance();
    const left = await b.leftover();
    assert.deepEqual(left, [{ _msgid: "m1", payload: 42, keep: "me" }], "the msg as accepted, without http-in objects or markers");
    const { sent, deliver } = outbox();
    const again = await b.admit(left[0]!, open().signal, deliver);
    assert.ok(again, "a job, not an outcome");
    let seen: ExtractionDone | null = null;
    const end = await again.run(async ({ extracted }) => {
      seen = extracted;
      return done(left[0]!, 1);
    });
    assert.deepEqual(seen, extraction, "what put.io extracted before the crash is not asked again");
    assert.deepEqual(end.out?.payload, { downloaded: 1 });
    assert.deepEqual(
      sent.map((m) => m.topic),
      ["putio/download/done"],
    );
    assert.ok(!fs.existsSync(file), "a finished job is forgotten (an empty journal is no file)");
    await b.close(false);
    assert.deepEqual(await instance().leftover(), [], "nothing runs a third time");
    crash();
    await running.catch(() => {});
  });

  it("a second crash after the restart still knows the extraction (it is kept with the resumed job)", async () => {
    const extraction: ExtractionDone = { archives: ["a.zip"], partIds: [1], topIds: [2, 3] };
    const j = new JobJournal(file);
    await j.put("m1", { msg: { _msgid: "m1", payload: 1 }, since: 5, extracted: extraction });
    const b = instance();
    const [msg] = await b.leftover();
    const job = await b.admit(msg!, open().signal, () => {});
    let crash!: () => void;
    void job!.run(() => new Promise<JobEnd>((resolve) => (crash = () => resolve({ out: null, error: null }))));
    while (!crash) await new Promise((r) => setTimeout(r, 5));
    const [, entry] = (await new JobJournal(file).pending())[0]!;
    assert.deepEqual(entry.extracted, extraction);
    crash();
  });

  it("a job that ended while its node closed: the outcome goes out once at the next start and the job is never run again", async () => {
    const a = instance();
    const closing = open();
    const msg = { _msgid: "m2", payload: 7 };
    const sentByA = outbox();
    const job = await a.admit(msg, closing.signal, sentByA.deliver);
    await job!.run(async () => {
      closing.abort(new PutioAbortError("close"));
      return done(msg, 3);
    });
    assert.deepEqual(sentByA.sent, [], "a closing node's sends are dropped by Node-RED: nothing sent");
    await a.close(false);

    const b = instance();
    const left = await b.leftover();
    assert.equal(left.length, 1);
    assert.deepEqual(left[0], { _msgid: "m2", payload: { downloaded: 3 }, topic: "putio/download/done" }, "the outcome msg, under the job's _msgid");
    const { sent, deliver } = outbox();
    assert.equal(await b.admit(left[0]!, open().signal, deliver), null, "not a job");
    assert.deepEqual(sent, [left[0]], "delivered once");
    assert.ok(!fs.existsSync(file));
    // The same _msgid again (a flow that loops the msg back): a new job, not the outcome once more.
    const rerun = await b.admit({ ...left[0]! }, open().signal, deliver);
    assert.ok(rerun);
    assert.equal(sent.length, 1);
    await rerun.run(async () => ({ out: null, error: null }));
    await b.close(false);
    assert.deepEqual(await instance().leftover(), []);
  });

  it("a failure that ended while its node closed is thrown once at the next start", async () => {
    const a = instance();
    const closing = open();
    const job = await a.admit({ _msgid: "m3", payload: 1 }, closing.signal, () => {});
    await job!.run(async () => {
      closing.abort();
      throw new Error("no such file on put.io");
    });
    await a.close(false);
    const b = instance();
    const left = await b.leftover();
    assert.deepEqual(left, [{ _msgid: "m3", payload: 1 }], "no outcome msg: the msg as accepted");
    const { sent, deliver } = outbox();
    await assert.rejects(b.admit(left[0]!, open().signal, deliver), /no such file on put\.io/);
    assert.deepEqual(sent, []);
    assert.deepEqual(await instance().leftover(), [], "the error went out: forgotten");
  });

  it("aborted by the close itself, the job stays for the next start; a msg arriving while the node closes is kept, not run", async () => {
    const a = instance();
    const closing = open();
    const job = await a.admit({ _msgid: "m4", payload: 1 }, closing.signal, () => {});
    await assert.rejects(
      job!.run(async () => {
        closing.abort();
        throw new PutioAbortError("download");
      }),
      PutioAbortError,
    );
    await assert.rejects(
      a.admit({ _msgid: "m5", payload: 2 }, closing.signal, () => {}),
      PutioAbortError,
    );
    await a.close(false);
    assert.deepEqual(
      (await instance().leftover()).map((m) => m._msgid),
      ["m4", "m5"],
    );
  });

  it("what a start feeds back while the node is already closing again stays as it was: an outcome not sent yet, a job with its extraction", async () => {
    const extraction: ExtractionDone = { archives: ["x.rar"], partIds: [4], topIds: [5] };
    const j = new JobJournal(file);
    await j.put("job", { msg: { _msgid: "job", payload: 1 }, since: 1, extracted: extraction });
    await j.put("out", { msg: { _msgid: "out", payload: 2 }, since: 2, outcome: { msg: { _msgid: "out", topic: "putio/download/done" }, error: null } });
    await j.close();
    const before = fs.readFileSync(file, "utf8");
    const b = instance();
    const closing = open();
    closing.abort();
    const { sent, deliver } = outbox();
    for (const msg of await b.leftover()) await assert.rejects(b.admit(msg, closing.signal, deliver), PutioAbortError);
    await b.close(false);
    assert.deepEqual(sent, [], "a closing node sends nothing");
    assert.equal(fs.readFileSync(file, "utf8"), before, "both kept as they were for the next start");
  });

  it("a damaged journal is a clear error once, kept aside byte for byte, and the node starts afresh; nothing else in the folder is touched", async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const garbage = '{"v":1,"jobs":{"m1":{"msg":{"payload":1}'; // torn
    fs.writeFileSync(file, garbage);
    fs.writeFileSync(`${file}.damaged`, "an earlier damaged copy");
    fs.writeFileSync(path.join(path.dirname(file), "mine.txt"), "the user's");
    const b = instance();
    await assert.rejects(b.leftover(), (err: Error & { code?: string }) => {
      assert.equal(err.code, "local.state-file-damaged");
      assert.match(
        err.message,
        /^read ".*download-dl\.json": the file is damaged \(.+\); it was kept as "download-dl\.json\.damaged-2" and work goes on without it$/,
      );
      return true;
    });
    assert.equal(fs.readFileSync(`${file}.damaged-2`, "utf8"), garbage);
    assert.equal(fs.readFileSync(`${file}.damaged`, "utf8"), "an earlier damaged copy");
    assert.deepEqual(await b.leftover(), [], "said once; then an empty journal");
    const job = await b.admit({ _msgid: "n1", payload: 5 }, open().signal, () => {});
    await job!.run(async () => {
      assert.deepEqual(jobsOnDisk(), ["n1"], "a fresh journal is written");
      return { out: null, error: null };
    });
    assert.deepEqual(tree(path.dirname(file)), ["download-dl.json.damaged", "download-dl.json.damaged-2", "mine.txt"]);
    for (const bad of ["[]", "null", "7"]) {
      fs.writeFileSync(file, bad);
      await assert.rejects(new JobJournal(file).pending(), /the file is damaged/, bad);
    }
  });

  it("a journal that cannot be read at all is left as it is and never written over", async () => {
    fs.mkdirSync(file, { recursive: true }); // a folder where the file should be: EISDIR
    fs.writeFileSync(path.join(file, "inside"), "x");
    const b = instance();
    await assert.rejects(b.leftover(), (err: Error & { code?: string }) => err.code === "local.state-file-unreadable" && /EISDIR/.test(err.message));
    const job = await b.admit({ _msgid: "n2", payload: 5 }, open().signal, () => {});
    await job!.run(async () => ({ out: null, error: null }));
    await b.close(true);
    assert.deepEqual(tree(file), ["inside"]);
  });

  it("entries of a wrong shape are left out; an extraction of a wrong shape is dropped, the job kept", async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const good = { archives: ["a.rar"], partIds: [1], topIds: [2] };
    fs.writeFileSync(
      file,
      JSON.stringify({
        v: 1,
        jobs: {
          a: { msg: { payload: 1 }, since: 1, extracted: good },
          b: { msg: 5 },
          c: null,
          d: { msg: { payload: 2 }, since: 2, extracted: { archives: "x" } },
        },
      }),
    );
    const entries = await new JobJournal(file).pending();
    assert.deepEqual(entries, [
      ["a", { msg: { payload: 1 }, since: 1, extracted: good }],
      ["d", { msg: { payload: 2 }, since: 2 }],
    ]);
  });

  /**
   * A model of a node's life: msgs arrive, jobs end (well or with an error), the node closes while
   * jobs run (each either stopped by the close or ending during it), a msg arrives during a close,
   * Node-RED crashes (the instance is dropped as it is). Whatever the order, once every job may end,
   * every msg accepted has exactly one outcome (its msg sent, or its error thrown), none is sent
   * by a closing node, and the journal ends empty.
   */
  it("any schedule of msgs, job ends, closes and crashes: every msg's outcome exactly once, none sent while closing (fast-check)", async function () {
    this.timeout(120_000);
    type Action =
      { kind: "send" } | { kind: "finish"; pick: number; fail: boolean } | { kind: "close"; stopped: boolean[]; lateSend: boolean } | { kind: "crash" };
    const action: fc.Arbitrary<Action> = fc.oneof(
      { arbitrary: fc.constant({ kind: "send" as const }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant("finish" as const), pick: fc.nat(), fail: fc.boolean() }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant("close" as const), stopped: fc.array(fc.boolean(), { maxLength: 6 }), lateSend: fc.boolean() }), weight: 1 },
      { arbitrary: fc.constant({ kind: "crash" as const }), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 25 }), async (actions) => {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
        const outcomes = new Map<string, string[]>();
        const note = (id: string, what: string) => outcomes.set(id, [...(outcomes.get(id) ?? []), what]);
        const accepted: string[] = [];
        type Running = { id: string; end: (e: JobEnd | Error) => void; settled: Promise<void> };
        let running: Running[] = [];
        let jobs = instance();
        let closing = open();
        let next = 0;
        /** What node.receive does with a msg: admit it, run its job until the work waits for its end. */
        const receive = async (msg: JobMsg) => {
          const id = String(msg._msgid);
          const signal = closing.signal;
          const deliver = (out: JobMsg) => {
            assert.ok(!signal.aborted, `${id} sent by a closing node`);
            note(id, `sent ${String(out.payload)}`);
          };
          let job;
          try {
            job = await jobs.admit(msg, signal, deliver);
          } catch (err) {
            if (!(err instanceof PutioAbortError)) note(id, `error ${(err as Error).message}`);
            return;
          }
          if (!job) return;
          let started!: () => void;
          const working = new Promise<void>((r) => (started = r));
          let end!: (e: JobEnd | Error) => void;
          const settled = job
            .run(async () => {
              started();
              const e = await new Promise<JobEnd | Error>((r) => (end = r));
              if (e instanceof Error) throw e;
              return e;
            })
            .then(
              () => {},
              (err: Error) => {
                if (!(err instanceof PutioAbortError)) note(id, `error ${err.message}`);
              },
            );
          await Promise.race([working, settled]);
          running.push({ id, end: (e) => end(e), settled });
        };
        const restart = async () => {
          jobs = instance();
          closing = open();
          running = [];
          for (const msg of await jobs.leftover()) await receive(msg);
        };
        const fresh = async () => {
          const id = `m${next++}`;
          accepted.push(id);
          await receive({ _msgid: id, payload: id });
        };
        for (const a of actions) {
          if (a.kind === "send") await fresh();
          else if (a.kind === "finish" && running.length) {
            const [r] = running.splice(a.pick % running.length, 1);
            r!.end(a.fail ? new Error(`failed ${r!.id}`) : { out: { _msgid: r!.id, payload: `done ${r!.id}` }, error: null });
            await r!.settled;
          } else if (a.kind === "close") {
            closing.abort();
            running.forEach((r, i) => r.end(a.stopped[i] ? new PutioAbortError("download") : { out: { _msgid: r.id, payload: `done ${r.id}` }, error: null }));
            await Promise.all(running.map((r) => r.settled));
            if (a.lateSend) await fresh();
            await jobs.close(false);
            await restart();
          } else if (a.kind === "crash") await restart(); // the old instance's jobs never end
        }
        // Every job may end now, over as many starts as it takes.
        for (let round = 0; round < 20 && (running.length || (await new JobJournal(file).pending()).length); round++) {
          for (const r of running.splice(0)) {
            r.end({ out: { _msgid: r.id, payload: `done ${r.id}` }, error: null });
            await r.settled;
          }
          await jobs.close(false);
          await restart();
        }
        await jobs.close(false);
        for (const id of accepted) assert.equal(outcomes.get(id)?.length, 1, `${id}: ${JSON.stringify(outcomes.get(id))}`);
        assert.ok(!fs.existsSync(file), "the journal ends empty");
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });

  describe("StateFile: the one atomic writer", () => {
    it("writes land in order, each whole; null removes the file; a failed write leaves no temp file and the next one works", async () => {
      const s = new StateFile(file);
      await Promise.all([s.write("1"), s.write("2"), s.write(null), s.write("4")]);
      assert.equal(fs.readFileSync(file, "utf8"), "4");
      assert.deepEqual(tree(path.dirname(file)), ["download-dl.json"], "no temp file left");
      let fail = true;
      const failing: LocalFs = {
        ...nodeFs,
        rename: async (from, to) => {
          if (fail) throw Object.assign(new Error("ENOSPC"), { code: "ENOSPC" });
          return nodeFs.rename(from, to);
        },
      };
      const f = new StateFile(file, failing);
      await assert.rejects(f.write("5"), /ENOSPC/);
      fail = false;
      assert.equal(fs.readFileSync(file, "utf8"), "4", "the old state stays whole");
      assert.deepEqual(tree(path.dirname(file)), ["download-dl.json"], "the failed write's temp file is gone");
      await f.write("6");
      assert.equal(fs.readFileSync(file, "utf8"), "6");
      await f.write(null);
      await f.write(null);
      assert.ok(!fs.existsSync(file));
      assert.equal(await f.read(), null, "no file: no state");
    });

    it("peek reads without changing anything: a damaged file reads as none and stays; read then sets it aside; an unreadable one fails alike", async () => {
      const s = new StateFile(file);
      assert.equal(await s.peek(), null, "no file");
      await s.write('{"running":true}');
      assert.deepEqual(await s.peek(), { running: true });
      for (const torn of ['{"running":tr', "[1]", "null", "7"]) {
        fs.writeFileSync(file, torn);
        assert.equal(await s.peek(), null, torn);
        assert.deepEqual(tree(path.dirname(file)), ["download-dl.json"], `${torn}: nothing set aside`);
        assert.equal(fs.readFileSync(file, "utf8"), torn);
      }
      await assert.rejects(s.read(), { code: "local.state-file-damaged" });
      assert.deepEqual(tree(path.dirname(file)), ["download-dl.json.damaged"], "read sets it aside");
      fs.mkdirSync(file);
      await assert.rejects(s.peek(), (err: any) => err.code === "local.state-file-unreadable" && /EISDIR/.test(err.message));
      assert.ok(fs.statSync(file).isDirectory(), "left as it is");
    });

    it("a link where the file or its temp file goes is replaced, never followed", async () => {
      const outside = path.join(dir, "outside.txt");
      fs.writeFileSync(outside, "theirs");
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.symlinkSync(outside, file);
      await new StateFile(file).write("ours");
      assert.equal(fs.readFileSync(outside, "utf8"), "theirs");
      assert.equal(fs.readFileSync(file, "utf8"), "ours");
      assert.ok(!fs.lstatSync(file).isSymbolicLink());
    });
  });
});

describe("account copy journal: a damaged or unreadable file", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-copy-journal-"));
    file = path.join(dir, "account-copy-n1.json");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a damaged journal is said once and kept aside byte for byte; the journal starts afresh and writes anew", async () => {
    fs.writeFileSync(file, '{"jobs": {"a": ');
    const journal = new CopyJournal(file);
    await assert.rejects(journal.pendingJobs(), (err: Error & { code?: string }) => err.code === "local.state-file-damaged");
    assert.deepEqual(await journal.pendingJobs(), [], "said once; nothing under way");
    assert.equal(fs.readFileSync(`${file}.damaged`, "utf8"), '{"jobs": {"a": ', "kept aside as it was");
    await journal.putJob("k", { msg: { payload: 1 }, since: 1 });
    await journal.close();
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(file, "utf8")).jobs), ["k"]);
  });

  it("a journal that cannot be read at all is never written over", async () => {
    fs.mkdirSync(file); // a folder where the file should be
    fs.writeFileSync(path.join(file, "keep.txt"), "the user's");
    const journal = new CopyJournal(file);
    await assert.rejects(journal.pendingJobs(), (err: Error & { code?: string }) => err.code === "local.state-file-unreadable");
    await journal.putJob("k", { msg: { payload: 1 }, since: 1 });
    await journal.close();
    assert.equal(fs.readFileSync(path.join(file, "keep.txt"), "utf8"), "the user's");
  });
});
