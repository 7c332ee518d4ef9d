/**
 * putio-account-info: reads the account (username, disk, plan) and settings on each input; with a
 * free-space threshold, messages go to output 2 when free space is below it ("disk almost full").
 */
import { useAccount } from "./common/account";
import { onInput } from "./common/input";
import { STATUS, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface AccountInfoDef extends NodeDef {
  account: string;
  /** Free-space threshold in GB; empty = single output behaviour. */
  thresholdGb?: string | number;
  includeSettings?: boolean;
}

function parseThreshold(value: unknown): number | null {
  if (value === undefined || value === null || String(value).trim() === "") return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n * 1024 ** 3 : null;
}

export = function (RED: NodeAPI): void {
  function PutioAccountInfoNode(this: Node, def: AccountInfoDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);
    const threshold = parseThreshold(def.thresholdGb);

    onInput(
      node,
      account,
      async ({ msg, send, status }) => {
        status(STATUS.busy("reading"));
        const client = await account!.ready();
        const info = await client.account.info();
        const settings = def.includeSettings ? await client.account.settings() : undefined;
        msg.payload = { ...info, ...(settings ? { settings } : {}) };
        msg.topic = msg.topic ?? "putio/account";
        const low = threshold !== null && info.disk.avail < threshold;
        const gb = (info.disk.avail / 1024 ** 3).toFixed(1);
        status(low ? STATUS.warn(`${gb} GB free: below threshold`) : STATUS.ok(`${gb} GB free`));
        send(low ? [null, msg] : [msg, null]);
      },
      { doneText: null },
    );
  }
  RED.nodes.registerType("putio-account-info", PutioAccountInfoNode);
};
