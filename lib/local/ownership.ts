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
 * (tests, and engines given no state folder). Saving is debounced; a record lost to a crash only
 * makes the package more careful (the file then counts as the user's).
 */
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

const MAX_RECORDS = 200_000;
const SAVE_DELAY_MS = 250;

export class OwnershipLedger {
  private records: Map<string, OwnedFile> | null = null;
  private loading: Promise<Map<string, OwnedFile>> | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string | null,
    private readonly fs: LocalFs = nodeFs,
  ) {}

  private static key(st: Pick<LocalStats, "dev" | "ino">): string {
    return `${st.dev}:${st.ino}`;
  }

  private async load(): Promise<Map<string, OwnedFile>> {
    if (this.records) return this.records;
    this.loading ??= (async () => {
      const map = new Map<string, OwnedFile>();
      if (this.file) {
        try {
          const data = JSON.parse(await this.fs.readFile(this.file, "utf8")) as { v?: number; files?: OwnedFile[] };
          for (const r of Array.isArray(data.files) ? data.files : []) {
            if (r && typeof r.dev === "number" && typeof r.ino === "number" && typeof r.crc32 === "string") map.set(OwnershipLedger.key(r), r);
          }
        } catch {
          /* missing or unreadable: nothing is ours yet, which is the careful answer */
        }
      }
      this.records = map;
      return map;
    })();
    return this.loading;
  }

  /** Record a file this package just wrote (after its commit), with the CRC32 of its bytes. */
  async record(filePath: string, st: LocalStats, info: { crc32: string; fileId: number; variant?: "mp4" }): Promise<void> {
    const map = await this.load();
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
    map.delete(OwnershipLedger.key(st));
    map.set(OwnershipLedger.key(st), rec);
    while (map.size > MAX_RECORDS) map.delete(map.keys().next().value!);
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

  /** Forget the file at `p` (removed or handed over to the user). */
  async forget(st: Pick<LocalStats, "dev" | "ino">): Promise<void> {
    if ((await this.load()).delete(OwnershipLedger.key(st))) this.scheduleSave();
  }

  private scheduleSave(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      void this.flush();
    }, SAVE_DELAY_MS);
    this.saveTimer.unref?.();
  }

  /** Write the state file now (also what a close does). */
  async flush(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const file = this.file;
    if (!file || !this.records) return this.saving;
    const text = JSON.stringify({ v: 1, files: [...this.records.values()] });
    this.saving = this.saving
      .then(async () => {
        await this.fs.mkdir(path.dirname(file), { recursive: true });
        await writeFileAtomic(this.fs, file, `${file}.tmp`, text);
      })
      .catch(() => {});
    return this.saving;
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
