/**
 * putio-account-info: reads the account (username, disk, plan) and settings on each input; with a
 * free-space threshold, messages go to output 2 when free space is below it ("disk almost full").
 */
import { num } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { STATUS, type NodeAPI, type NodeDef } from "./common/node-api";

interface AccountInfoDef extends NodeDef {
  account: string;
  /** Free-space threshold in GB; empty = single output behaviour. */
  thresholdGb?: string | number;
  includeSettings?: boolean;
}

function parseThreshold(value: unknown): number | null {
  const n = num(value);
  return n === undefined ? null : n * 1024 ** 3;
}

export = function (RED: NodeAPI): void {
  definePutioNode<AccountInfoDef, { threshold: number | null; includeSettings: boolean }>(RED, {
    type: "putio-account-info",
    config: (def) => ({ threshold: parseThreshold(def.thresholdGb), includeSettings: !!def.includeSettings }),
    doneStatus: null,
    async input({ config, msg, send, status, client, signal, text }) {
      status(STATUS.busy(text("putio-account-info.status.reading")));
      const info = await client.account.info(signal);
      const settings = config.includeSettings ? await client.account.settings(signal) : undefined;
      msg.payload = { ...info, ...(settings ? { settings } : {}) };
      msg.topic = msg.topic ?? "putio/account";
      const low = config.threshold !== null && info.disk.avail < config.threshold;
      const gb = (info.disk.avail / 1024 ** 3).toFixed(1);
      status(low ? STATUS.warn(text("putio-account-info.status.low", { gb })) : STATUS.ok(text("putio-account-info.status.free", { gb })));
      send(low ? [null, msg] : [msg, null]);
    },
  });
};
