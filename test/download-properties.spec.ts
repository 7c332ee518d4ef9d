/**
 * Property-based tests of the download engine (fast-check, seeded and shrinking): random remote
 * trees with hostile names, random local files already in the target (look-alikes of ours, links
 * leading out), random policies, cuts, Range-ignoring storage and restarts mid-job. After every
 * case the invariants that make "delete from put.io after a verified download" safe must hold.
 *
 * `npm test` runs a fixed number of cases; `PROPERTY_RUNS=10000 npx mocha dist/test/download-properties.spec.js`
 * (or `npm run chaos`) many more; `PROPERTY_SEED=n` replays a run.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import fc from "fast-check";
import { PutioClient } from "../lib/client";
import { DownloadScheduler, type CollisionPolicy, type FileResult, type JobResult } from "../lib/download";
import { foldName } from "../lib/local";
import { startEmulator, type Emulator } from "./emulator";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined;
const MiB = 1024 * 1024;

/** Pieces of names that have bitten file tools: separators, dots, case, Unicode forms, our own suffixes. */
const PIECES = [
  "a",
  "A",
  "z",
  "Z",
  ".",
  "..",
  " ",
  ":",
  "?",
  "*",
  "_",
  "\\",
  "<",
  "\u00e9",
  "e\u0301",
  "\ufb01",
  "fi",
  "\u0131",
  "I",
  "CON",
  "nul",
  "com1",
  ".part",
  ".part.json",
  ".putio-",
  "1",
  "\u0000",
  "\t",
  "\ud800",
  "\u{1f600}",
  ".mkv",
  ".MKV",
  "~",
  "[putio-1]",
  " (1)",
];
const nameArb = fc.oneof(
  { weight: 12, arbitrary: fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 4 }).map((p) => p.join("")) },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(250), "\u00e9".repeat(126) + ".mkv", "\u{1f600}".repeat(62) + ".srt", "y".repeat(236) + " [putio-9]") },
);

interface RemoteTreeSpec {
  files: Array<{ name: string; size: number }>;
  folders: Array<{ name: string; files: Array<{ name: string; size: number }> }>;
}

const sizeArb = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 3000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2 * MiB, max: 2 * MiB + 5000 }) },
);
/** put.io keeps names unique (exactly) within a folder; everything else is allowed here. */
const filesArb = (max: number) => fc.uniqueArray(fc.record({ name: nameArb, size: sizeArb }), { maxLength: max, selector: (f) => f.name });
const treeArb: fc.Arbitrary<RemoteTreeSpec> = fc
  .record({ files: filesArb(6), folders: fc.uniqueArray(fc.record({ name: nameArb, files: filesArb(4) }), { maxLength: 2, selector: (f) => f.name }) })
  .filter((t) => new Set([...t.files.map((f) => f.name), ...t.folders.map((f) => f.name)]).size === t.files.length + t.folders.length);

/** Local entries placed in the target before the job: look-alikes, our temp names, links leading out. */
const localArb = fc.array(
  fc.record({
    at: fc.constantFrom("top", "folder0"),
    name: fc.oneof(nameArb, fc.constantFrom("TEMP", "STATE", "SAME")),
    pick: fc.nat(20),
    kind: fc.constantFrom("file", "identical", "link"),
  }),
  { maxLength: 5 },
);

const caseArb = fc.record({
  tree: treeArb,
  local: localArb,
  policy: fc.constantFrom<CollisionPolicy>("skip-identical", "overwrite", "keep-both"),
  deleteAfter: fc.boolean(),
  ignoreRange: fc.boolean(),
  /** Connections per file: adaptive (the default) or a fixed 3. */
  auto: fc.boolean(),
  cuts: fc.option(fc.record({ after: fc.integer({ min: 1, max: 2000 }), count: fc.integer({ min: 1, max: 3 }) }), { nil: null }),
  /** Abort the first run after this many files ended (a Node-RED restart), then run again. */
  restartAfter: fc.option(fc.nat(6), { nil: null }),
});

