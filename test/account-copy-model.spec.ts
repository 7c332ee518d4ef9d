/**
 * A model-based test of lib/copy as a copy node runs it (fast-check commands): copy jobs into the
 * same or different folders of B, the clock moving, restarts (killed, stopped, redeployed), the
 * node removed, lost answers and B's failures, interleaved. After every step: B's targets hold at
 * most one copy of each source file, nothing of the user's on B changed, and no text of a job or
 * of its journal holds a storage URL or a token. After the last step and a re-run: exactly one
 * verified copy of each file in each folder asked for, no transfer left, no stray, an empty journal.
 *
 * `npm test` runs a fixed number of cases; `PROPERTY_RUNS=500 npx mocha dist/test/account-copy-model.spec.js`
 * (as `npm run chaos` does) runs more.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { PutioClient } from "../lib/client";
import { CopyJournal, copyBetweenAccounts, pollingWaiter, undoCopies, type CopyLedger, type CopyRecord, type CopySummary } from "../lib/copy";
import type { ApiFault } from "./emulator/knobs";
import { Emulator, startEmulator } from "./emulator";
import { allText } from "./support/copy-accounts";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 12);
const SEED = Number(process.env.PROPERTY_SEED ?? 2929);
const TARGETS = ["T1", "T2"] as const;
type Target = (typeof TARGETS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Job {
  target: Target;
  ac: AbortController;
  settled: boolean;
  outcome: CopySummary | Error | null;
}

/** The system under test: two emulated accounts, the copy node's journal and its live jobs. */
class World {
  a!: PutioClient;
  b!: PutioClient;
  journal!: CopyJournal;
  /** The current process's ledger: stops writing (hangs) once the process is killed. */
  dead = { value: false };
  live: Job[] = [];
  /** Jobs the node accepted and has not finished (the node runs them again at its next start). */
  pending: Target[] = [];
  /** Every outcome seen, for the text check. */
  outcomes: unknown[] = [];
  tokenB!: string;
  folders = new Map<Target, number>();
  showId = 0;
  sourceFiles = new Map<string, string>();
  userFiles: Array<{ id: number; json: string }> = [];

  constructor(
    readonly emu: Emulator,
    readonly dir: string,
  ) {}

  get journalFile() {
    return path.join(this.dir, "account-copy.json");
  }

  async setup(sizes: number[]): Promise<void> {
    const { emu } = this;
    this.tokenB = emu.addUser({ username: "b" }).token;
    const show = emu.state.addFolder(0, "Show");
    this.showId = show.id;
    sizes.forEach((size, i) => {
      const f = emu.state.addFile(show.id, `E0${i}.mkv`, crypto.randomBytes(size));
      this.sourceFiles.set(f.name, `${f.size}:${f.crc32}`);
    });
    // The user's own things on B, around and inside the targets.
    for (const t of TARGETS) this.folders.set(t, emu.state.addFolder(0, t, this.tokenB).id);
    const mine = [
      emu.state.addFile(0, "mine.txt", crypto.randomBytes(77), {}, this.tokenB),
      emu.state.addFile(this.folders.get("T1")!, "notes.txt", crypto.randomBytes(33), {}, this.tokenB),
      emu.state.addFolder(this.folders.get("T2")!, "Keep", this.tokenB),
    ];
    this.userFiles = mine.map((f) => ({ id: f.id, json: JSON.stringify(this.userView(f.id)) }));
    this.newProcess();
  }

  private userView(id: number) {
    const f = this.emu.state.getFile(id, this.tokenB);
    return f && { id: f.id, name: f.name, parent: f.parent_id, size: f.size, crc32: f.crc32 };
  }

  /** A new Node-RED process: new clients (no claim of a dead job survives), the journal read from disk. */
  newProcess(): void {
    const retry = { baseDelayMs: 1, maxDelayMs: 5, retries: 3 };
    this.a = new PutioClient({ token: this.emu.token, apiUrl: this.emu.apiUrl, retry });
    this.b = new PutioClient({ token: this.tokenB, apiUrl: this.emu.apiUrl, retry });
    this.newJournal();
  }

  newJournal(): void {
    this.journal = new CopyJournal(this.journalFile);
    this.dead = { value: false };
  }

  private ledger(): CopyLedger {
    const journal = this.journal;
    const dead = this.dead;
    const hang = () => new Promise<void>(() => {});
    return {
      records: () => journal.records(),
      put: (r: CopyRecord) => (dead.value ? hang() : journal.put(r)),
      remove: (s: number, p: number) => (dead.value ? hang() : journal.remove(s, p)),
    };
  }

