/**
 * The sync planner (lib/sync/planner.ts): examples, and fast-check properties over random put.io
 * trees with hostile names, random states and random local folders: nothing outside the target,
 * nothing trashed unless asked, no file the sync did not write is moved over or replaced, and a
 * plan applied (in memory) then planned again is all skips. Also the executor on a real disk
 * with a link inside the target.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { PutioClient } from "../lib/client";
import { DownloadScheduler } from "../lib/download";
import { foldName } from "../lib/local/names";
import { nodeFs, type LocalFs } from "../lib/local/fs";
import { lockPath, tryLock } from "../lib/local/locks";
import {
  executePlan,
  interrupted,
  isSafeRelPath,
  planSync,
  runSync,
  scanSyncTarget,
  STATE_FILE,
  type LocalEntry,
  type PlanAction,
  type PlanOptions,
  type SyncRemoteItem,
  type StateEntry,
} from "../lib/sync";
import { startEmulator } from "./emulator";

const both: PlanOptions = { propagateDeletes: true, removeExtras: true, listing: "verified" };
const none: PlanOptions = { propagateDeletes: false, removeExtras: false, listing: "verified" };
const file = (p: string, size: number, mtimeMs = 1): LocalEntry => ({ path: p, kind: "file", size, mtimeMs });
const kinds = (a: PlanAction[]) => a.map((x) => x.kind).sort();

describe("sync planner", () => {
  it("a swap of two synced files is two moves, no download; a case-only rename is a move", () => {
    const remote: SyncRemoteItem[] = [
      { folders: [], id: 1, name: "b.txt", size: 1, crc32: "00000001" },
      { folders: [], id: 2, name: "a.txt", size: 2, crc32: "00000002" },
      { folders: [], id: 3, name: "C.txt", size: 3, crc32: "00000003" },
    ];
    const state = new Map<number, StateEntry>([
      [1, { path: "a.txt", size: 1, crc32: "00000001", mtimeMs: 1 }],
      [2, { path: "b.txt", size: 2, crc32: "00000002", mtimeMs: 1 }],
      [3, { path: "c.txt", size: 3, crc32: "00000003", mtimeMs: 1 }],
    ]);
    const plan = planSync(remote, state, [file("a.txt", 1), file("b.txt", 2), file("c.txt", 3)], none);
    assert.deepEqual(kinds(plan.actions), ["rename", "rename", "rename"]);
  });

  it("a state file that names paths outside the target is ignored; a user file in a move's way stops the move", () => {
    const remote: SyncRemoteItem[] = [{ folders: [], id: 1, name: "x.txt", size: 1, crc32: null }];
    const bad = new Map<number, StateEntry>([[1, { path: "../../etc/passwd", size: 1, crc32: null, mtimeMs: 1 }]]);
    assert.deepEqual(
      planSync(remote, bad, [], both).actions.map((a) => a.kind),
      ["download"],
    );
    const state = new Map<number, StateEntry>([[1, { path: "old.txt", size: 1, crc32: null, mtimeMs: 1 }]]);
    const plan = planSync(remote, state, [file("old.txt", 1), file("x.txt", 5)], none);
    assert.deepEqual(plan.actions, [{ kind: "conflict", id: 1, path: "x.txt", reason: "user-file" }]);
  });

  describe("properties", () => {
    const NAMES = ["a", "A", "..", ".", "caf\u00e9", "cafe\u0301", "x:y", "con", ".putio-sync.json", " ", "b.txt", "B.TXT", "a/b", "\u0000"];
    const name = fc.constantFrom(...NAMES);
    /** A put.io tree: folders (ids 1000+) under earlier folders or the root, files (ids 1+) in them. */
    const tree = fc
      .record({
        folders: fc.array(fc.record({ name, parent: fc.nat() }), { maxLength: 5 }),
        files: fc.array(fc.record({ name, parent: fc.nat(), size: fc.integer({ min: 0, max: 3 }), crc: fc.integer({ min: 0, max: 2 }) }), { maxLength: 10 }),
      })
      .map(({ folders, files }) => {
        const chains: Array<Array<{ id: number; name: string }>> = [[]];
        folders.forEach((f, i) => chains.push([...chains[f.parent % chains.length]!, { id: 1000 + i, name: f.name }]));
        return files.map((f, i): SyncRemoteItem => ({
          folders: chains[f.parent % chains.length]!,
          id: i + 1,
          name: f.name,
          size: f.size,
          crc32: String(f.crc).padStart(8, "0"),
        }));
      });
    const relPath = fc
      .array(fc.constantFrom("a", "A", "b.txt", "B.TXT", "caf\u00e9", "cafe\u0301", "_", "..", "TV"), { minLength: 1, maxLength: 3 })
      .map((p) => p.join("/"));
    const world = tree.chain((remote) =>
      fc.record({
        remote: fc.constant(remote),
        state: fc.array(
          fc.record({ id: fc.integer({ min: 1, max: 14 }), path: relPath, size: fc.integer({ min: 0, max: 3 }), crc: fc.integer({ min: 0, max: 2 }) }),
          {
            maxLength: 8,
          },
        ),
        local: fc.array(
          fc.record({ path: relPath, size: fc.integer({ min: 0, max: 3 }), crc: fc.integer({ min: 0, max: 2 }), mtime: fc.integer({ min: 1, max: 2 }) }),
          {
            maxLength: 8,
          },
        ),
        /** Local copies of state entries as the sync left them. */
        intact: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        /** The copy at a state's path is another file (the user replaced it): another inode. */
        replaced: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        opts: fc.record({
          propagateDeletes: fc.boolean(),
          removeExtras: fc.boolean(),
          listing: fc.constantFrom<PlanOptions["listing"]>("verified", "unverified", "held"),
        }),
      }),
    );

    interface Disk {
      files: Map<string, { path: string; size: number; crc: string; mtimeMs: number; ino: number }>;
    }
    function build(w: any) {
      const state = new Map<number, StateEntry>();
      const disk: Disk = { files: new Map() };
      // A disk holds no file below another file ("a" and "a/b"): such worlds cannot exist.
      const fits = (p: string) => ![...disk.files.keys()].some((k) => (k + "/").startsWith(foldName(p) + "/") || (foldName(p) + "/").startsWith(k + "/"));
      w.state.forEach((s: any, i: number) => {
        if (state.has(s.id)) return;
        const crc = String(s.crc).padStart(8, "0");
        state.set(s.id, { path: s.path, size: s.size, crc32: crc, mtimeMs: 1, ino: s.id });
        const ino = w.replaced[i] ? 5000 + s.id : s.id;
        if (w.intact[i] && isSafeRelPath(s.path) && fits(s.path)) disk.files.set(foldName(s.path), { path: s.path, size: s.size, crc, mtimeMs: 1, ino });
      });
      for (const l of w.local) {
        if (!isSafeRelPath(l.path) || !fits(l.path)) continue;
        disk.files.set(foldName(l.path), { path: l.path, size: l.size, crc: String(l.crc).padStart(8, "0"), mtimeMs: l.mtime, ino: 9000 + disk.files.size });
      }
      return { state, disk };
    }
    /** The files and, as a scan lists them, the folders they are in. */
    const localOf = (disk: Disk): LocalEntry[] => {
      const dirs = new Map<string, string>();
      for (const f of disk.files.values()) {
        const parts = f.path.split("/");
        for (let i = 1; i < parts.length; i++) dirs.set(foldName(parts.slice(0, i).join("/")), parts.slice(0, i).join("/"));
      }
      return [
        ...[...dirs.values()].map((p): LocalEntry => ({ path: p, kind: "dir", size: 0, mtimeMs: 0 })),
        ...[...disk.files.values()].map((f): LocalEntry => ({ ...file(f.path, f.size, f.mtimeMs), ino: f.ino })),
      ];
    };

    /** The executor's effect, in memory (adoptions and "replace" keep a file whose CRC already matches). */
    function apply(actions: PlanAction[], remote: SyncRemoteItem[], state: Map<number, StateEntry>, disk: Disk, tick: { n: number }): void {
      const byId = new Map(remote.map((r) => [r.id, r]));
      const setState = (id: number, e: StateEntry) => {
        for (const [other, s] of state) if (other !== id && foldName(s.path) === foldName(e.path)) state.delete(other);
        state.set(id, e);
      };
      const put = (p: string, size: number, crc: string) => disk.files.set(foldName(p), { path: p, size, crc, mtimeMs: 100 + tick.n, ino: 100 + tick.n++ });
      for (const a of actions) {
        if (a.kind !== "trash") continue;
        disk.files.delete(foldName(a.path));
        if (a.id !== null) state.delete(a.id);
      }
      const parked = actions.filter((a) => a.kind === "rename").map((a) => ({ a, f: disk.files.get(foldName((a as any).from))!, e: state.get(a.id)! }));
      for (const { a } of parked) disk.files.delete(foldName((a as any).from));
      for (const { a, f, e } of parked) {
        const r = a as Extract<PlanAction, { kind: "rename" }>;
        assert.ok(!disk.files.has(foldName(r.to)), "a move lands on a free place");
        disk.files.set(foldName(r.to), { ...f, path: r.to });
        setState(r.id, { ...e, path: r.to });
      }
      for (const a of actions) {
        const r = a.kind === "download" || a.kind === "adopt" ? byId.get(a.id)! : null;
        if (a.kind === "adopt") {
          const f = disk.files.get(foldName(a.path))!;
          if (f.crc === r!.crc32) setState(a.id, { path: a.path, size: f.size, crc32: r!.crc32, mtimeMs: f.mtimeMs, ino: f.ino });
        } else if (a.kind === "download") {
          const f = disk.files.get(foldName(a.path));
          if (!a.replace) assert.equal(f, undefined, `a new download lands on a free place: ${a.path}`);
          else assert.ok(f, "a replace replaces a file of ours");
          if (!(a.replace && f && f.size === r!.size && f.crc === r!.crc32)) put(a.path, r!.size, r!.crc32!);
          const g = disk.files.get(foldName(a.path))!;
          setState(a.id, { path: a.path, size: g.size, crc32: r!.crc32, mtimeMs: g.mtimeMs, ino: g.ino });
        } else if (a.kind === "forget" && foldName(state.get(a.id)?.path ?? "") === foldName(a.path)) state.delete(a.id);
        else if (a.kind === "wait" && a.mark && state.has(a.id)) state.get(a.id)!.goneSince = 1;
      }
      const waiting = new Set(actions.filter((a) => a.kind === "wait").map((a) => a.id));
      for (const id of [...state.keys()]) if (!byId.has(id) && !waiting.has(id)) state.delete(id);
    }

    it("never leaves the target, never trashes unless asked, never moves onto or replaces a file the sync did not write", () => {
      fc.assert(
        fc.property(world, (w) => {
          const { state, disk } = build(w);
          // The sync's files: at a state's path, with the inode it recorded (a replaced copy is the user's).
          const ours = new Set(
            [...state.values()].filter((s) => isSafeRelPath(s.path) && disk.files.get(foldName(s.path))?.ino === s.ino).map((s) => foldName(s.path)),
          );
          const plan = planSync(w.remote, state, localOf(disk), w.opts);
          const vacated = new Set<string>();
          for (const a of plan.actions) {
            for (const p of [(a as any).path, (a as any).from, (a as any).to].filter((x) => x !== undefined)) {
              assert.ok(isSafeRelPath(p) || disk.files.has(foldName(p)), `unsafe path ${JSON.stringify(p)}`);
              const full = path.resolve("/target", ...p.split("/"));
              assert.ok(full.startsWith("/target/"), full);
            }
            if (a.kind === "trash") {
              assert.ok(ours.has(foldName(a.path)) ? w.opts.propagateDeletes || w.opts.removeExtras : w.opts.removeExtras, "trash only when asked");
              vacated.add(foldName(a.path));
            }
            if (a.kind === "rename") {
              assert.ok(ours.has(foldName(a.from)), "only files of the sync move");
              vacated.add(foldName(a.from));
            }
          }
          for (const a of plan.actions) {
            if (a.kind === "rename" || (a.kind === "download" && !a.replace)) {
              const to = a.kind === "rename" ? a.to : a.path;
              const there = disk.files.get(foldName(to));
              assert.ok(!there || vacated.has(foldName(to)), `${a.kind} onto an occupied place ${to}`);
            }
            if (a.kind === "download" && a.replace) {
              const renamedHere = plan.actions.some((b) => b.kind === "rename" && b.id === a.id);
              assert.ok(renamedHere || ours.has(foldName(a.path)), "replace only a file of the sync");
            }
          }
        }),
        { numRuns: 400 },
      );
    });

    it("trashes or forgets a file put.io's listing lacks only with proof, never on a listing that contradicted itself, never one changed since the sync wrote it", () => {
      fc.assert(
        fc.property(world, fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), (w, gone) => {
          const { state, disk } = build(w);
          // Some entries were already missing from an earlier run's listing.
          [...state.values()].forEach((s, i) => gone[i] && (s.goneSince = 1));
          const plan = planSync(w.remote, state, localOf(disk), w.opts);
          const onPutio = new Set(w.remote.map((r) => r.id));
          const statePaths = new Map([...state].map(([id, s]) => [foldName(s.path), id]));
          for (const a of plan.actions) {
            if ((a.kind === "trash" || a.kind === "forget") && a.id !== null && !onPutio.has(a.id)) {
              assert.notEqual(w.opts.listing, "held", `removed on a held listing: ${JSON.stringify(a)}`);
              const s = state.get(a.id)!;
              assert.ok((w.opts.listing === "verified" && s.size > 0) || s.goneSince !== undefined, `removed without proof: ${JSON.stringify(a)}`);
            }
            if (a.kind === "trash" && a.id !== null) {
              const s = state.get(a.id)!;
              const f = disk.files.get(foldName(a.path))!;
              assert.ok(f.ino === s.ino && f.size === s.size && f.mtimeMs === s.mtimeMs, "only an unchanged file of the sync is trashed");
            }
            if (a.kind === "trash" && w.opts.listing === "held") {
              // Only an old copy of a file put.io still has (it got a new place) may go.
              const id = statePaths.get(foldName(a.path));
              assert.ok(id !== undefined && onPutio.has(id), `trashed on a held listing: ${JSON.stringify(a)}`);
            }
          }
        }),
        { numRuns: 400 },
      );
    });

    it("a plan applied, then planned again, is only skips (and the conflicts and failed adoptions that were there)", () => {
      fc.assert(
        fc.property(world, (w) => {
          const { state, disk } = build(w);
          const tick = { n: 0 };
          let plan = planSync(w.remote, state, localOf(disk), w.opts);
          apply(plan.actions, w.remote, state, disk, tick);
          // A file missing from a listing that could not be checked goes once a second run misses it
          // too, a forgotten file is an extra the run after (a second look again), an adopted file
          // spelled otherwise on disk gets its name the run after: at most three more runs.
          const more = (p: typeof plan) =>
            p.extras.length > 0 ||
            p.actions.some((a) => (a.kind === "wait" && a.mark) || a.kind === "forget" || (a.kind === "adopt" && a.path !== p.wanted.get(a.id)));
          for (let round = 0; round < 3 && more(plan); round++) {
            plan = planSync(w.remote, state, localOf(disk), { ...w.opts, extrasBefore: new Set(plan.extras) });
            apply(plan.actions, w.remote, state, disk, tick);
          }
          const again = planSync(w.remote, state, localOf(disk), { ...w.opts, extrasBefore: new Set(plan.extras) });
          const byId = new Map(w.remote.map((r) => [r.id, r]));
          for (const a of again.actions) {
            if (a.kind === "skip" || a.kind === "conflict") continue;
            // Held: a listing that contradicted itself removes nothing, run after run.
            if (a.kind === "wait" && w.opts.listing === "held" && !a.mark) continue;
            if (a.kind === "adopt" && disk.files.get(foldName(a.path))!.crc !== byId.get(a.id)!.crc32) continue;
            assert.fail(`second plan still does ${JSON.stringify(a)} (first: ${JSON.stringify(plan.actions)})`);
          }
          assert.deepEqual(
            again.actions.filter((a) => a.kind === "conflict").map((a) => a.path),
            plan.actions.filter((a) => a.kind === "conflict").map((a) => a.path),
          );
        }),
        { numRuns: 400 },
      );
    });
  });

  describe("executor on a real disk", function () {
    this.timeout(30_000);
    it("a link inside the target that leads outside is never written through", async () => {
      const emu = await startEmulator();
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sync-link-"));
      const client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl });
      const scheduler = new DownloadScheduler(client);
      try {
        const m = emu.state.addFolder(0, "Media");
        const tv = emu.state.addFolder(m.id, "TV");
        emu.state.addFile(tv.id, "a.mkv", Buffer.from("a"));
        emu.state.addFile(m.id, "ok.txt", Buffer.from("ok"));
        const target = path.join(work, "target");
        const outside = path.join(work, "outside");
        fs.mkdirSync(target);
        fs.mkdirSync(outside);
        fs.symlinkSync(outside, path.join(target, "TV"));
        const r = await runSync(client, scheduler, { folder: "/Media", target, signal: new AbortController().signal });
        assert.deepEqual(
          r.failed.map((f) => f.path),
          ["TV/a.mkv"],
        );
        assert.deepEqual(r.copied, [{ path: "ok.txt", size: 2 }]);
        assert.deepEqual(fs.readdirSync(outside), [], "nothing written outside the target");
      } finally {
        await scheduler.close();
        await client.close();
        await emu.close();
        fs.rmSync(work, { recursive: true, force: true });
      }
    });

    /** An emulator with /Media holding a.mkv and b.mkv, a client, a scheduler and an empty work folder. */
    async function world(
      fn: (w: {
        emu: Awaited<ReturnType<typeof startEmulator>>;
        client: PutioClient;
        target: string;
        sync: (o?: object) => ReturnType<typeof runSync>;
      }) => Promise<void>,
    ) {
      const emu = await startEmulator();
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sync-state-"));
      const client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl });
      const scheduler = new DownloadScheduler(client);
      const target = path.join(work, "target");
      const m = emu.state.addFolder(0, "Media");
      emu.state.addFile(m.id, "a.mkv", Buffer.from("put.io's a"));
      emu.state.addFile(m.id, "b.mkv", Buffer.from("put.io's b"));
      try {
        await fn({
          emu,
          client,
          target,
          sync: (o = {}) => runSync(client, scheduler, { folder: "/Media", target, propagateDeletes: true, signal: new AbortController().signal, ...o }),
        });
      } finally {
        await scheduler.close();
        await client.close();
        await emu.close();
        fs.rmSync(work, { recursive: true, force: true });
      }
    }

    it("a state file that is not JSON is kept aside, the run says so and counts every local file as the user's (nothing trashed)", () =>
      world(async ({ emu, client, target, sync }) => {
        let r = await sync();
        assert.equal(r.copied.length, 2);
        assert.equal(r.stateSetAside, null);
        const stateFile = path.join(target, STATE_FILE);
        const torn = fs.readFileSync(stateFile, "utf8").slice(0, 20);
        fs.writeFileSync(stateFile, torn);
        const a = emu.state
          .childrenOf(emu.state.users.get(emu.state.defaultUserId)!, emu.state.files.get((await client.folderId("/Media"))!)!)
          .find((f) => f.name === "a.mkv")!;
        await client.files.delete([a.id]);
        assert.equal(await interrupted(target), false, "a node's check at start only reads it ...");
        assert.equal(fs.readFileSync(stateFile, "utf8"), torn, "... and leaves it for the run to report");
        r = await sync({ dryRun: true });
        assert.deepEqual([r.stateSetAside, r.deleted, r.copied], [null, [], []]);
        assert.equal(fs.readFileSync(stateFile, "utf8"), torn, "a dry run changes nothing, not even the damaged state's name");
        r = await sync();
        assert.match(String(r.stateSetAside), /damaged.*\.putio-sync\.json\.damaged/);
        assert.deepEqual([r.deleted, r.copied], [[], []], "a.mkv is no longer known as the sync's: kept");
        assert.equal(fs.readFileSync(path.join(target, "a.mkv"), "utf8"), "put.io's a");
        assert.equal(fs.readFileSync(stateFile + ".damaged", "utf8"), torn, "the damaged state kept as it was");
        r = await sync();
        assert.equal(r.stateSetAside, null, "said once: the next run reads the state the last one wrote");
        assert.deepEqual(r.deleted, []);
        assert.ok(fs.existsSync(path.join(target, "a.mkv")));
      }));

    it("a state file the disk will not read fails the run: nothing downloaded, trashed or written over", () =>
      world(async ({ target, sync }) => {
        await sync();
        const stateFile = path.join(target, STATE_FILE);
        const before = fs.readFileSync(stateFile, "utf8");
        fs.rmSync(path.join(target, "b.mkv"));
        // Reading a folder fails like a disk error does (EISDIR); the real state is kept inside it.
        fs.renameSync(stateFile, stateFile + ".real");
        fs.mkdirSync(stateFile);
        fs.renameSync(stateFile + ".real", path.join(stateFile, "real"));
        await assert.rejects(sync(), (err: any) => err.code === "local.state-file-unreadable" && /EISDIR/.test(err.message));
        assert.deepEqual(fs.readdirSync(target).sort(), [STATE_FILE, "a.mkv"], "b.mkv not downloaded again, nothing trashed");
        assert.equal(fs.readFileSync(path.join(stateFile, "real"), "utf8"), before);
      }));

    it("a run that is working is not an interrupted one: the check at a node's start waits for it and reads its end", () =>
      world(async ({ emu, client, target, sync }) => {
        const m = (await client.folderId("/Media"))!;
        emu.state.addFile(m, "slow.mkv", Buffer.alloc(96 * 1024, 7));
        emu.knobs.bandwidthPerConnection = 32 * 1024;
        const run = sync();
        const stateFile = path.join(target, STATE_FILE);
        const working = () => {
          try {
            return JSON.parse(fs.readFileSync(stateFile, "utf8")).running === true;
          } catch {
            return false;
          }
        };
        for (let i = 0; !working(); i++) {
          assert.ok(i < 6000, "the run marks its state as running");
          await new Promise((r) => setTimeout(r, 5));
        }
        let ended = false;
        void run.then(() => (ended = true));
        assert.equal(await interrupted(target), false);
        assert.ok(ended, "read after the run ended");
        assert.equal((await run).copied.length, 3);
      }));

    it("another Node-RED process syncing the same folder: a run waits for its lock file, then goes on", () =>
      world(async ({ target, sync }) => {
        fs.mkdirSync(target);
        // What another process holds: the state file's lock file in the (real) target.
        const other = await tryLock(nodeFs, lockPath(fs.realpathSync(target), STATE_FILE));
        assert.ok(other);
        let settled = false;
        const run = sync().finally(() => (settled = true));
        await new Promise((r) => setTimeout(r, 400));
        assert.deepEqual([settled, fs.readdirSync(target).filter((n) => !n.startsWith(".putio-lock-"))], [false, []], "nothing read or written meanwhile");
        await other!.release();
        const r = await run;
        assert.equal(r.copied.length, 2);
        assert.deepEqual(fs.readdirSync(target).sort(), [STATE_FILE, "a.mkv", "b.mkv"], "and its own lock file is gone");
      }));

    it("a file the plan saw, renamed or removed by the user before its step: that step fails in the package's words and nothing else is touched", () =>
      world(async ({ client, target, sync }) => {
        await sync();
        const scheduler = new DownloadScheduler(client);
        try {
          fs.mkdirSync(path.join(target, "Gone"));
          const crc = "0badf00d";
          const actions: PlanAction[] = [
            // A local file to adopt, a file to move and one in a folder that became a file: all gone.
            { kind: "adopt", id: 901, path: "c.mkv", size: 4, crc32: crc },
            { kind: "rename", id: 902, from: "d.mkv", to: "e.mkv" },
            { kind: "adopt", id: 903, path: "a.mkv/inner.mkv", size: 4, crc32: crc },
            { kind: "rename", id: 904, from: "Gone/f.mkv", to: "g.mkv" },
          ];
          const r = await executePlan(actions, {
            root: target,
            scheduler,
            state: { folderId: 1, files: new Map(), running: false },
            remoteIds: new Set([901, 902, 903, 904]),
            signal: new AbortController().signal,
          });
          assert.deepEqual(
            r.failed.map((f) => [f.path, (f.error as { code?: string }).code]),
            [
              // Moves run before adoptions.
              ["d.mkv", "sync.changed-meanwhile"],
              ["Gone/f.mkv", "sync.changed-meanwhile"],
              ["c.mkv", "sync.changed-meanwhile"],
              ["a.mkv/inner.mkv", "sync.changed-meanwhile"],
            ],
          );
          assert.match(r.failed[2]!.error.message, /"c\.mkv" appeared, changed or went away locally during the run/);
          assert.deepEqual(fs.readdirSync(target).sort(), [".putio-sync.json", "Gone", "a.mkv", "b.mkv"]);
        } finally {
          await scheduler.close();
        }
      }));

    it("the scan of the local folder: a name gone since its folder was read is left out; any other lstat error fails the scan", async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sync-scan-"));
      try {
        for (const n of ["a.mkv", "b.mkv", ".putio-sync.json"]) fs.writeFileSync(path.join(work, n), n);
        const failing = (code: string): LocalFs => ({
          ...nodeFs,
          lstat: (p) => (path.basename(p) === "b.mkv" ? Promise.reject(Object.assign(new Error(`${code}: lstat`), { code })) : nodeFs.lstat(p)),
        });
        assert.deepEqual(
          (await scanSyncTarget(work)).map((e) => e.path),
          ["a.mkv", "b.mkv"],
        );
        assert.deepEqual(
          (await scanSyncTarget(work, undefined, failing("ENOENT"))).map((e) => e.path),
          ["a.mkv"],
        );
        await assert.rejects(scanSyncTarget(work, undefined, failing("EIO")), { code: "EIO" });
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  });
});