type Snapshot = Map<string, { kind: "file"; bytes: Buffer } | { kind: "link"; to: string }>;

function snapshot(dir: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) out.set(p, { kind: "link", to: fs.readlinkSync(p) });
      else if (e.isDirectory()) walk(p);
      else out.set(p, { kind: "file", bytes: fs.readFileSync(p) });
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

const crcHex = (b: Buffer) => (zlib.crc32(b) >>> 0).toString(16).padStart(8, "0");

describe("download properties (fast-check)", function () {
  this.timeout(Math.max(120_000, RUNS * 3_000));
  let emu: Emulator;
  let client: PutioClient;
  let work: string;
  let n = 0;

  before(async () => {
    emu = await startEmulator();
    client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-prop-"));
  });
  after(async () => {
    await client.close();
    await emu.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it(`${RUNS} random trees, local files, policies, cuts and restarts keep every invariant`, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const caseDir = path.join(work, `case-${n++}`);
        const target = path.join(caseDir, "target");
        const outside = path.join(caseDir, "outside.txt");
        fs.mkdirSync(target, { recursive: true });
        fs.writeFileSync(outside, "outside the target");
        Object.assign(emu.knobs, { ignoreRange: c.ignoreRange, cutDownloadAfterBytes: c.cuts?.after ?? null, cutsRemaining: c.cuts?.count ?? null });

        // The remote tree, under a folder of its own.
        const root = emu.state.addFolder(0, `case ${n}`);
        const remote = new Map<number, Buffer>();
        const add = (parent: number, f: { name: string; size: number }) => {
          const file = emu.state.addFile(parent, f.name, { size: f.size, seed: remote.size + 1 });
          remote.set(file.id, emu.state.fileBytes(file.id));
          return file.id;
        };
        for (const f of c.tree.files) add(root.id, f);
        for (const d of c.tree.folders) {
          const folder = emu.state.addFolder(root.id, d.name);
          for (const f of d.files) add(folder.id, f);
        }
        const allIds = [...remote.keys()];

        // Local entries before the job: placed where the remote names would land after plain cleaning.
        const topDir = path.join(target, root.name);
        for (const l of c.local) {
          const dir =
            l.at === "folder0" && c.tree.folders.length
              ? path.join(topDir, c.tree.folders[0].name.replace(/[\u0000-\u001f/\\<>:"|?*]/g, "_").replace(/[. ]+$/, "") || "_")
              : topDir;
          const someId = allIds.length ? allIds[l.pick % allIds.length] : 1;
          const name =
            l.name === "TEMP"
              ? `.putio-${someId}.part`
              : l.name === "STATE"
                ? `.putio-${someId}.part.json`
                : l.name === "SAME" && allIds.length
                  ? emu.state.getFile(someId)!.name
                  : l.name;
          const clean = name.replace(/[\u0000-\u001f/\\<>:"|?*]/g, "_").replace(/\ud800/g, "_");
          if (!clean || clean === "." || clean === "..") continue;
          const p = path.join(dir, clean);
          if (path.relative(target, p).startsWith("..")) continue;
          try {
            fs.mkdirSync(dir, { recursive: true });
            if (fs.existsSync(p) || fs.lstatSync(p, { throwIfNoEntry: false })) continue;
            if (l.kind === "link") fs.symlinkSync(outside, p);
            else fs.writeFileSync(p, l.kind === "identical" && allIds.length ? remote.get(someId)! : Buffer.from(`the user's own ${name}`));
          } catch {
            /* a name this file system refuses (too long, a folder in the way): not placed */
          }
        }
        const before = snapshot(target);
        const outsideBefore = fs.readFileSync(outside);

        const overwritten = new Set<string>();
        const run = async (signal?: AbortSignal, onEnd?: () => void): Promise<JobResult> => {
          const onFile = (f: FileResult) => {
            if (c.policy === "overwrite" && f.status === "downloaded") overwritten.add(f.path);
            onEnd?.();
          };
          const s = new DownloadScheduler(
            client,
            { filesAtOnce: 3, segmentThreshold: MiB, connectionsPerFile: c.auto ? "auto" : 3 },
            { engine: { stallMs: 5_000, backoffBaseMs: 1, backoffMaxMs: 5, checkpointMs: 20, retries: 4 } },
          );
          try {
            return await s.run({ source: { folderId: root.id }, target, ifExists: c.policy, deleteAfter: c.deleteAfter ? {} : null, signal, onFile });
          } finally {
            await s.close();
          }
        };
        let r: JobResult | null = null;
        if (c.restartAfter !== null) {
          const ac = new AbortController();
          let ended = 0;
          if (c.restartAfter === 0) ac.abort(new Error("restart"));
          // A first run that ends before the "restart" is the job's result (a second run would see its deletes).
          r = await run(ac.signal, () => {
            if (++ended >= c.restartAfter!) ac.abort(new Error("restart"));
          }).catch(() => null);
        }
        emu.knobs.cutsRemaining = 0; // the run after a restart may still see cuts from the first one
        r ??= await run();

        // 1. Every remote file is accounted for: downloaded, skipped as identical, or failed.
        assert.equal(r.files.length + r.errors.length, allIds.length, "every file has an outcome");
        // 2. Local paths are distinct, also folded, and inside the target.
        const keys = r.files.map((f) => foldName(f.path));
        assert.equal(new Set(keys).size, keys.length, `distinct local paths: ${r.files.map((f) => f.path).join(" | ")}`);
        for (const f of r.files) assert.ok(!path.relative(target, f.path).startsWith(".."), `inside the target: ${f.path}`);
        // 3. Every file reported is at its path with put.io's CRC32 (and bytes), not behind a link.
        for (const f of r.files) {
          assert.ok(!fs.lstatSync(f.path).isSymbolicLink(), `${f.path} is not a link`);
          const bytes = fs.readFileSync(f.path);
          assert.equal(crcHex(bytes), crcHex(remote.get(f.fileId)!), `crc of ${f.path}`);
          assert.ok(bytes.equals(remote.get(f.fileId)!));
        }
        // 4. Deletes: only after a job with no failure, only verified files, and they are gone on put.io.
        if (!c.deleteAfter || r.errors.length) assert.deepEqual(r.deletedFileIds, []);
        const verified = new Set(r.files.map((f) => f.fileId));
        for (const id of r.deletedFileIds) assert.ok(verified.has(id), `deleted ${id} was verified`);
        for (const id of allIds) assert.equal(!emu.state.getFile(id), r.deletedFileIds.includes(id), `put.io file ${id} deleted only if reported`);
        // 5. Pre-existing local entries: links untouched; files untouched unless overwritten by a download (either run).
        const after = snapshot(target);
        for (const [p, was] of before) {
          const now = after.get(p);
          assert.ok(now, `pre-existing ${p} still there`);
          if (was.kind === "link") assert.deepEqual(now, was, `link ${p} untouched`);
          else if (!overwritten.has(p)) assert.ok(now.kind === "file" && now.bytes.equals(was.bytes), `pre-existing ${p} unchanged`);
        }
        // 6. Nothing outside the target changed; no temp file of ours is left after a job without failures.
        assert.ok(fs.readFileSync(outside).equals(outsideBefore), "the file outside is unchanged");
        assert.deepEqual(fs.readdirSync(caseDir).sort(), ["outside.txt", "target"]);
        if (!r.errors.length) {
          const temps = [...after.keys()].filter((p) => path.basename(p).startsWith(".putio-") && !before.has(p));
          assert.deepEqual(temps, [], "no temp file left");
        }
        // Failures are only the expected kinds here: refusals of entries that are not ours.
        for (const e of r.errors)
          assert.match(e.error.message, /left it alone|symbolic link|leads outside the target|is not a folder|no free name/, e.error.message);
        fs.rmSync(caseDir, { recursive: true, force: true });
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
