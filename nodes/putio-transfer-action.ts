/** putio-transfer-action: retry, cancel, clean (finished ones) or remove transfers. */
import { describeValue } from "../lib/core/describe";
import { t } from "../lib/core/texts";
import type { PutioClient } from "../lib/client";
import { collect } from "../lib/core/paginate";
import type { Transfer } from "../lib/domains/transfers";
import { TRANSFER_CLEANED_STATUSES } from "../lib/core/quirks";
import { PutioError, PutioInputError } from "../lib/core/errors";
import { transferIdsOf } from "../lib/domains/transfer-input";
import { definePutioNode } from "./common/kernel";
import { textOf } from "./common/i18n";
import { STATUS, type NodeAPI, type NodeDef } from "./common/node-api";

type Action = "retry" | "cancel" | "clean" | "remove";
const ACTIONS: Action[] = ["retry", "cancel", "clean", "remove"];
/** What each action attempts, as its errors name it. */
const OPS: Record<Action, string> = {
  retry: "putio-transfer-action.op.retry",
  cancel: "putio-transfer-action.op.cancel",
  clean: "putio-transfer-action.op.clean",
  remove: "putio-transfer-action.op.remove",
};

interface ActionDef extends NodeDef {
  account: string;
  action?: Action | "msg";
  transferIds?: string;
  /**
   * clean: "all" finished transfers (default; msg.payload is ignored, so an inject's timestamp is
   * not taken for an id) or only the ids in "payload".
   */
  cleanScope?: "all" | "payload";
  /** Nothing is changed on put.io: the output lists what the action would do. msg.dryRun === true does the same per msg. */
  dryRun?: boolean;
}

/** What a dry run reports about one transfer. */
function summary(t: Transfer) {
  return { id: t.id, name: t.name ?? null, status: t.status, file_id: t.file_id ?? null, save_parent_id: t.save_parent_id ?? null };
}

/** put.io ignores unknown ids on cancel/remove; we check first so a typo is an error, not a no-op. */
async function requireExisting(client: PutioClient, ids: number[], signal: AbortSignal): Promise<Transfer[]> {
  const missing: number[] = [];
  const found: Transfer[] = [];
  for (const id of ids) {
    try {
      found.push(await client.transfers.get(id, signal));
    } catch (err) {
      if (err instanceof PutioError && err.statusCode === 404) missing.push(id);
      else throw err;
    }
  }
  if (missing.length) throw new PutioInputError(t("putio-transfer-action.op.action"), t("putio-transfer-action.errors.not-found", { ids: missing.join(", ") }));
  return found;
}

export = function (RED: NodeAPI): void {
  definePutioNode<ActionDef, ActionDef>(RED, {
    type: "putio-transfer-action",
    config: (def) => def,
    // The action and the ids are checked before the account is.
    lazyAccount: true,
    doneStatus: (m) => textOf(RED, m.dryRun === true ? "common.status.dry-run-done" : "common.status.done"),
    async input({ config: def, msg, send, status, ready, signal, text }) {
      const action = (def.action && def.action !== "msg" ? def.action : msg.action) as Action;
      if (!ACTIONS.includes(action))
        throw new PutioInputError(
          t("putio-transfer-action.op.action"),
          t("putio-transfer-action.errors.unknown-action", { value: describeValue(action, 40), actions: ACTIONS.join(", ") }),
        );
      const attempted = t(OPS[action]);
      const fromNode = !!def.transferIds?.trim();
      const payloadIgnored = action === "clean" && def.cleanScope !== "payload";
      const ids = transferIdsOf(fromNode ? def.transferIds : payloadIgnored ? undefined : msg.payload, attempted);
      if (!ids.length && action !== "clean") throw new PutioInputError(attempted, t("putio-transfer-action.errors.no-ids"));
      const dryRun = !!def.dryRun || msg.dryRun === true;
      const doing = text(`putio-transfer-action.option.action.${action}`);
      status(STATUS.busy(dryRun ? text("common.status.dry-run", { action: doing }) : doing));
      const client = await ready();
      if (dryRun) {
        // The same checks and the same selection as the real action, with reads only.
        if (action === "clean") {
          const finished = (await collect(client.transfers.list({ signal }))).filter((t) => TRANSFER_CLEANED_STATUSES.has(t.status));
          const given = ids.length ? await requireExisting(client, ids, signal) : null;
          const would = given ? finished.filter((t) => ids.includes(t.id)) : finished;
          msg.payload = {
            dryRun: true,
            action,
            wouldClean: would.map(summary),
            notFinished: given ? given.filter((t) => !TRANSFER_CLEANED_STATUSES.has(t.status)).map(summary) : [],
          };
        } else {
          const key = { retry: "wouldRetry", cancel: "wouldCancel", remove: "wouldRemove" }[action];
          msg.payload = { dryRun: true, action, [key]: (await requireExisting(client, ids, signal)).map(summary) };
        }
        msg.dryRun = true;
        send(msg);
        return;
      }
      if (action === "retry") {
        msg.payload = [];
        for (const id of ids) (msg.payload as unknown[]).push(await client.transfers.retry(id, signal));
      } else if (action === "clean") {
        if (ids.length) await requireExisting(client, ids, signal);
        msg.payload = { deleted_ids: await client.transfers.clean(ids, signal) };
      } else {
        await requireExisting(client, ids, signal);
        if (action === "cancel") await client.transfers.cancel(ids, signal);
        else await client.transfers.remove(ids, signal);
        msg.payload = { [action === "cancel" ? "cancelled" : "removed"]: ids };
      }
      send(msg);
    },
  });
};
