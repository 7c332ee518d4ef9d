/**
 * What a copy node has under way on the target account, kept in a small JSON file so that a
 * restart, a redeploy or a crash leaves nothing behind: the jobs it accepted and has not finished
 * (run again at start), and for each source file whose transfer it added, which transfer and which
 * file on the target carry it. A copy writes its record before the add (the answer may be lost),
 * adds the transfer and file ids as it learns them, and removes the record once the copy has the
 * source's name and its transfer entry is gone; a re-run or a resumed job adopts what a record
 * names instead of adding the file again, and a removed node undoes what its records name.
 *
 * Never a storage URL or a token in it. Writes are serialised and atomic (lib/local/state-file.ts):
 * a crash leaves the old or the new state.
 */
import { StateFile } from "../local/state-file";

/** One source file's copy in progress on the target. */
export interface CopyRecord {
  /** The file's id on the source account. */
  source: number;
  /** The target folder its copy goes into. */
  parent: number;
  /** The source's name, size and CRC32: what the copy must be. */
  name: string;
  size: number;
  crc32: string | null;
  /** When its add was sent (ms since epoch). */
  since: number;
  /** The target's transfer, once put.io answered the add. */
  transfer?: number;
  /** The file that transfer made on the target, once known. */
  file?: number;
}

/** What a copy job reads and writes of its records (CopyJournal, or a test's own). */
export interface CopyLedger {
  records(): Promise<CopyRecord[]>;
  put(record: CopyRecord): Promise<void>;
  remove(source: number, parent: number): Promise<void>;
}

/** A job a copy node accepted: the msg that started it, as JSON. */
export interface CopyJobEntry {
  msg: Record<string, unknown>;
  since: number;
}

const keyOf = (source: number, parent: number) => `${source}>${parent}`;

function isRecord(r: unknown): r is CopyRecord {
  const o = r as Record<string, unknown>;
  const int = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  return (
    !!o &&
    typeof o === "object" &&
    int(o.source) &&
    int(o.parent) &&
    typeof o.name === "string" &&
    int(o.size) &&
    (o.crc32 === null || typeof o.crc32 === "string") &&
    (o.transfer === undefined || int(o.transfer)) &&
    (o.file === undefined || int(o.file))
  );
}

export class CopyJournal implements CopyLedger {
  private jobs = new Map<string, CopyJobEntry>();
  private recs = new Map<string, CopyRecord>();
  private loaded: Promise<void> | null = null;
  private readonly state: StateFile | null;
  private readonly ops = new Set<Promise<unknown>>();
  private closed = false;
  /** Why the file could not be read (said once, by `pendingJobs`). */
  private readError: Error | null = null;
  /** A file that could not be read at all (not merely damaged, which is set aside) is never written over. */
  private handsOff = false;

  /** `file` null: kept in memory only (no user directory). */
  constructor(readonly file: string | null) {
    this.state = file ? new StateFile(file) : null;
  }

  /** The jobs left under way; a file that could not be read is a clear error, once (a damaged one is set aside). */
  async pendingJobs(): Promise<Array<[string, CopyJobEntry]>> {
    await this.load();
    const err = this.readError;
    if (err) {
      this.readError = null;
      throw err;
    }
    return [...this.jobs];
  }

  putJob(key: string, entry: CopyJobEntry): Promise<void> {
    return this.change(() => void this.jobs.set(key, entry));
  }

  removeJob(key: string): Promise<void> {
    return this.change(() => this.jobs.delete(key));
  }

  async records(): Promise<CopyRecord[]> {
    await this.load();
    return [...this.recs.values()].map((r) => ({ ...r }));
  }

  put(record: CopyRecord): Promise<void> {
    return this.change(() => void this.recs.set(keyOf(record.source, record.parent), { ...record }));
  }

  remove(source: number, parent: number): Promise<void> {
    return this.change(() => this.recs.delete(keyOf(source, parent)));
  }

  /** Wait for the calls in progress, then write nothing more (the next instance of the node takes the file over). */
  async close(): Promise<void> {
    while (this.ops.size) await Promise.allSettled([...this.ops]);
    this.closed = true;
    await this.state?.settled();
  }

  /** Forget everything and delete the file (the node was removed). */
  async discard(): Promise<void> {
    await this.close();
    this.jobs.clear();
    this.recs.clear();
    await this.state?.write(null).catch(() => {});
  }

  /** Apply a change and save; a change that changed nothing (false) writes nothing. */
  private change(fn: () => boolean | void): Promise<void> {
    const p = (async () => {
      await this.load();
      if (this.closed) return;
      if (fn() === false) return;
      await this.save();
    })();
    this.ops.add(p);
    const done = () => this.ops.delete(p);
    p.then(done, done);
    return p;
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      if (!this.state) return;
      let data: { jobs?: Record<string, CopyJobEntry>; records?: unknown[] } | null;
      try {
        data = await this.state.read();
      } catch (err) {
        this.readError = err as Error;
        this.handsOff = (err as { code?: unknown }).code !== "local.state-file-damaged";
        return;
      }
      const jobs = data?.jobs && typeof data.jobs === "object" ? data.jobs : {};
      for (const [k, e] of Object.entries(jobs))
        if (e && typeof e === "object" && e.msg && typeof e.msg === "object") this.jobs.set(k, { msg: e.msg, since: Number(e.since) || Date.now() });
      for (const r of Array.isArray(data?.records) ? data.records : []) if (isRecord(r)) this.recs.set(keyOf(r.source, r.parent), r);
    })();
    return this.loaded;
  }

  private save(): Promise<void> {
    if (!this.state || this.handsOff) return Promise.resolve();
    const empty = this.jobs.size === 0 && this.recs.size === 0;
    // Each save writes the state as of its call, after the previous one landed.
    return this.state.write(empty ? null : JSON.stringify({ v: 1, jobs: Object.fromEntries(this.jobs), records: [...this.recs.values()] }));
  }
}
