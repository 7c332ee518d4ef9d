/**
 * The model-based test of the local disk (issue 25): a NAS folder and put.io, with commands that
 * interleave what a user does on the NAS (create, edit in place, replace, rename, delete a file;
 * a folder link inside the target, one back to the target itself, one leading outside), what put.io
 * does (a file added, changed, removed, given no CRC32, a connection cut, one empty or truncated
 * listing) and jobs of several
 * engines at once on aliased targets: two download schedulers (delete after; skip-identical and
 * overwrite; one target reached through a link), the folder sync through its public run function,
 * and a restart (a scheduler closed mid-job, a new one); the user also acts while jobs run. Names
 * include ones that meet only after cleaning (a:b, a_b) or differ only in Unicode form (Café in NFC
 * and NFD). After every step:
 *  - no byte the user wrote is lost unless the user deleted or overwrote it (user files are tracked
 *    by content: each write is unique);
 *  - every put.io deletion had the file's exact bytes at a path a job reported for it, at the moment
 *    of deletion (DeletionWitness); except where the user changed that very file while the jobs ran
 *    (the package's last look, just before the request, cannot see a change after it: that look
 *    has its own test in download-safety.spec), and then put.io's copy is in put.io's trash;
 *  - nothing outside the targets changed;
 *  - once the jobs are over: no lock file, no "replaced" file, and temp/state files only of files
 *    whose job was interrupted or failed;
 *  - every failure is one of the package's errors (a text code), never a raw system error.
 * Shared by local-disk-model.spec.ts (ext4 or tmpfs, and exFAT).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { PutioClient } from "../../lib/client";
import { DownloadScheduler, type JobResult } from "../../lib/download";
import { runSync } from "../../lib/sync";
import { startEmulator, type Emulator } from "../emulator";
import { DeletionWitness, ownLeftovers, regularFiles } from "./local-disk";

export interface ModelOptions {
  /** A folder the model may fill (each run gets a fresh folder in it). */
  base: string;
  runs: number;
  seed?: number;
  /** With `seed`: replay only the counterexample fast-check printed (its `path`, and the commands' `replayPath`). */
  path?: string;
  replayPath?: string;
  /** The file system has symbolic links (exFAT has none). */
  links: boolean;
  /** Drive the folder sync too. */
  sync: boolean;
  maxCommands?: number;
  /** The file system can be mounted again (exFAT: see check()). */
  remount?: () => Promise<void>;
}

// Names that meet after cleaning (a:b → a_b) or only differ in Unicode form (Café in NFC and NFD) too.
const USER_PATHS = ["a.mkv", "A.MKV", "b.mkv", "Films/c.mkv", "Films/a.mkv", "Movies/c.mkv", "x.txt", "sub/b.mkv", "a_b.mkv", "Caf\u00e9.mkv"];
const PUTIO_PATHS = ["a.mkv", "A.mkv", "b.mkv", "Films/c.mkv", "Movies/c.mkv", "loop/a.mkv", "sub/b.mkv", "Films/a.mkv", "a:b.mkv", "Cafe\u0301.mkv", "b.mkv."];
const SIZES = [4096, 5000];
const LINKS = [
  { at: "Movies", to: "Films", what: "a folder link inside the target (Movies -> Films)" },
  { at: "loop", to: ".", what: "a link back to the target itself (loop -> .)" },
  { at: "Out", to: "../../outside", what: "a link leading outside the target (Out -> ../../outside)" },
];

const hash = (b: Buffer) => createHash("sha1").update(b).digest("hex");

/**
 * exfat-fuse keeps a name's other spellings in the kernel's cache after a rename or delete
 * (`A.MKV` still lstat()s after `a.mkv` moved): a read there is ENOENT. Such a name is nothing.
 */
