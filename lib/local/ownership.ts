/**
 * What this package wrote on the local disk: the one record that makes a local file "ours".
 *
 * Only a file recorded here, and unchanged since (same device, inode, size and mtime), may be
 * replaced ("overwrite"), or counted as put.io's bytes where put.io gives no CRC32. Anything else
 * at a path an engine needs is the user's: it is kept, and the engine says so. Records are keyed
 * by device + inode, so a rename or a second path to the file still finds it; they carry the
 * CRC32 computed from the bytes as they were written, so a later check re-reads the file and
 * compares bytes, never sizes alone.
 *
 * One ledger per state file, shared by every engine of the process; `null` keeps it in memory
 * (tests, and engines given no state folder). The file is append-only (one JSON line a record),
 * and the records are held in memory only while engines look them up (a minute after the last
 * look they are let go), so a process that runs for months does not grow with the files it wrote.
 * Appends are debounced; a record lost to a crash only makes the package more careful (the file
 * then counts as the user's).
 */
import { constants } from "node:fs";
import * as path from "node:path";
import { lstatOrNull, nodeFs, writeFileAtomic, type LocalFs, type LocalStats } from "./fs";

export interface OwnedFile {
  /** Where it was written (for people reading the state file; identity is dev + ino). */
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  /** CRC32 (8 hex digits) of the bytes as written. */
  crc32: string;
  /** The put.io file whose bytes these are (and which variant: put.io's MP4 version). */
  fileId: number;
  variant?: "mp4";
  /** When it was recorded (ms since the epoch). */
  at: number;
}

/** Records kept (the oldest go first); in the file, lines beyond twice this are compacted away. */
const MAX_RECORDS = 50_000;
const SAVE_DELAY_MS = 250;
/** Records are let go this long after the last look (the file keeps them). */
const HOLD_MS = 60_000;

type Line = OwnedFile | { forget: string };

export class OwnershipLedger {
  private records: Map<string, OwnedFile> | null = null;
  private loading: Promise<Map<string, OwnedFile>> | null = null;
  /** Lines not yet appended to the file. */
  private pending: Line[] = [];
  private saveTimer: NodeJS.Timeout | null = null;
  private holdTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();
  private lines = 0;

  constructor(
    readonly file: string | null,
    private readonly fs: LocalFs = nodeFs,
    private readonly holdMs = HOLD_MS,
  ) {}

  /** Whether the records are in memory now (they are let go a while after the last look). */
  get held(): boolean {
    return this.records !== null;
  }

  private static key(st: Pick<LocalStats, "dev" | "ino">): string {
    return `${st.dev}:${st.ino}`;
  }

  /** The records, read from the file (and what is not appended yet), held for a while. */
  private async load(): Promise<Map<string, OwnedFile>> {
    this.hold();
    if (this.records) return this.records;
    this.loading ??= (async () => {
      const map = new Map<string, OwnedFile>();
      let lines = 0;
      if (this.file) {
        await this.saving;
        let text = "";
        try {
          text = await this.fs.readFile(this.file, "utf8");
        } catch {
          /* missing or unreadable: nothing is ours yet, which is the careful answer */
        }
        for (const raw of text.split("\n")) {
          if (!raw) continue;
          lines++;
          try {
            apply(map, JSON.parse(raw) as Line);
          } catch {
            /* a torn last line after a crash: the careful answer again */
          }
        }
      }
      for (const line of this.pending) apply(map, line);
      while (map.size > MAX_RECORDS) map.delete(map.keys().next().value!);
      this.lines = lines;
      this.records = map;
      this.loading = null;
      return map;
    })();
    return this.loading;
  }

