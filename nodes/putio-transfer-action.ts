/** putio-transfer-action: retry, cancel, clean (finished ones) or remove transfers. */
import type { PutioClient } from "../lib/client";
import { PutioError, PutioInputError } from "../lib/errors";
import { transferIdsOf } from "../lib/transfer-input";
import { useAccount } from "./common/account";
import { onInput } from "./common/input";
import { STATUS, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

type Action = "retry" | "cancel" | "clean" | "remove";
const ACTIONS: Action[] = ["retry", "cancel", "clean", "remove"];

interface ActionDef extends NodeDef {
  account: string;
  action?: Action | "msg";
  transferIds?: string;
  /**
   * clean: "all" finished transfers (default; msg.payload is ignored, so an inject's timestamp is
   * not taken for an id) or only the ids in "payload".
   */
  cleanScope?: "all" | "payload";
}

/** put.io ignores unknown ids on cancel/remove; we check first so a typo is an error, not a no-op. */
async function requireExisting(client: PutioClient, ids: number[]): Promise<void> {
  const missing: number[] = [];
  for (const id of ids) {
    try {
      await client.transfers.get(id);
    } catch (err) {
      if (err instanceof PutioError && err.statusCode === 404) missing.push(id);
      else throw err;
    }
  }
  if (missing.length) throw new PutioInputError("transfer action", `no transfer with id ${missing.join(", ")} on put.io`);
}

export = function (RED: NodeAPI): void {
  function PutioTransferActionNode(this: Node, def: ActionDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);

    onInput(node, account, async ({ msg, send, status }) => {
      const action = (def.action && def.action !== "msg" ? def.action : msg.action) as Action;
      if (!ACTIONS.includes(action)) throw new PutioInputError("transfer action", `unknown action ${JSON.stringify(action)}: use ${ACTIONS.join(", ")}`);
      const fromNode = !!def.transferIds?.trim();
      const payloadIgnored = action === "clean" && def.cleanScope !== "payload";
      const ids = transferIdsOf(fromNode ? def.transferIds : payloadIgnored ? undefined : msg.payload, `${action} transfers`);
      if (!ids.length && action !== "clean") throw new PutioInputError(`${action} transfers`, "no transfer ids: put them in msg.payload or in the node");
      status(STATUS.busy(action));
      const client = await account!.ready();
      if (action === "retry") {
        msg.payload = [];
        for (const id of ids) (msg.payload as unknown[]).push(await client.transfers.retry(id));
      } else if (action === "clean") {
        if (ids.length) await requireExisting(client, ids);
        msg.payload = { deleted_ids: await client.transfers.clean(ids) };
      } else {
        await requireExisting(client, ids);
        if (action === "cancel") await client.transfers.cancel(ids);
        else await client.transfers.remove(ids);
        msg.payload = { [action === "cancel" ? "cancelled" : "removed"]: ids };
      }
      send(msg);
    }, { doneText: () => "done" });
  }
  RED.nodes.registerType("putio-transfer-action", PutioTransferActionNode);
};