function readOrNull(p: string): Buffer | null {
  try {
    return fs.readFileSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** A user action that met a stale name (see readOrNull) did nothing. */
function userAction(fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "skipped (a stale name of the file system's cache)";
    throw err;
  }
}

function bytesOf(seed: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  b.writeUInt32BE(seed >>> 0, 0);
  return b;
}

interface Model {
  step: number;
}

/** What the user does on the NAS folder while jobs run. */
interface UserMove {
  kind: "create" | "edit" | "replace" | "rename" | "delete";
  path: string;
  to: string;
  size: number;
  delayMs: number;
}

function describeMove(u: UserMove): string {
  const what =
    u.kind === "rename"
      ? `renames ${u.path} to ${u.to}`
      : u.kind === "create" || u.kind === "replace"
        ? `${u.kind}s ${u.path} (${u.size} B)`
        : `${u.kind}s ${u.path}`;
  return `the user ${what} ${u.delayMs} ms in`;
}

/** The real NAS folder, put.io (the emulator) and the engines. */
class World {
  readonly log: string[] = [];
  readonly violations: string[] = [];
  /** What the user wrote and did not delete since: content hash → where it was written. */
  readonly userBytes = new Map<string, string>();
  /**
   * Files whose temp/state files may stay: a job interrupted or failed on them. For good: another
   * job that verified and deleted the file first leaves a later interrupted job's part an orphan.
   */
  readonly unfinished = new Set<number>();
  private seq = 1;
  d1!: DownloadScheduler;
  d2!: DownloadScheduler;
  ds!: DownloadScheduler;
  client!: PutioClient;
  witness!: DeletionWitness;
  outsideBefore = "";

  constructor(
    readonly emu: Emulator,
    readonly dir: string,
    readonly opts: ModelOptions,
  ) {}

  get nas(): string {
    return path.join(this.dir, "nas");
  }
  get lib(): string {
    return path.join(this.nas, "lib");
  }
  /** The second scheduler's target: the same folder through a link (or the same path without links). */
  get alias(): string {
    return this.opts.links ? path.join(this.nas, "alias") : this.lib;
  }
  get outside(): string {
    return path.join(this.dir, "outside");
  }

  static async create(opts: ModelOptions, run: number): Promise<World> {
    const emu = await startEmulator();
    const dir = fs.mkdtempSync(path.join(opts.base, `m${run}-`));
    const w = new World(emu, dir, opts);
    fs.mkdirSync(w.lib, { recursive: true });
    fs.mkdirSync(w.outside);
    fs.writeFileSync(path.join(w.outside, "keep.txt"), "outside the targets");
    if (opts.links) fs.symlinkSync("lib", path.join(w.nas, "alias"));
    w.outsideBefore = w.snapshotOutside();
    w.client = new PutioClient({ token: emu.token, apiUrl: emu.apiUrl, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    w.d1 = w.scheduler();
    w.d2 = w.scheduler();
    w.ds = w.scheduler();
    w.witness = new DeletionWitness(emu, () => [w.nas]);
    return w;
  }

  scheduler(): DownloadScheduler {
    return new DownloadScheduler(this.client, { filesAtOnce: 2 }, { engine: { stallMs: 2_000, backoffBaseMs: 1, backoffMaxMs: 5, checkpointMs: 5 } });
  }

  async close(): Promise<void> {
    this.witness.stop();
    await Promise.allSettled([this.d1.close(), this.d2.close(), this.ds.close()]);
    await this.client.close();
    await this.emu.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  nextSeed(): number {
    return this.seq++;
  }

  snapshotOutside(): string {
    const parts: string[] = [];
    for (const n of fs.readdirSync(this.dir).sort()) if (n !== "nas" && n !== "outside") parts.push(`stray ${n}`);
    for (const f of regularFiles(this.outside).sort((a, b) => a.path.localeCompare(b.path))) parts.push(`${f.path} ${hash(fs.readFileSync(f.path))}`);
    return parts.join("\n");
  }

  // ---- the user ----

  /** The user's bytes at `p` are gone by the user's own doing (overwritten, deleted). */
  private forgetAt(p: string): void {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    const data = st?.isFile() ? readOrNull(p) : null;
    if (data) this.userBytes.delete(hash(data));
  }

  private remember(p: string): void {
    this.userBytes.set(hash(fs.readFileSync(p)), p);
  }

  /** A path under the target the user can write at now (its folder exists or can be made; no folder in the way). */
  private writable(rel: string): string | null {
    const p = path.join(this.lib, rel);
    try {
      fs.mkdirSync(path.dirname(p), { recursive: true });
    } catch {
      return null;
    }
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    return st && !st.isFile() ? null : p;
  }

  userCreate(rel: string, size: number): string {
    const p = this.writable(rel);
    if (!p) return "skipped (no place)";
    this.forgetAt(p);
    fs.writeFileSync(p, bytesOf(1_000_000 + this.nextSeed(), size));
    this.remember(p);
    return "written";
  }

  userEdit(rel: string): string {
    const p = path.join(this.lib, rel);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st?.isFile() || st.size < 8) return "skipped (no file)";
    this.forgetAt(p);
    const fd = fs.openSync(p, "r+");
    try {
      const stamp = Buffer.alloc(8);
      stamp.writeUInt32BE(0xed17ed17, 0);
      stamp.writeUInt32BE(this.nextSeed(), 4);
      fs.writeSync(fd, stamp, 0, 8, 0);
    } finally {
      fs.closeSync(fd);
    }
    this.remember(p);
    return "edited in place";
  }

  userReplace(rel: string, size: number): string {
    const p = this.writable(rel);
    if (!p) return "skipped (no place)";
    const tmp = path.join(path.dirname(p), `.~user-${this.nextSeed()}`);
    fs.writeFileSync(tmp, bytesOf(2_000_000 + this.nextSeed(), size));
    this.forgetAt(p);
    fs.renameSync(tmp, p);
    this.remember(p);
    return "replaced";
  }

  userRename(from: string, to: string): string {
    const a = path.join(this.lib, from);
    const st = fs.lstatSync(a, { throwIfNoEntry: false });
    if (!st?.isFile()) return "skipped (no file)";
    const b = this.writable(to);
    if (!b || fs.lstatSync(b, { throwIfNoEntry: false })) return "skipped (taken)";
    fs.renameSync(a, b);
    const moved = readOrNull(b);
    if (moved && this.userBytes.has(hash(moved))) this.remember(b);
    return "renamed";
  }

  userDelete(rel: string): string {
    const p = path.join(this.lib, rel);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) return "skipped (no file)";
    this.forgetAt(p);
    fs.unlinkSync(p);
    return "deleted";
  }

  userLink(i: number): string {
    const l = LINKS[i % LINKS.length]!;
    const at = path.join(this.lib, l.at);
    if (fs.lstatSync(at, { throwIfNoEntry: false })) return "skipped (taken)";
    if (l.to === "Films") fs.mkdirSync(path.join(this.lib, "Films"), { recursive: true });
    fs.symlinkSync(l.to, at);
    return "linked";
  }

  // ---- put.io ----

  private liveFiles(): Array<{ id: number; name: string }> {
    const out: Array<{ id: number; name: string }> = [];
    const walk = (id: number) => {
      for (const f of this.emu.state.listChildren(id)) {
        if (f.file_type === "FOLDER") walk(f.id);
        else out.push({ id: f.id, name: f.name });
      }
    };
    walk(0);
    return out;
  }

  putioAdd(rel: string, size: number, noCrc: boolean): string {
    let parent = 0;
    const parts = rel.split("/");
    for (const dir of parts.slice(0, -1)) {
      const found = this.emu.state.listChildren(parent).find((f) => f.name === dir && f.file_type === "FOLDER");
      parent = found ? found.id : this.emu.state.addFolder(parent, dir).id;
    }
    if (this.emu.state.listChildren(parent).some((f) => f.name === parts[parts.length - 1])) return "skipped (exists)";
    const f = this.emu.state.addFile(parent, parts[parts.length - 1]!, bytesOf(3_000_000 + this.nextSeed(), size));
    if (noCrc) this.emu.knobs.noCrc32.push(f.id);
    return `added ${f.id}`;
  }

  putioChange(i: number, size: number): string {
    const files = this.liveFiles();
    if (!files.length) return "skipped (none)";
    const f = files[i % files.length]!;
    this.emu.state.replaceFileContent(f.id, bytesOf(4_000_000 + this.nextSeed(), size));
    return `changed ${f.id}`;
  }

  async putioRemove(i: number): Promise<string> {
    const files = this.liveFiles();
    if (!files.length) return "skipped (none)";
    const f = files[i % files.length]!;
    await this.witness.ignoring(() => this.client.files.delete([f.id], { skipTrash: false }));
    return `removed ${f.id}`;
  }

  putioNoCrc(i: number): string {
    const files = this.liveFiles();
    if (!files.length) return "skipped (none)";
    const f = files[i % files.length]!;
    this.emu.knobs.noCrc32.push(f.id);
    return `no crc32 for ${f.id}`;
  }

  listingGlitch(kind: "empty" | "truncated"): string {
    const keep = kind === "empty" ? 0 : "half";
    // One of each kind at a time, as "the next listing" says.
    if (!this.emu.knobs.listingGlitches.some((g) => g.folder === undefined && g.keep === keep)) this.emu.knobs.listingGlitches.push({ keep });
    return `the next listing of a folder is ${kind === "empty" ? "empty" : "cut in half"}`;
  }

  cut(): string {
    this.emu.knobs.cutDownloadAfterBytes = 1000;
    this.emu.knobs.cutsRemaining = 1;
    return "next storage response cut after 1000 B";
  }

  // ---- the engines ----

  /** Where the user acted while the current jobs ran: the file's real folder and name (folded where the file system folds). */
  private readonly touchedDuring = new Set<string>();

  private placeKey(p: string): string {
    let dir = path.dirname(p);
    try {
      dir = fs.realpathSync(dir);
    } catch {
      /* a folder the user's rename or delete took away: its spelling is the key */
    }
    const name = path.basename(p).normalize("NFC");
    return path.join(dir, this.opts.links ? name : name.toLowerCase());
  }

  /** A user action while the jobs run, `delayMs` after they start (the user does not wait for us). */
  private async userDuring(u: UserMove, results: string[]): Promise<void> {
    await new Promise((r) => setTimeout(r, u.delayMs));
    for (const rel of u.kind === "rename" ? [u.path, u.to] : [u.path]) this.touchedDuring.add(this.placeKey(path.join(this.lib, rel)));
    const what = userAction(() => {
      switch (u.kind) {
        case "create":
          return this.userCreate(u.path, u.size);
        case "edit":
          return this.userEdit(u.path);
        case "replace":
          return this.userReplace(u.path, u.size);
        case "rename":
          return this.userRename(u.path, u.to);
        case "delete":
          return this.userDelete(u.path);
      }
    });
    results.push(`the user meanwhile (${u.delayMs} ms in): ${what}`);
  }

  async jobs(which: { d1: boolean; d2: boolean; sync: boolean; syncDeletes: boolean; restart: boolean; during?: UserMove }): Promise<string> {
    const planned = new Set(this.liveFiles().map((f) => f.id));
    const results: string[] = [];
    const failures: Error[] = [];
    const job = (s: DownloadScheduler, target: string, ifExists: "skip-identical" | "overwrite", onProgress?: () => void) =>
      s.run({ source: { folderId: 0 }, target, ifExists, deleteAfter: {}, onProgress, onFile: (r) => this.witness.note(r) });
    const settle = (name: string, p: Promise<JobResult>) =>
      p.then(
        (r) => {
          results.push(`${name}: ${r.downloaded} downloaded, ${r.skipped} skipped, ${r.failed} failed, ${r.deletedFileIds.length} deleted`);
          for (const e of r.errors) {
            this.unfinished.add(e.fileId);
            failures.push(e.error);
          }
        },
        (err: Error) => {
          results.push(`${name}: failed (${err.message.slice(0, 200)})`);
          for (const id of planned) this.unfinished.add(id);
          if (!/abort|closed/i.test(err.name + err.message)) failures.push(err);
        },
      );
    const running: Array<Promise<void>> = [];
    if (which.d1) running.push(settle("download 1 (skip-identical)", job(this.d1, this.lib, "skip-identical")));
    if (which.d2) running.push(settle("download 2 (overwrite, aliased target)", job(this.d2, this.alias, "overwrite")));
    if (which.sync && this.opts.sync) {
      running.push(
        runSync(this.client, this.ds, { folder: 0, target: this.lib, propagateDeletes: which.syncDeletes, signal: new AbortController().signal }).then(
          (r) => {
            results.push(`sync: ${r.copied.length} copied, ${r.kept.length} kept, ${r.deleted.length} deleted, ${r.failed.length} failed`);
            for (const f of r.failed) failures.push(f.error as Error);
            // A file the sync failed on (another engine deleted it on put.io meanwhile…) may keep its staged part.
            if (r.failed.length) for (const id of planned) this.unfinished.add(id);
          },
          (err: Error) => {
            results.push(`sync: failed (${err.message.slice(0, 200)})`);
            for (const id of planned) this.unfinished.add(id);
            failures.push(err);
          },
        ),
      );
    }
    if (which.during) {
      // The package looks at a file just before it asks put.io to delete it; a change the user makes
      // to that very file in between cannot be seen. What must hold then: put.io's copy is in put.io's
      // trash (the model deletes with the trash on), so nothing is lost.
      this.touchedDuring.clear();
      this.witness.excuse = (_id, reported) => reported.some((p) => this.touchedDuring.has(this.placeKey(p)));
      running.push(this.userDuring(which.during, results));
    }
    if (which.restart) {
      // A restart: a job of the first scheduler is cut short by closing it; a new scheduler follows.
      const old = this.d1;
      let moving: () => void = () => {};
      const bytesCame = new Promise<void>((r) => (moving = r));
      const p = settle(
        "download 1 before a restart",
        job(old, this.lib, "skip-identical", () => moving()),
      );
      await Promise.race([bytesCame, p, new Promise((r) => setTimeout(r, 300))]);
      await old.close();
      await p;
      this.d1 = this.scheduler();
    }
    await Promise.all(running);
    this.witness.excuse = null;
    for (const id of this.witness.excused.splice(0)) {
      if (this.emu.state.files.get(id)?.trashedAt == null)
        this.violations.push(`deleted ${id} for good while the user changed its local file (it should be in put.io's trash)`);
      else results.push(`put.io's ${id} went to the trash while the user changed its local file`);
    }
    for (const e of failures) {
      const code = (e as { code?: unknown }).code;
      if (typeof code !== "string" || !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(code))
        this.violations.push(`a raw error, not one of the package's texts: ${e.name}: ${e.message.slice(0, 300)}`);
    }
    this.checkLeftovers();
    return results.join("; ") || "no job";
  }

  private checkLeftovers(): void {
    for (const p of ownLeftovers(this.nas)) {
      const n = path.basename(p);
      const rel = path.relative(this.lib, p);
      if (n === ".putio-sync.json" || n === ".putio-trash" || n === ".putio-sync-tmp" || rel.split(path.sep).includes(".putio-trash")) continue;
      const m = /^\.putio-(\d+)\.part(\.json)?$/.exec(n);
      if (m && this.unfinished.has(Number(m[1]))) continue;
      this.violations.push(`left behind after the jobs: ${p}`);
    }
  }

  // ---- the invariants ----

  /** Where the user wrote bytes that no file under the NAS folder holds now. */
  private missingUserBytes(): string[] {
    const present = new Set<string>();
    for (const f of regularFiles(this.nas)) present.add(hash(fs.readFileSync(f.path)));
    const missing: string[] = [];
    for (const [h, where] of this.userBytes) {
      if (present.has(h)) continue;
      // Read by the spelling the user wrote it with too (exfat-fuse: support/exfat.ts).
      const there = fs.lstatSync(where, { throwIfNoEntry: false })?.isFile() ? readOrNull(where) : null;
      if (!there || hash(there) !== h) missing.push(where);
    }
    return missing;
  }

  async check(after: string): Promise<void> {
    let missing = this.missingUserBytes();
    if (missing.length && this.opts.remount) {
      // exfat-fuse answers a name's other spelling from its memory (support/exfat.ts): what is on
      // the disk after a remount is the truth. The package, reading by put.io's spelling, saw the
      // old bytes too: a file the user changed through another spelling can go to .putio-trash.
      await this.opts.remount();
      const still = this.missingUserBytes();
      if (still.length < missing.length)
        this.log.push(`   (after a remount of exFAT, the user's bytes of ${missing.filter((m) => !still.includes(m)).join(", ")} are on the disk)`);
      missing = still;
    }
    for (const where of missing) this.violations.push(`the user's bytes written at ${where} are gone`);
    for (const v of this.witness.violations.splice(0)) this.violations.push(v);
    const outside = this.snapshotOutside();
    if (outside !== this.outsideBefore) this.violations.push(`something changed outside the targets:\n${outside}`);
    if (this.violations.length) {
      throw new Error(`after ${after}:\n- ${this.violations.join("\n- ")}\n\nsteps:\n${this.log.join("\n")}`);
    }
  }
}

type Cmd = fc.AsyncCommand<Model, World>;

/** One command: `label` for the counterexample, `act` on the world, then the invariants. */
function cmd(label: string, act: (w: World) => string | Promise<string>): Cmd {
  return {
    check: () => true,
    run: async (m, w) => {
      m.step++;
      const what = await act(w);
      w.log.push(`${m.step}. ${label}: ${what}`);
      await w.check(label);
    },
    toString: () => label,
  };
}

function commands(opts: ModelOptions): Array<fc.Arbitrary<Cmd>> {
  // On exFAT the user keeps to one spelling per name (see support/exfat.ts); put.io's names still fold onto the user's.
  const userPath = fc.constantFrom(...(opts.links ? USER_PATHS : USER_PATHS.filter((p) => p !== "A.MKV")));
  const size = fc.constantFrom(...SIZES, 123);
  const pick = fc.nat({ max: 50 });
  const putioAdd = fc
    .tuple(fc.constantFrom(...PUTIO_PATHS), fc.constantFrom(...SIZES), fc.boolean())
    .map(([p, s, n]) => cmd(`put.io gets ${p} (${s} B${n ? ", no CRC32" : ""})`, (w) => w.putioAdd(p, s, n)));
  const jobsLabel = (which: { d1: boolean; d2: boolean; sync: boolean; syncDeletes: boolean; restart: boolean }) =>
    [
      which.d1 && "download 1",
      which.d2 && "download 2",
      which.sync && opts.sync && (which.syncDeletes ? "sync (deletions propagated)" : "sync"),
      which.restart && "a restart of download 1",
    ]
      .filter(Boolean)
      .join(" + ") || "none";
  const jobs = fc
    .record({ d1: fc.boolean(), d2: fc.boolean(), sync: fc.boolean(), syncDeletes: fc.boolean(), restart: fc.nat({ max: 3 }).map((n) => n === 0) })
    .map((which) => cmd(`jobs at once: ${jobsLabel(which)}`, (w) => w.jobs(which)));
  const move: fc.Arbitrary<UserMove> = fc.record({
    kind: fc.constantFrom("create" as const, "edit" as const, "replace" as const, "rename" as const, "delete" as const),
    path: userPath,
    to: userPath,
    size,
    delayMs: fc.constantFrom(0, 1, 3, 8, 20, 50),
  });
  const jobsWithUser = fc
    .tuple(fc.record({ d1: fc.boolean(), d2: fc.boolean(), sync: fc.boolean(), syncDeletes: fc.boolean() }), move)
    .map(([which, during]) =>
      cmd(`jobs at once: ${jobsLabel({ ...which, restart: false })}, while ${describeMove(during)}`, (w) => w.jobs({ ...which, restart: false, during })),
    );
  const userCreate = fc.tuple(userPath, size).map(([p, s]) => cmd(`user creates ${p} (${s} B)`, (w) => userAction(() => w.userCreate(p, s))));
  // What makes a step interesting comes more often: put.io files, the user's files, and jobs.
  const list: Array<fc.Arbitrary<Cmd>> = [
    putioAdd,
    putioAdd,
    putioAdd,
    jobs,
    jobs,
    jobs,
    jobsWithUser,
    jobsWithUser,
    userCreate,
    userPath.map((p) => cmd(`user edits ${p} in place`, (w) => userAction(() => w.userEdit(p)))),
    fc.tuple(userPath, size).map(([p, s]) => cmd(`user replaces ${p} (${s} B, new file renamed over it)`, (w) => userAction(() => w.userReplace(p, s)))),
    fc.tuple(userPath, userPath).map(([a, b]) => cmd(`user renames ${a} to ${b}`, (w) => userAction(() => w.userRename(a, b)))),
    userPath.map((p) => cmd(`user deletes ${p}`, (w) => userAction(() => w.userDelete(p)))),
    fc.tuple(pick, fc.constantFrom(...SIZES)).map(([i, s]) => cmd(`put.io changes file #${i} (${s} B)`, (w) => w.putioChange(i, s))),
    pick.map((i) => cmd(`put.io's user removes file #${i}`, (w) => w.putioRemove(i))),
    pick.map((i) => cmd(`put.io gives no CRC32 for file #${i}`, (w) => w.putioNoCrc(i))),
    fc.constant(cmd("put.io cuts the next storage response", (w) => w.cut())),
    fc.constantFrom("empty" as const, "truncated" as const).map((k) => cmd(`put.io glitches: the next folder listing is ${k}`, (w) => w.listingGlitch(k))),
  ];
  if (opts.links) list.push(fc.nat({ max: LINKS.length - 1 }).map((i) => cmd(`user makes ${LINKS[i]!.what}`, (w) => w.userLink(i))));
  return list;
}

/** Runs the model `opts.runs` times; a failure is shrunk and thrown with its steps. */
export async function runLocalDiskModel(opts: ModelOptions): Promise<void> {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.commands(commands(opts), { maxCommands: opts.maxCommands ?? 30, size: "max", ...(opts.replayPath ? { replayPath: opts.replayPath } : {}) }),
      async (cmds) => {
        const world = await World.create(opts, run++);
        try {
          await fc.asyncModelRun(() => ({ model: { step: 0 }, real: world }), cmds);
        } finally {
          if (process.env.MODEL_DEBUG) console.log(`run ${run}:\n${world.log.join("\n")}\n`);
          await world.close();
        }
      },
    ),
    {
      numRuns: opts.runs,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.seed !== undefined && opts.path ? { path: opts.path, endOnFailure: true } : {}),
    },
  );
}
