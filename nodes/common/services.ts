/**
 * The services an account's nodes share, each under one key: the download scheduler (files at
 * once, bandwidth and connections are per account) and the transfer watcher per mode. Nodes ask
 * here instead of spelling the keys themselves.
 */
import * as path from "node:path";
import type { NodeAPI } from "node-red";
import { DownloadScheduler, type DownloadLimits } from "../../lib/download";
import { ownershipLedger, type OwnershipLedger } from "../../lib/local/ownership";
import { TransferWatcher } from "../../lib/watch/watcher";
import type { AccountNode } from "./account";

/**
 * What this package wrote on the local disk, for every node of the process: kept in the user
 * directory so "ours" survives a restart (in memory when Node-RED has no user directory).
 */
export function localLedger(RED: NodeAPI): OwnershipLedger {
  const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
  return ownershipLedger(userDir ? path.join(userDir, "node-red-putio", "owned-files.json") : null);
}

/** The account's download scheduler; the first node to ask sets its limits (a download node reconfigures them). */
export function downloadsOf(RED: NodeAPI, account: AccountNode, limits?: Partial<DownloadLimits>): DownloadScheduler {
  return account.shared("downloads", () => new DownloadScheduler(account.client, limits, { ledger: localLedger(RED) }));
}

export type WatchMode = "socket" | "poll";

/** How often a socket watcher reconciles with put.io's list (the nodes that need no other interval). */
export const WATCHER_RECONCILE_MS = 300_000;

/** The account's transfer watcher for one mode and interval (one per account and mode). */
export function transferWatcherOf(account: AccountNode, mode: WatchMode = "socket", intervalMs = WATCHER_RECONCILE_MS): TransferWatcher {
  return account.shared(`transfer-watch:${mode}:${intervalMs}`, () => {
    const w = new TransferWatcher({ client: account.client, socket: mode === "socket" ? account.socket() : null, intervalMs });
    w.start();
    return w;
  });
}

/** A node stopped using the watcher: close it once no node of the account follows it. */
export function releaseTransferWatcher(account: AccountNode, watcher: TransferWatcher, mode: WatchMode = "socket", intervalMs = WATCHER_RECONCILE_MS): void {
  if (watcher.subscribers === 0) account.dropShared(`transfer-watch:${mode}:${intervalMs}`);
}