  /** Keep the records a while after this look, then let them go (only when everything is appended). */
  private hold(): void {
    if (!this.file) return;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      if (!this.pending.length && !this.saveTimer) this.records = null;
      else this.hold();
    }, this.holdMs);
    this.holdTimer.unref?.();
  }

  /** Record a file this package just wrote (after its commit), with the CRC32 of its bytes. */
  async record(filePath: string, st: LocalStats, info: { crc32: string; fileId: number; variant?: "mp4" }): Promise<void> {
    const rec: OwnedFile = {
      path: filePath,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      mtimeMs: st.mtimeMs,
      crc32: info.crc32.toLowerCase(),
      fileId: info.fileId,
      ...(info.variant ? { variant: info.variant } : {}),
      at: Date.now(),
    };
    this.add(rec);
  }

  private add(line: Line): void {
    if (this.records) {
      apply(this.records, line);
      while (this.records.size > MAX_RECORDS) this.records.delete(this.records.keys().next().value!);
    }
    if (!this.file) {
      // In memory only: the map is the ledger.
      if (!this.records) {
        this.records = new Map();
        apply(this.records, line);
      }
      return;
    }
    this.pending.push(line);
    this.scheduleSave();
  }

  /**
   * The record of the file at `p` if this package wrote it and its contents were not written
   * since (same device, inode, size, mtime); null for anything else (the user's). A link is
   * never ours.
   */
  async lookup(p: string): Promise<OwnedFile | null> {
    const st = await lstatOrNull(this.fs, p);
    if (!st || !st.isFile()) return null;
    return this.lookupStat(st);
  }

  async lookupStat(st: LocalStats): Promise<OwnedFile | null> {
    const rec = (await this.load()).get(OwnershipLedger.key(st));
    if (!rec) return null;
    return rec.size === st.size && rec.mtimeMs === st.mtimeMs ? rec : null;
  }

  /** Forget a file (removed or handed over to the user). */
  async forget(st: Pick<LocalStats, "dev" | "ino">): Promise<void> {
    this.add({ forget: OwnershipLedger.key(st) });
  }

  private scheduleSave(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.flush();
    }, SAVE_DELAY_MS);
    this.saveTimer.unref?.();
  }

  /** Append what is pending now (also what a close does); compacts a file that grew too long. */
  async flush(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const file = this.file;
    if (!file) return;
    const lines = this.pending;
    this.pending = [];
    this.saving = this.saving
      .then(async () => {
        await this.fs.mkdir(path.dirname(file), { recursive: true });
        if (this.records && this.lines + lines.length > 2 * MAX_RECORDS) {
          // Compact: the records as they are now, in one atomic write.
          const text = [...this.records.values()].map((r) => JSON.stringify(r) + "\n").join("");
          await writeFileAtomic(this.fs, file, `${file}.tmp`, text);
          this.lines = this.records.size;
          return;
        }
        if (!lines.length) return;
        const buf = Buffer.from(lines.map((l) => JSON.stringify(l) + "\n").join(""));
        const fh = await this.fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o644);
        try {
          for (let off = 0; off < buf.length;) off += (await fh.write(buf, off, buf.length - off, null)).bytesWritten;
        } finally {
          await fh.close();
        }
        this.lines += lines.length;
      })
      .catch(() => {});
    return this.saving;
  }
}

function apply(map: Map<string, OwnedFile>, line: Line): void {
  if ("forget" in line) map.delete(line.forget);
  else if (line && typeof line.dev === "number" && typeof line.ino === "number" && typeof line.crc32 === "string") {
    const key = `${line.dev}:${line.ino}`;
    map.delete(key);
    map.set(key, line);
  }
}

const GLOBAL_KEY = Symbol.for("node-red-putio.ownership-ledgers");
const ledgers: Map<string, OwnershipLedger> =
  ((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] as Map<string, OwnershipLedger> | undefined) ??
  (((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] = new Map<string, OwnershipLedger>()) as Map<string, OwnershipLedger>);

/** The process's ledger kept in `file` (one object per file); `null`: the in-memory one. */
export function ownershipLedger(file: string | null): OwnershipLedger {
  const key = file ? path.resolve(file) : "";
  let l = ledgers.get(key);
  if (!l) ledgers.set(key, (l = new OwnershipLedger(file ? path.resolve(file) : null)));
  return l;
}
