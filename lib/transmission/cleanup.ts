/**
 * What put.io must do when the app removes a torrent, kept as a promise: each clean-up is tried
 * at once (the app's answer waits a few seconds for it), and what put.io does not take is kept
 * with the node's state and tried again (every 5 s at first, then every 30 s at the most: done
 * within a minute of put.io's return), also after a restart, until done.
 */
import type { PutioClient } from "../client";
import { PutioError } from "../core/errors";
import { render, t, type Text } from "../core/texts";
import { cleanLocal, errorText } from "./local-copy";
import type { Placement } from "./placement";
import type { TorrentRecord } from "./model";
import type { CleanupPolicy, PendingCleanup } from "./types";

/** How long a removal waits for put.io's clean-up before answering (the rest goes on in the background). */
const FIRST_ATTEMPT_MS = 5_000;

/** What put.io must do for a removed torrent, or null (policy "keep", or nothing there). */
export function putioCleanup(r: TorrentRecord, policy: CleanupPolicy, now: number): PendingCleanup | null {
  if (policy === "keep") return null;
  const c: PendingCleanup = { record: r, fileIds: [], skipTrash: false, removeTransferId: null, cancelTransferId: null, since: now, attempts: 0, error: null };
  if (r.fileId !== null && r.fileId > 0) {
    c.fileIds.push(r.fileId);
    // A lone archive was extracted beside itself: what came out goes with it.
    if (r.extracted?.partIds.includes(r.fileId) && r.extracted.topIds.length) c.fileIds.push(...r.extracted.topIds);
    // For good only with a verified local copy; otherwise to put.io's trash, from where it can be restored.
    c.skipTrash = policy === "delete" && r.phase === "done";
    c.removeTransferId = r.transferId;
  } else if (r.transferId !== null) {
    // Not finished on put.io (or failed there): the transfer is stopped; no file of it is deleted.
    c.cancelTransferId = r.transferId;
  } else return null;
  return c;
}

/**
 * A removed torrent's clean-ups: the local one first (it needs no put.io), then put.io's, kept in
 * `queue` and retried when put.io does not take it at once. What happened, for the removed msg.
 */
export async function cleanUpRemoved(
  r: TorrentRecord,
  deleteLocalData: boolean,
  o: { place: Placement; policy: CleanupPolicy; queue: CleanupQueue; now: number; report: (err: unknown) => void },
): Promise<Record<string, unknown>> {
  const detail: Record<string, unknown> = { putio: "kept", localDeleted: false, deleteLocalData };
  try {
    await cleanLocal(o.place, r, deleteLocalData, detail);
  } catch (err) {
    detail.error = errorText(err);
    o.report(err);
  }
  const c = putioCleanup(r, o.policy, o.now);
  if (c) {
    detail.putio = c.cancelTransferId !== null && !c.fileIds.length ? "cancelled" : c.skipTrash ? "deleted" : "trashed";
    const pending = await o.queue.start(c);
    if (pending) {
      detail.putio = "pending";
      detail.pendingError = pending;
    }
  }
  return detail;
}

export interface CleanupHooks {
  /** The list changed: store it with the state. */
  persist(): Promise<void>;
  /** A kept clean-up is done. */
  done(c: PendingCleanup): void;
  /** A kept clean-up failed again (reported once per clean-up). */
  failed(err: unknown): void;
}

export class CleanupQueue {
  /** Clean-ups put.io has not taken yet (stored with the state). */
  items: PendingCleanup[] = [];
  private readonly running = new Map<PendingCleanup, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private round = 0;
  private closed = false;

  constructor(
    private readonly client: PutioClient,
    private readonly hooks: CleanupHooks,
  ) {}

  /**
   * Tries `c` at once; if put.io fails it or takes longer than a few seconds, it is kept and
   * retried: the text of why is returned (null: done).
   */
  async start(c: PendingCleanup): Promise<Text | null> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.run(c).then(
        () => null,
        (err: unknown) => errorText(err),
      ),
      new Promise<Text>((resolve) => {
        timer = setTimeout(resolve, FIRST_ATTEMPT_MS, t("transmission.cleanup-slow"));
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    if (outcome === null) return null;
    c.error = render(outcome);
    c.errorText = outcome;
    this.items.push(c);
    this.schedule();
    return outcome;
  }

  /** Tries every kept clean-up once; what is done is reported and dropped. */
  async retry(): Promise<void> {
    let changed = false;
    for (const c of [...this.items]) {
      if (this.closed) return;
      try {
        await this.run(c);
        this.items.splice(this.items.indexOf(c), 1);
        changed = true;
        this.hooks.done(c);
      } catch (err) {
        const first = c.error === null;
        c.errorText = errorText(err);
        c.error = render(c.errorText);
        changed = true;
        if (first) this.hooks.failed(err);
      }
    }
    if (changed) await this.hooks.persist();
    if (this.items.length) this.schedule();
    else this.round = 0;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One clean-up, step by step; each step done is dropped from it (404: already gone). One run at a time per clean-up. */
  private run(c: PendingCleanup): Promise<void> {
    let run = this.running.get(c);
    if (!run) {
      run = this.steps(c).finally(() => this.running.delete(c));
      this.running.set(c, run);
    }
    return run;
  }

  private async steps(c: PendingCleanup): Promise<void> {
    const gone = (err: unknown) => {
      if (err instanceof PutioError && err.statusCode === 404) return;
      throw err;
    };
    c.attempts++;
    if (c.fileIds.length) {
      await this.client.files.delete(c.fileIds, { skipTrash: c.skipTrash }).catch(gone);
      c.fileIds = [];
    }
    if (c.removeTransferId !== null) {
      await this.client.transfers.remove([c.removeTransferId]).catch(gone);
      c.removeTransferId = null;
    }
    if (c.cancelTransferId !== null) {
      await this.client.transfers.cancel([c.cancelTransferId]).catch(gone);
      c.cancelTransferId = null;
    }
    c.error = null;
    delete c.errorText;
  }

  private schedule(): void {
    if (this.closed || this.timer || !this.items.length) return;
    const delay = Math.min(30_000, 5_000 * 2 ** Math.min(3, this.round++));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.retry();
    }, delay);
    this.timer.unref?.();
  }
}
