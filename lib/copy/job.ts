/**
 * One copy job's shared state, handed to each of its steps (plan.ts, copy-file.ts, adopt.ts,
 * finish.ts): the two accounts and the job's signal, its summary and progress, its journal records
 * as it knows them, and what it works on on the target (claims.ts).
 */
import type { PutioClient } from "../client";
import { PutioAbortError, PutioBaseError } from "../core/errors";
import { collect } from "../core/paginate";
import { t, type Text } from "../core/texts";
import type { PutioFile } from "../domains/files";
import { isFatal } from "./checks";
import { claimsOn, copiesOn, type Claim } from "./claims";
import type { CopyLedger, CopyRecord } from "./journal";
import { hideInError } from "./redact";
import type { CopiedEntry, CopyOptions, CopyProgress, CopySummary } from "./types";
import { pollingWaiter, type TransferWaiter } from "./wait";

export interface SourceFile {
  file: PutioFile;
  path: string;
  /** Path of its folder ("" = the target folder itself). */
  dir: string;
}

/** A source file to copy, with the id of its folder on the target. */
export type Todo = SourceFile & { parentId: number };

/** How one file ended: copied, or found on the target already (skipped). */
export type Outcome = { skipped: boolean; entry: CopiedEntry };

/** put.io lists a folder 1,000 children per page; one listing per folder (each page followed). */
export function listAll(client: PutioClient, id: number, signal?: AbortSignal): Promise<PutioFile[]> {
  return collect(client.files.list(id, { signal }));
}

/** The key of a source file's copy into a target folder (records, claims.ts `copiesOn`). */
export const copyKey = (source: number, parent: number) => `${source}>${parent}`;

export class CopyJob {
  readonly from: PutioClient;
  readonly to: PutioClient;
  readonly waitFor: TransferWaiter;
  readonly addAttempts: number;
  readonly backoff: { base: number; max: number };
  /** The job as a phrase, for its errors. */
  readonly attempted: Text;
  readonly summary: CopySummary = { copied: [], skipped: [], failed: [], folders: 0 };
  readonly progress: CopyProgress = { total: 0, done: 0, active: 0, copied: 0, skipped: 0, failed: 0 };
  /** Where the job's records are kept (journal.ts); null: none, and an abort cancels its transfers. */
  readonly ledger: CopyLedger | null;
  /** The records as this job knows them, by "source file id>target folder id". */
  readonly records = new Map<string, CopyRecord>();
  /** Transfers live jobs work on, on the target account. */
  readonly claims: Map<number, Claim>;
  /** Copies live jobs work on, on the target account. */
  readonly copying: Map<string, Claim>;
  /** This job, as the owner of its claims. */
  readonly id = Symbol("copy job");
  /** Transfers this job added and is working on (cancelled if the job fails). */
  readonly active = new Set<number>();
  private readonly onProgress?: (p: CopyProgress) => void;

  /**
   * @param signal the job's one signal: the caller's, or a failure that ends the job.
   * @param handedOver every storage URL handed to the target, so that no text of the job can show one (redact.ts).
   */
  constructor(
    opts: CopyOptions,
    readonly signal: AbortSignal,
    readonly handedOver: Set<string>,
  ) {
    this.from = opts.from;
    this.to = opts.to;
    this.waitFor = opts.waitFor ?? pollingWaiter(opts.to);
    this.addAttempts = Math.max(1, opts.addAttempts ?? 8);
    this.backoff = opts.addBackoffMs ?? { base: 2000, max: 60_000 };
    this.attempted = t("op.copy-between-accounts", { id: opts.sourceId, folder: opts.targetFolderId });
    this.ledger = opts.journal ?? null;
    this.claims = claimsOn(opts.to);
    this.copying = copiesOn(opts.to);
    this.onProgress = opts.onProgress;
  }

  /** Throws the job's abort once its signal has fired. */
  aborted(): void {
    const { signal } = this;
    if (signal.aborted) throw signal.reason instanceof PutioAbortError ? signal.reason : new PutioAbortError(this.attempted, signal.reason);
  }

  /** An entry failed: into the summary, unless the error ends the job (then it is thrown). */
  fail(path: string, err: unknown): void {
    this.aborted();
    if (isFatal(err)) throw err;
    const e = hideInError(
      err instanceof PutioBaseError ? err : new PutioBaseError(t("op.copy-file", { path }), t("plain", { text: String((err as Error)?.message ?? err) })),
      this.handedOver,
    );
    this.summary.failed.push({ path, error: e.message, code: e.code, text: e.text });
  }

  report(): void {
    const { progress, summary } = this;
    progress.copied = summary.copied.length;
    progress.skipped = summary.skipped.length;
    progress.failed = summary.failed.length;
    progress.done = progress.copied + progress.skipped + progress.failed;
    this.onProgress?.({ ...progress });
  }

  /** What an earlier run of this node left under way on the target, by source file and folder. */
  async loadRecords(): Promise<void> {
    for (const r of this.ledger ? await this.ledger.records() : []) this.records.set(copyKey(r.source, r.parent), r);
  }

  recordOf(source: number, parent: number): CopyRecord | undefined {
    return this.records.get(copyKey(source, parent));
  }

  /** The journal's record of that copy as it is now (another job of this node may have changed it). */
  async freshRecord(source: number, parent: number): Promise<CopyRecord | undefined> {
    return this.ledger ? (await this.ledger.records()).find((r) => r.source === source && r.parent === parent) : undefined;
  }

  async remember(r: CopyRecord): Promise<void> {
    this.records.set(copyKey(r.source, r.parent), r);
    await this.ledger?.put(r);
  }

  async forget(source: number, parent: number): Promise<void> {
    if (!this.records.delete(copyKey(source, parent))) return;
    await this.ledger?.remove(source, parent);
  }
}
