/**
 * Waiting for a transfer on the target account to finish (COMPLETED, SEEDING or ERROR): through the
 * account's shared TransferWatcher (socket pushes, re-read from the API) with a slow read of its own
 * as a safety net, or by polling it with backoff where no watcher runs.
 */
import type { PutioClient } from "../client";
import { PutioAbortError } from "../core/errors";
import { isTransferFinished } from "../core/quirks";
import { linkSignals } from "../core/signals";
import { abortableSleep, backoffDelay } from "../core/sleep";
import { t } from "../core/texts";
import type { Transfer } from "../domains/transfers";
import type { ChangeListener } from "../watch/watcher";

/** Resolves with the transfer once it finished; rejects when the signal fires or it cannot be read. */
export type TransferWaiter = (transferId: number, signal: AbortSignal) => Promise<Transfer>;

const abortOf = (id: number, signal: AbortSignal) =>
  signal.reason instanceof PutioAbortError ? signal.reason : new PutioAbortError(t("op.get-transfer", { id }), signal.reason);

/** Reads the transfer at growing intervals (base doubling up to max, jittered). */
export function pollingWaiter(client: PutioClient, opts: { baseMs?: number; maxMs?: number } = {}): TransferWaiter {
  const base = opts.baseMs ?? 1000;
  const max = opts.maxMs ?? 15_000;
  return async (id, signal) => {
    for (let attempt = 0; ; attempt++) {
      const tr = await client.transfers.get(id, signal);
      if (isTransferFinished(tr.status)) return tr;
      await abortableSleep(backoffDelay(attempt, base, max), signal).catch(() => {
        throw abortOf(id, signal);
      });
    }
  };
}

/** The part of TransferWatcher a waiter uses. */
export interface WatcherLike {
  subscribe(listener: ChangeListener, wants?: ((status: string) => boolean) | null): () => void;
  hint(transferId: number, source: "reconcile" | "socket" | "callback"): Promise<void>;
}

/**
 * Through the account's watcher: subscribe, then ask it to read the transfer once (it may have
 * finished before we subscribed). A read of our own every `safetyMs` covers a missed push.
 */
export function watcherWaiter(watcher: WatcherLike, client: PutioClient, opts: { safetyMs?: number } = {}): TransferWaiter {
  const safety = pollingWaiter(client, { baseMs: opts.safetyMs ?? 30_000, maxMs: opts.safetyMs ?? 30_000 });
  return (id, signal) =>
    new Promise<Transfer>((resolve, reject) => {
      const local = new AbortController();
      const link = linkSignals(signal, local.signal);
      const both = link.signal;
      let unsubscribe = () => {};
      const end = (err: unknown, tr?: Transfer) => {
        unsubscribe();
        local.abort();
        link.dispose();
        if (tr) resolve(tr);
        else reject(err);
      };
      unsubscribe = watcher.subscribe(
        (change) => {
          if (change.transfer.id === id && isTransferFinished(change.transfer.status)) end(null, change.transfer);
        },
        (status) => isTransferFinished(status),
      );
      void watcher.hint(id, "reconcile");
      // The safety net waits a full interval before its first read (the hint above did that one).
      void abortableSleep(opts.safetyMs ?? 30_000, both)
        .then(() => safety(id, both))
        .then(
          (tr) => end(null, tr),
          (err: unknown) => {
            if (!local.signal.aborted) end(signal.aborted ? abortOf(id, signal) : err);
          },
        );
    });
}
