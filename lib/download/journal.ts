/**
 * Jobs a download node accepted and has not finished, kept in a small JSON file so that after a
 * Node-RED restart (or a redeploy) the node runs them again: the engine then resumes each `.part`
 * from its sidecar. Without it a download in flight at a restart was simply forgotten, since the
 * watch node had already reported the transfer.
 *
 * Writes are serialised and atomic (temp file + rename): a crash leaves the old or the new list.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";

export interface JournalEntry {
  /** The msg that started the job, as JSON (see jsonSafeMsg). */
  msg: Record<string, unknown>;
  /** When the job was first accepted (ms since epoch). */
  since: number;
  /**
   * Set when the job ended while its node was closing: Node-RED drops whatever a closing node sends,
   * so the outcome waits here and the next start delivers it instead of running the job again.
   */
  outcome?: { msg: Record<string, unknown> | null; error: string | null };
  /** What put.io extracted for the job (extract first): a resumed job does not extract again. */
  extracted?: { archives: string[]; partIds: number[]; topIds: number[] };
}

/** Largest msg kept; a bigger one is reduced to its id, topic and payload. */
const MAX_MSG_JSON = 256 * 1024;

/**
 * A msg as plain JSON: without the http-in request/response objects (they do not outlive the
 * request), functions or cycles; a msg too big or not serialisable keeps _msgid, topic and payload.
 */
export function jsonSafeMsg(msg: Record<string, unknown>): Record<string, unknown> {
  const drop = new Set(["req", "res", "_putioResumed"]);
  const strip = (m: Record<string, unknown>) => Object.fromEntries(Object.entries(m).filter(([k, v]) => !drop.has(k) && typeof v !== "function"));
  try {
    const text = JSON.stringify(strip(msg));
    if (text.length <= MAX_MSG_JSON) return JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* a cycle or a BigInt: fall back below */
  }
  const small = { _msgid: msg._msgid, topic: msg.topic, payload: msg.payload };
  try {
    return JSON.parse(JSON.stringify(small)) as Record<string, unknown>;
  } catch {
    return { _msgid: msg._msgid, topic: msg.topic };
  }
}

let tmpCounter = 0;

export class JobJournal {
  private entries = new Map<string, JournalEntry>();
  private loaded: Promise<void> | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** Calls not finished yet (close() waits for them). */
  private readonly ops = new Set<Promise<unknown>>();
  private closed = false;

  /** `file` null: a journal that remembers nothing (no user directory to keep it in). */
  constructor(readonly file: string | null) {}

  /** The jobs left from before (read once). A damaged file counts as empty. */
  async pending(): Promise<Array<[string, JournalEntry]>> {
    await this.load();
    return [...this.entries];
  }

  put(key: string, entry: JournalEntry): Promise<void> {
    return this.track(async () => {
      await this.load();
      if (this.closed) return;
      this.entries.set(key, entry);
      await this.save();
    });
  }

  remove(key: string): Promise<void> {
    return this.track(async () => {
      await this.load();
      if (!this.closed && this.entries.delete(key)) await this.save();
    });
  }

  /**
   * Wait for every call in progress, then write nothing more: the node that owns the file is
   * closing and the next instance (a redeploy) takes it over, so a late write must not clobber it.
   */
  async close(): Promise<void> {
    while (this.ops.size) await Promise.allSettled([...this.ops]);
    this.closed = true;
    await this.writing;
  }

  private track(fn: () => Promise<void>): Promise<void> {
    const p = fn();
    this.ops.add(p);
    const done = () => this.ops.delete(p);
    p.then(done, done);
    return p;
  }

  /** Forget everything and delete the file (the node was removed from the flows). */
  async discard(): Promise<void> {
    await this.close();
    this.entries.clear();
    if (!this.file) return;
    const file = this.file;
    this.writing = this.writing.then(() => fsp.rm(file, { force: true })).catch(() => {});
    await this.writing;
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      if (!this.file) return;
      try {
        const data = JSON.parse(await fsp.readFile(this.file, "utf8")) as { v?: number; jobs?: Record<string, JournalEntry> };
        for (const [k, e] of Object.entries(data.jobs ?? {})) {
          if (e && typeof e === "object" && e.msg && typeof e.msg === "object") {
            const o = e.outcome;
            const outcome =
              o && typeof o === "object"
                ? { msg: o.msg && typeof o.msg === "object" ? o.msg : null, error: typeof o.error === "string" ? o.error : null }
                : undefined;
            this.entries.set(k, { msg: e.msg, since: Number(e.since) || Date.now(), ...(outcome ? { outcome } : {}) });
          }
        }
      } catch {
        /* missing or damaged: nothing pending */
      }
    })();
    return this.loaded;
  }

  private save(): Promise<void> {
    if (!this.file) return Promise.resolve();
    const file = this.file;
    const empty = this.entries.size === 0;
    const text = JSON.stringify({ v: 1, jobs: Object.fromEntries(this.entries) });
    const run = async () => {
      if (empty) return void (await fsp.rm(file, { force: true }));
      await fsp.mkdir(path.dirname(file), { recursive: true });
      // Unique per write: the closing and the starting instance of a node may both be writing.
      const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
      await fsp.writeFile(tmp, text);
      await fsp.rename(tmp, file);
    };
    // Each save writes the state as of its call, after the previous one landed.
    const p = this.writing.then(run, run);
    this.writing = p.catch(() => {});
    return p;
  }
}
