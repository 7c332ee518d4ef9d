/**
 * A download node's jobs made to outlive a restart, a redeploy or a crash. The msg that asked for
 * a job is kept in the node's journal (journal.ts) from before the job starts until its outcome
 * went out; at the next start the node receives again what the journal holds: the msg of a job
 * that did not end (it runs again, and its parts resume), or the outcome of a job that ended while
 * the node was closing (Node-RED drops what a closing node sends), which goes out once and is
 * never run again. Node-RED's part (receiving, sending, done) stays in the node; no field is added
 * to the msgs: what a msg fed back at start means is kept here, by its _msgid.
 */
import { PutioAbortError, PutioBaseError } from "../core/errors";
import type { TextOrString } from "../core/texts";
import type { LocalFs } from "../local/fs";
import type { ExtractionDone } from "./job";
import { JobJournal, jsonSafeMsg, type JournalEntry } from "./journal";

export type JobMsg = Record<string, unknown>;

/** How a job ended: the msg to send and/or the error its msg fails with. */
export interface JobEnd<M extends JobMsg = JobMsg> {
  out: M | null;
  error: Error | null;
}

/** What a job's work gets from the journal. */
export interface JobResume {
  /** What put.io extracted for the job before a restart (null: nothing yet): not asked again. */
  extracted: ExtractionDone | null;
  /** Keep what put.io extracted, so that the job resumed after a restart does not extract twice. */
  onExtracted(done: ExtractionDone): void;
}

export interface JournaledJobsOptions {
  /** The journal file (null: nothing outlives the node, as without a user directory). */
  file: string | null;
  /** What the node does, for the errors of replayed outcomes and of msgs refused while closing. */
  attempted: TextOrString;
  /** A job could not be kept for a restart (it runs all the same). */
  onJournalError?: (err: Error) => void;
  fs?: LocalFs;
}

/** One admitted msg: run its job under the journal. */
export interface AdmittedJob<M extends JobMsg> {
  /**
   * Keep the msg, run `work`, then conclude: send its outcome and forget the job; while the node
   * closes, keep the outcome for the next start instead. Resolves with the outcome once it went out
   * (or was kept); a job that failed throws its error, except when kept. Aborted by the close
   * itself, the job stays kept and runs again at the next start.
   */
  run(work: (resume: JobResume) => Promise<JobEnd<M>>): Promise<JobEnd<M>>;
}

type Fed = { outcome: NonNullable<JournalEntry["outcome"]> } | { extracted: ExtractionDone | null };

export class JournaledJobs {
  readonly journal: JobJournal;
  /** Msgs fed again at start, by _msgid, until they arrive. */
  private readonly fed = new Map<string, Fed>();

  constructor(private readonly opts: JournaledJobsOptions) {
    this.journal = new JobJournal(opts.file, opts.fs);
  }

  /** Whether anything outlives the node. */
  get kept(): boolean {
    return this.journal.file !== null;
  }

  /**
   * At start: the msgs to receive again, each with its _msgid (read once). A journal file that
   * could not be read is a clear error (a damaged one is set aside, and the journal starts empty).
   */
  async leftover(): Promise<JobMsg[]> {
    const msgs: JobMsg[] = [];
    for (const [key, entry] of await this.journal.pending()) {
      if (entry.outcome) {
        this.fed.set(key, { outcome: entry.outcome });
        msgs.push({ ...(entry.outcome.msg ?? entry.msg), _msgid: key });
      } else {
        this.fed.set(key, { extracted: entry.extracted ?? null });
        msgs.push({ ...entry.msg, _msgid: key });
      }
    }
    return msgs;
  }

  /**
   * A msg as it arrives, before anything else is done with it. The outcome of a job that ended
   * while the node closed: `deliver`ed (when it has a msg), forgotten, its error thrown; null. A
   * msg arriving while the node closes: kept for the next start, and an abort thrown. Else the job
   * to run.
   */
  async admit<M extends JobMsg>(msg: M, signal: AbortSignal, deliver: (out: M) => void): Promise<AdmittedJob<M> | null> {
    const key = String(msg._msgid);
    const fed = this.fed.get(key);
    if (signal.aborted) {
      // Kept as it is for the next start: a job's entry (with what put.io extracted for it) or an outcome not sent yet.
      if (!fed) await this.journal.put(key, { msg: jsonSafeMsg(msg), since: Date.now() }).catch(() => {});
      throw new PutioAbortError(this.opts.attempted, signal.reason);
    }
    this.fed.delete(key);
    if (fed && "outcome" in fed) {
      if (fed.outcome.msg) deliver(msg);
      await this.journal.remove(key).catch(() => {});
      if (fed.outcome.error) throw new PutioBaseError(this.opts.attempted, fed.outcome.error);
      return null;
    }
    return { run: (work) => this.run(key, msg, signal, fed ? fed.extracted : null, work, deliver) };
  }

  /** The node closes: wait for the journal's writes; `removed`: the node is gone, and its journal with it. */
  close(removed: boolean): Promise<void> {
    return removed ? this.journal.discard() : this.journal.close();
  }

  private async run<M extends JobMsg>(
    key: string,
    msg: M,
    signal: AbortSignal,
    extracted: ExtractionDone | null,
    work: (resume: JobResume) => Promise<JobEnd<M>>,
    deliver: (out: M) => void,
  ): Promise<JobEnd<M>> {
    let entry: JournalEntry = { msg: jsonSafeMsg(msg), since: Date.now(), ...(extracted ? { extracted } : {}) };
    await this.journal.put(key, entry).catch((err: Error) => this.opts.onJournalError?.(err));
    let end: JobEnd<M>;
    try {
      end = await work({
        extracted,
        onExtracted: (done) => {
          entry = { ...entry, extracted: done };
          this.journal.put(key, entry).catch(() => {});
        },
      });
    } catch (err) {
      // Aborted by the close: the entry stays, and the next start runs the job again (its parts resume).
      if (signal.aborted && err instanceof PutioAbortError) throw err;
      end = { out: null, error: err as Error };
    }
    if (signal.aborted) {
      await this.journal
        .put(key, { ...entry, outcome: { msg: end.out ? jsonSafeMsg(end.out) : null, error: end.error ? end.error.message : null } })
        .catch(() => {});
      return end;
    }
    if (end.out) deliver(end.out);
    await this.journal.remove(key).catch(() => {});
    if (end.error) throw end.error;
    return end;
  }
}