  start(target: Target): Job {
    const job: Job = { target, ac: new AbortController(), settled: false, outcome: null };
    const p = copyBetweenAccounts({
      from: this.a,
      to: this.b,
      sourceId: this.showId,
      targetFolderId: this.folders.get(target)!,
      concurrency: 2,
      addAttempts: 3,
      addBackoffMs: { base: 1, max: 5 },
      waitFor: pollingWaiter(this.b, { baseMs: 2, maxMs: 10 }),
      journal: this.ledger(),
      signal: job.ac.signal,
    });
    p.then(
      (s) => {
        job.outcome = s;
        // Ended (not interrupted): the node forgets the job.
        const i = this.pending.indexOf(target);
        if (i >= 0) this.pending.splice(i, 1);
      },
      (e: Error) => (job.outcome = e),
    ).finally(() => {
      job.settled = true;
      this.live = this.live.filter((j) => j !== job);
      this.outcomes.push(job.outcome);
    });
    this.live.push(job);
    return job;
  }

  /** Until every live job ended (the clock moves meanwhile). */
  async settle(): Promise<void> {
    for (let i = 0; i < 600 && this.live.length; i++) {
      await this.emu.advance(1000);
      await sleep(5);
    }
    assert.equal(this.live.length, 0, "every job ends");
  }

  /** Abort every live job and wait for each to end. */
  async abortAll(): Promise<void> {
    const jobs = [...this.live];
    jobs.forEach((j) => j.ac.abort());
    for (let i = 0; i < 1000 && jobs.some((j) => !j.settled); i++) await sleep(5);
    assert.ok(
      jobs.every((j) => j.settled),
      "an aborted job ends",
    );
  }

  check(): void {
    const { emu, tokenB } = this;
    // Nothing of the user's changed, nothing of theirs in the trash.
    for (const u of this.userFiles) assert.equal(JSON.stringify(this.userView(u.id)), u.json, "a file of the user's on B changed");
    const trashed = new Set(emu.state.trashed(tokenB).map((x) => x.id as number));
    for (const u of this.userFiles) assert.ok(!trashed.has(u.id), "a file of the user's went to the trash");
    // At most one copy of each source file per target (under any name, anywhere below it).
    const wanted = new Set(this.sourceFiles.values());
    for (const t of TARGETS) {
      const seen = new Map<string, number>();
      const walk = (id: number) => {
        for (const f of emu.state.listChildren(id, tokenB)) {
          if (f.file_type === "FOLDER") walk(f.id);
          else if (wanted.has(`${f.size}:${f.crc32}`)) seen.set(`${f.size}:${f.crc32}`, (seen.get(`${f.size}:${f.crc32}`) ?? 0) + 1);
        }
      };
      walk(this.folders.get(t)!);
      for (const [content, n] of seen) assert.ok(n <= 1, `${n} copies of ${content} in ${t}`);
    }
    // No storage URL, signature or token in any text of a job or in the journal.
    const journalText = fs.existsSync(this.journalFile) ? fs.readFileSync(this.journalFile, "utf8") : "";
    const text = allText(this.outcomes) + journalText;
    for (const needle of ["/download/", "?u=", emu.token, tokenB]) assert.ok(!text.includes(needle), `"${needle}" in a text: ${text.slice(0, 500)}`);
  }

  async close(): Promise<void> {
    this.live.forEach((j) => j.ac.abort());
    await Promise.all([this.a.close(), this.b.close()]).catch(() => {});
  }
}

type Model = { live: number; requested: Set<Target> };
type Cmd = fc.AsyncCommand<Model, World>;

const cmd = (name: string, check: (m: Model) => boolean, run: (m: Model, w: World) => Promise<void>): Cmd => ({
  check,
  async run(m, w) {
    await run(m, w);
    await sleep(10);
    w.check();
  },
  toString: () => name,
});

