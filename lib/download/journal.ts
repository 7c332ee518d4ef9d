/**
 * Jobs a download node accepted and has not finished, kept in a small JSON file so that after a
 * Node-RED restart (or a redeploy) the node runs them again: the engine then resumes each `.part`
 * from its sidecar. Without it a download in flight at a restart was simply forgotten, since the
 * watch node had already reported the transfer.
 *
 * Writes are serialised and atomic (lib/local/state-file.ts): a crash leaves the old or the new
 * list. A damaged file is set aside, never written over, and reported once.
 */
import { StateFile } from "../local/state-file";
import type { LocalFs } from "../local/fs";
import type { ExtractionDone } from "./job";

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
  extracted?: ExtractionDone;
}

/** Largest msg kept; a bigger one is reduced to its id, topic and payload. */
const MAX_MSG_JSON = 256 * 1024;

/**
 * A msg as plain JSON: without the http-in request/response objects (they do not outlive the
 * request), functions or cycles; a msg too big or not serialisable keeps _msgid, topic and payload.
 */
export function jsonSafeMsg(msg: Record<string, unknown>): Record<string, unknown> {
  const drop = new Set(["req", "res"]);
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

export class JobJournal {
  private entries = new Map<string, JournalEntry>();
  private loaded: Promise<void> | null = null;
  /** Why the file could not be read (reported by the first pending()); null: read, or nothing there. */
  private readError: Error | null = null;
  /** The file could not be read and is still there: it is never written over (memory only). */
  private handsOff = false;
  private readonly state: StateFile | null;
  /** Calls not finished yet (close() waits for them). */
  private readonly ops = new Set<Promise<unknown>>();
  private closed = false;

  /** `file` null: a journal that remembers nothing (no user directory to keep it in). */
  constructor(
    readonly file: string | null,
    fs?: LocalFs,
  ) {
    this.state = file ? new StateFile(file, fs) : null;
  }

  /**
   * The jobs left from before (read once). A damaged file is set aside and the journal starts
   * empty: the first call throws the error that says so, later calls answer what is kept since.
   */
  async pending(): Promise<Array<[string, JournalEntry]>> {
    await this.load();
    const err = this.readError;
    if (err) {
      this.readError = null;
      throw err;
    }
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
    await this.state?.settled();
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
    await this.state?.write(null).catch(() => {});
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      if (!this.state) return;
      let data: Record<string, unknown> | null;
      try {
        data = await this.state.read();
      } catch (err) {
        this.readError = err as Error;
        this.handsOff = (err as { code?: unknown }).code !== "local.state-file-damaged";
        return;
      }
      const jobs = data?.jobs;
      for (const [k, e] of Object.entries(jobs && typeof jobs === "object" ? (jobs as Record<string, JournalEntry>) : {})) {
        const entry = entryOf(e);
        if (entry) this.entries.set(k, entry);
      }
    })();
    return this.loaded;
  }

  private save(): Promise<void> {
    // A file that could not be read and is still in place (not set aside) is never written over.
    if (!this.state || this.handsOff) return Promise.resolve();
    // Each save writes the state as of its call, after the previous one landed.
    return this.state.write(this.entries.size ? JSON.stringify({ v: 1, jobs: Object.fromEntries(this.entries) }) : null);
  }
}

/** An entry as read back from the file (null: not one); fields of a wrong type are left out. */
function entryOf(e: unknown): JournalEntry | null {
  if (!e || typeof e !== "object") return null;
  const { msg, since, outcome: o, extracted: x } = e as Record<string, unknown>;
  if (!msg || typeof msg !== "object" || Array.isArray(msg)) return null;
  const entry: JournalEntry = { msg: msg as Record<string, unknown>, since: Number(since) || Date.now() };
  if (o && typeof o === "object") {
    const { msg: om, error } = o as Record<string, unknown>;
    entry.outcome = { msg: om && typeof om === "object" ? (om as Record<string, unknown>) : null, error: typeof error === "string" ? error : null };
  }
  const ids = (v: unknown) => Array.isArray(v) && v.every((n) => Number.isSafeInteger(n));
  if (x && typeof x === "object") {
    const { archives, partIds, topIds } = x as Record<string, unknown>;
    if (Array.isArray(archives) && archives.every((a) => typeof a === "string") && ids(partIds) && ids(topIds))
      entry.extracted = { archives: archives as string[], partIds: partIds as number[], topIds: topIds as number[] };
  }
  return entry;
}
