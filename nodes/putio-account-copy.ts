/**
 * putio-account-copy: copies a file or folder of one put.io account into a folder of another,
 * server-side (lib/copy/): no byte passes through Node-RED. The kernel's account is the source;
 * the target account is a second config node attached here the same way (useAccount), and its
 * shared transfer watcher tells when each copy finished.
 */
import { PutioAbortError, PutioInputError } from "../lib/core/errors";
import { t } from "../lib/core/texts";
import type { PutioClient } from "../lib/client";
import * as path from "node:path";
import { CopyJournal, copyBetweenAccounts, undoCopies, watcherWaiter, type CopySummary } from "../lib/copy";
import { jsonSafeMsg } from "../lib/download/journal";
import type { TransferWatcher } from "../lib/watch/watcher";
import { releaseTransferWatcher, transferWatcherOf } from "./common/services";
import { useAccount, type AccountNode } from "./common/account";
import { isBlank, num } from "./common/config";
import { renderText, toError } from "./common/errors";
import { definePutioNode, untilAborted } from "./common/kernel";
import { STATUS, evalProp, shortText, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface CopyDef extends NodeDef {
  account: string;
  targetAccount?: string;
  source?: string;
  sourceType?: string;
  target?: string;
  targetType?: string;
  concurrency?: string | number;
}

interface CopyConfig {
  def: CopyDef;
  concurrency: number;
}

/** The account's one watcher (socket + slow reconcile), the same key the Transmission node uses. */
/** Per node: its target account, the target's watcher once a job used it, and its journal. */
const targets = new WeakMap<Node, { account: AccountNode; watcher: TransferWatcher | null; journal: CopyJournal | null }>();
/** How long a removed node may take to undo what its copies left under way on the target. */
const UNDO_MS = 5000;

/** The source as an id: a number, digits, a put.io file object, or a path ("/Movies/Film.mkv"). */
async function sourceId(client: PutioClient, value: unknown, signal: AbortSignal): Promise<number> {
  const attempted = t("putio-account-copy.op.find-source");
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  if (value && typeof value === "object" && typeof (value as { id?: unknown }).id === "number") return (value as { id: number }).id;
  if (typeof value !== "string" || isBlank(value)) throw new PutioInputError(attempted, t("putio-account-copy.errors.no-source"));
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const parts = s.split("/").filter(Boolean);
  if (!parts.length) return 0;
  const name = parts.pop()!;
  const parent = await client.folderId("/" + parts.join("/"), { signal });
  const found = parent === null ? null : await client.files.child(parent, name, signal);
  if (!found) throw new PutioInputError(attempted, t("putio-account-copy.errors.source-missing", { path: s }));
  return found.id;
}

export = function (RED: NodeAPI): void {
  definePutioNode<CopyDef, CopyConfig>(RED, {
    type: "putio-account-copy",
    config: (def) => {
      const concurrency = num(def.concurrency) ?? 4;
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 20)
        throw new PutioInputError(t("putio-account-copy.op.read-config"), t("putio-account-copy.errors.bad-concurrency", { value: String(def.concurrency) }));
      return { def, concurrency };
    },
    doneStatus: null,
    start({ node, config, closing, ready, text }) {
      const account = useAccount(RED, node, config.def.targetAccount);
      // Kept in the user directory (as the download node's journal): what a restart, a redeploy or a
      // crash interrupted is adopted by the job run again at start, never copied twice.
      const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
      const journal =
        account && userDir ? new CopyJournal(path.join(userDir, "node-red-putio", `account-copy-${node.id.replace(/[^\w.-]/g, "_")}.json`)) : null;
      const entry = account ? { account, watcher: null as TransferWatcher | null, journal } : null;
      if (entry) targets.set(node, entry);
      if (account && journal) {
        (async () => {
          const left = await journal.pendingJobs();
          if (!left.length) return;
          await ready();
          await untilAborted(account.ready(), closing, t("putio-account-copy.op.copy"));
          node.log(text("putio-account-copy.log.resuming", { count: left.length }));
          for (const [, job] of left) node.receive(job.msg);
        })().catch((err: Error) => {
          if (!closing.aborted) node.warn(text("putio-account-copy.warn.not-resumed", { message: err.message }));
        });
      }
      return {
        async close(removed) {
          // The last user of the shared watcher stops it (as the watch and Transmission nodes do).
          if (entry?.watcher) releaseTransferWatcher(entry.account, entry.watcher);
          if (!journal) return;
          if (!removed) return journal.close();
          // The node is gone: what its copies left under way on the target is undone, not left for ever.
          await undoCopies(account!.client, journal, AbortSignal.timeout(UNDO_MS)).catch(() => undefined);
          await journal.discard();
        },
      };
    },
    async input({ node, config, msg, send, status, client, signal, text }) {
      const { def } = config;
      const entry = targets.get(node);
      const target = entry?.account;
      if (!entry || !target) throw new PutioInputError(t("putio-account-copy.op.copy"), t("putio-account-copy.errors.no-target-account"));
      const redactTarget = (err: unknown) => toError(err, target.tokenForRedaction());
      try {
        const to = await untilAborted(target.ready(), signal, t("putio-account-copy.op.copy"));
        const rawSource = await evalProp(RED, node, def.source ?? "payload", def.sourceType || "msg", msg);
        const id = await sourceId(client, rawSource, signal);
        const rawTarget = await evalProp(RED, node, def.target ?? "", def.targetType || "str", msg);
        const targetFolderId = isBlank(rawTarget) ? 0 : ((await to.folderId(rawTarget as string | number, { create: true, signal })) as number);
        const watcher = transferWatcherOf(target);
        entry.watcher = watcher;
        status(STATUS.busy(text("putio-account-copy.status.listing")));
        const journal = entry.journal;
        const key = String(msg._msgid);
        if (journal)
          await journal
            .putJob(key, { msg: jsonSafeMsg(msg), since: Date.now() })
            .catch((err: Error) => node.warn(text("putio-account-copy.warn.journal", { message: err.message })));
        const summary: CopySummary = await copyBetweenAccounts({
          from: client,
          to,
          sourceId: id,
          targetFolderId,
          concurrency: config.concurrency,
          waitFor: watcherWaiter(watcher, to),
          signal,
          journal: journal ?? undefined,
          onProgress: (p) => status(STATUS.busy(shortText(text("putio-account-copy.status.copying", { done: p.done, total: p.total, active: p.active })))),
        });
        msg.payload = {
          copied: summary.copied,
          skipped: summary.skipped,
          // In the runtime's language; the code stays for flows that branch on it.
          failed: summary.failed.map((f) => ({
            path: f.path,
            error: toError(new Error(renderText(RED, f.text)), target.tokenForRedaction()).message,
            code: f.code,
          })),
          folders: summary.folders,
        };
        msg.sourceId = id;
        msg.targetFolderId = targetFolderId;
        // Ended while the node closes: Node-RED drops what a closing node sends, so the job stays for the next start.
        if (signal.aborted) throw new PutioAbortError(t("putio-account-copy.op.copy"), signal.reason);
        send(msg);
        await journal?.removeJob(key).catch(() => {});
        const counts = { copied: summary.copied.length, skipped: summary.skipped.length, failed: summary.failed.length };
        status(
          summary.failed.length
            ? STATUS.warn(shortText(text("putio-account-copy.status.done-failed", counts)))
            : STATUS.ok(shortText(text("putio-account-copy.status.done", counts))),
        );
      } catch (err) {
        // A job that failed (not one a close interrupted) is not run again at the next start.
        if (!signal.aborted) await entry.journal?.removeJob(String(msg._msgid)).catch(() => {});
        throw redactTarget(err);
      }
    },
  });
};
