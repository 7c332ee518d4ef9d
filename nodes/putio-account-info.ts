/**
 * putio-account-info: reads the account (username, disk, plan) and settings on each input; with a
 * free-space threshold, messages go to output 2 when free space is below it ("disk almost full").
 * put.io's own warnings about the account (a failing callback URL…) go to output 3, once per change.
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
  /** Per node: the warnings it last reported (null: none read yet). */
  const lastWarnings = new WeakMap<object, string[] | null>();
  definePutioNode<AccountInfoDef, { threshold: number | null; includeSettings: boolean }>(RED, {
    type: "putio-account-info",
    config: (def) => ({ threshold: parseThreshold(def.thresholdGb), includeSettings: !!def.includeSettings }),
    doneStatus: null,
    start({ node }) {
      lastWarnings.set(node, null);
    },
    async input({ node, config, msg, send, status, client, signal, text }) {
      status(STATUS.busy(text("putio-account-info.status.reading")));
      const info = await client.account.info(signal);
      const settings = config.includeSettings ? await client.account.settings(signal) : undefined;
      msg.payload = { ...info, ...(settings ? { settings } : {}) };
      msg.topic = msg.topic ?? "putio/account";
      const low = config.threshold !== null && info.disk.avail < config.threshold;
      const gb = (info.disk.avail / 1024 ** 3).toFixed(1);
      status(low ? STATUS.warn(text("putio-account-info.status.low", { gb })) : STATUS.ok(text("putio-account-info.status.free", { gb })));
      // Warnings: only when the set of active ones changed since this node last looked (also when they clear).
      const active = Object.entries(info.warnings ?? {})
        .filter(([, on]) => on === true)
        .map(([name]) => name)
        .sort();
      const before = lastWarnings.get(node) ?? null;
      lastWarnings.set(node, active);
      const changed = before === null ? active.length > 0 : active.join() !== before.join();
      const warning = changed
        ? {
            topic: "putio/account/warnings",
            payload: { warnings: active, added: active.filter((w) => !before?.includes(w)), cleared: (before ?? []).filter((w) => !active.includes(w)) },
          }
        : null;
      send(low ? [null, msg, warning] : [msg, null, warning]);
    },
  });
};
