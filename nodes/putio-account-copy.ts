/**
 * putio-account-copy: copies a file or folder of one put.io account into a folder of another,
 * server-side (lib/copy/): no byte passes through Node-RED. The kernel's account is the source;
 * the target account is a second config node attached here the same way (useAccount), and its
 * shared transfer watcher tells when each copy finished.
 */
import { PutioInputError } from "../lib/core/errors";
import { t } from "../lib/core/texts";
import type { PutioClient } from "../lib/client";
import { copyBetweenAccounts, watcherWaiter, type CopySummary } from "../lib/copy";
import { TransferWatcher } from "../lib/watch/watcher";
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
const WATCHER_KEY = "transfer-watch:socket:300000";
const WATCHER_INTERVAL_MS = 300_000;
/** Per node: its target account, and the target's watcher once a job used it. */
const targets = new WeakMap<Node, { account: AccountNode; watcher: TransferWatcher | null }>();

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
    start({ node, config }) {
      const account = useAccount(RED, node, config.def.targetAccount);
      const entry: { account: AccountNode; watcher: TransferWatcher | null } | null = account ? { account, watcher: null } : null;
      if (entry) targets.set(node, entry);
      return {
        close() {
          // The last user of the shared watcher stops it (as the watch and Transmission nodes do).
          if (entry?.watcher && entry.watcher.subscribers === 0) entry.account.dropShared(WATCHER_KEY);
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
        const watcher = target.shared(WATCHER_KEY, () => {
          const w = new TransferWatcher({ client: target.client, socket: target.socket(), intervalMs: WATCHER_INTERVAL_MS });
          w.start();
          return w;
        });
        entry.watcher = watcher;
        status(STATUS.busy(text("putio-account-copy.status.listing")));
        const summary: CopySummary = await copyBetweenAccounts({
          from: client,
          to,
          sourceId: id,
          targetFolderId,
          concurrency: config.concurrency,
          waitFor: watcherWaiter(watcher, to),
          signal,
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
        send(msg);
        const counts = { copied: summary.copied.length, skipped: summary.skipped.length, failed: summary.failed.length };
        status(
          summary.failed.length
            ? STATUS.warn(shortText(text("putio-account-copy.status.done-failed", counts)))
            : STATUS.ok(shortText(text("putio-account-copy.status.done", counts))),
        );
      } catch (err) {
        throw redactTarget(err);
      }
    },
  });
};