const commands: Array<fc.Arbitrary<Cmd>> = [
  fc.constantFrom(...TARGETS).map((t) =>
    cmd(
      `start(${t})`,
      (m) => m.live < 3,
      async (m, w) => {
        m.requested.add(t);
        m.live++;
        w.pending.push(t);
        w.start(t);
      },
    ),
  ),
  fc.constantFrom(1000, 2000, 5000).map((ms) =>
    cmd(
      `tick(${ms})`,
      () => true,
      async (m, w) => {
        await w.emu.advance(ms);
        await sleep(15);
        m.live = w.live.length;
      },
    ),
  ),
  fc.constant(
    cmd(
      "settle",
      () => true,
      async (m, w) => {
        await w.settle();
        m.live = 0;
      },
    ),
  ),
  fc.tuple(fc.constantFrom("kill", "stop", "redeploy"), fc.constantFrom(0, 3000, 10_000)).map(([how, downMs]) =>
    cmd(
      `restart(${how}, B goes on ${downMs} ms meanwhile)`,
      () => true,
      async (m, w) => {
        if (how === "kill") {
          // SIGKILL: no code of the old process runs again; its jobs are left hanging, its clients are dropped.
          w.dead.value = true;
          const [a, b] = [w.a, w.b];
          w.newProcess();
          // Whatever the old jobs would still send goes nowhere.
          await Promise.all([a.close(), b.close()]).catch(() => {});
          w.live.forEach((j) => j.ac.abort());
          w.live = [];
        } else {
          await w.abortAll();
          await w.journal.close();
          if (how === "stop") w.newProcess();
          else w.newJournal();
        }
        // B goes on while the node is down: transfers finish under put.io's names.
        if (downMs) await w.emu.advance(downMs);
        // The node starts again and runs the jobs it had not finished.
        for (const t of [...w.pending]) w.start(t);
        m.live = w.live.length;
      },
    ),
  ),
  fc.constant(
    cmd(
      "remove node",
      () => true,
      async (m, w) => {
        await w.abortAll();
        // The undo is tested against B's failures elsewhere; here it runs on a healthy B.
        const faults = w.emu.knobs.apiFaults;
        w.emu.knobs.apiFaults = [];
        await undoCopies(w.b, w.journal);
        w.emu.knobs.apiFaults = faults;
        await w.journal.discard();
        w.pending = [];
        w.newJournal();
        m.live = 0;
      },
    ),
  ),
  fc.constant(
    cmd(
      "lost answer",
      () => true,
      async (_m, w) => {
        w.emu.knobs.apiFaults.push({ method: "POST", path: "/v2/transfers/add", token: w.tokenB, status: 502, after: true, times: 1 });
      },
    ),
  ),
  fc
    .record({
      route: fc.constantFrom<Pick<ApiFault, "method" | "path">>(
        { method: "POST", path: "/v2/transfers/add" },
        { method: "GET", path: /^\/v2\/transfers\/\d+$/ },
        { method: "POST", path: "/v2/transfers/clean" },
        { method: "GET", path: /^\/v2\/files\/\d+$/ },
        { method: "POST", path: "/v2/files/rename" },
        { method: "POST", path: "/v2/files/create-folder" },
        { method: "GET", path: "/v2/files/list" },
        { method: "POST", path: "/v2/files/delete" },
      ),
      status: fc.constantFrom(400, 403, 404, 500, 502, 503),
      after: fc.boolean(),
    })
    .map(({ route, status, after }) =>
      cmd(
        `B fails ${route.method} ${String(route.path)} ${status}${after ? " after" : ""}`,
        () => true,
        async (_m, w) => {
          w.emu.knobs.apiFaults.push({ ...route, token: w.tokenB, status, after, times: 1, message: 'Refused "{url}"' });
        },
      ),
    ),
];

describe("lib/copy: model-based (jobs, restarts, removal, lost answers, B's failures)", function () {
  this.timeout(Math.max(300_000, RUNS * 20_000));

  it(`property (${RUNS} runs): at most one copy of each file and nothing of the user's changed after every step; one verified copy each and nothing else after a re-run`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 4 }),
        fc.commands(commands, { maxCommands: 25 }),
        async (sizes, cmds) => {
          const emu = await startEmulator();
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-copy-model-"));
          const w = new World(emu, dir);
          try {
            await w.setup(sizes);
            const model: Model = { live: 0, requested: new Set() };
            await fc.asyncModelRun(() => ({ model, real: w }), cmds);
            // The end: B healthy again, every job ended, then a re-run of each folder asked for.
            emu.knobs.apiFaults = [];
            await w.settle();
            for (const t of w.pending.splice(0)) w.start(t);
            await w.settle();
            const reruns: CopySummary[] = [];
            for (const t of model.requested) {
              const job = w.start(t);
              await w.settle();
              assert.ok(!(job.outcome instanceof Error), `re-run of ${t}: ${String(job.outcome)}`);
              reruns.push(job.outcome as CopySummary);
            }
            w.check();
            for (const s of reruns) assert.deepEqual(s.failed, []);
            for (const t of TARGETS) {
              const show = emu.state.listChildren(w.folders.get(t)!, w.tokenB).filter((f) => f.name === "Show");
              if (!model.requested.has(t)) {
                assert.deepEqual(show, []);
                continue;
              }
              assert.equal(show.length, 1);
              assert.deepEqual(new Map(emu.state.listChildren(show[0]!.id, w.tokenB).map((f) => [f.name, `${f.size}:${f.crc32}`])), w.sourceFiles);
            }
            assert.deepEqual(emu.state.transfers(w.tokenB), []);
            assert.deepEqual(await w.journal.records(), []);
          } finally {
            await w.close();
            await emu.close();
            fs.rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
