/**
 * putio-transfer-add: adds magnets, URLs and .torrent files to put.io. Every item is checked before
 * any call; bad items are named in the error while the good ones still go through.
 */
import { parseTransferItems, describeInput, type TransferItem } from "../lib/domains/transfer-input";
import type { Transfer } from "../lib/domains/transfers";
import { PutioInputError } from "../lib/core/errors";
import { t } from "../lib/core/texts";
import type { PutioClient } from "../lib/client";
import { isBlank } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { localizeError } from "./common/errors";
import { STATUS, evalProp, shortText, type NodeAPI, type NodeDef } from "./common/node-api";

interface AddDef extends NodeDef {
  account: string;
  folder?: string;
  folderType?: string;
  callbackUrl?: string;
  callbackUrlType?: string;
}

interface AddedTransfer {
  id: number;
  name: string | null;
  status: string;
  save_parent_id: number | null;
  source: string | null;
  /** put.io already had this transfer and returned it instead of adding it again. */
  duplicate: boolean;
  transfer: Transfer;
}

async function addOne(
  client: PutioClient,
  item: TransferItem,
  folderId: number | undefined,
  callbackUrl: string | undefined,
  existing: Set<number>,
  signal: AbortSignal,
): Promise<AddedTransfer> {
  let transfer: Transfer;
  if (item.kind === "torrent") {
    const res = await client.upload.upload(item.data, item.name, { parentId: folderId, signal });
    if (res.kind !== "transfer") throw new PutioInputError(t("putio-transfer-add.op.add", { name: item.name }), t("putio-transfer-add.errors.stored-as-file"));
    transfer = res.transfer;
  } else {
    transfer = await client.transfers.add(item.url, { saveParentId: folderId, callbackUrl, signal });
  }
  const duplicate = existing.has(transfer.id);
  existing.add(transfer.id);
  return {
    id: transfer.id,
    name: transfer.name ?? null,
    status: transfer.status,
    save_parent_id: transfer.save_parent_id ?? null,
    source: transfer.source ?? null,
    duplicate,
    transfer,
  };
}

export = function (RED: NodeAPI): void {
  definePutioNode<AddDef, AddDef>(RED, {
    type: "putio-transfer-add",
    config: (def) => def,
    // Every item is checked before the account is: a msg of only bad items fails with what is wrong with them.
    lazyAccount: true,
    doneStatus: null,
    async input({ node, config: def, msg, send, status, ready, signal, text }) {
      const { items, rejected } = parseTransferItems(msg.payload, typeof msg.filename === "string" ? msg.filename : undefined);
      if (!items.length && !rejected.length) throw new PutioInputError(t("putio-transfer-add.op.add-transfer"), t("putio-transfer-add.errors.empty"));
      const failed: Array<{ input: string; error: string }> = rejected.map((r) => ({ input: r.input, error: r.reason }));
      const added: AddedTransfer[] = [];
      if (items.length) {
        status(STATUS.busy(text("putio-transfer-add.status.adding", { count: items.length })));
        const client = await ready();
        const folder = await evalProp(RED, node, def.folder, def.folderType || "str", msg);
        const folderId = isBlank(folder) ? undefined : ((await client.folderId(folder as string | number, { create: true, signal })) as number);
        const cb = await evalProp(RED, node, def.callbackUrl, def.callbackUrlType || "str", msg);
        const callbackUrl = typeof cb === "string" && cb.trim() ? cb.trim() : undefined;
        // put.io answers a re-added active transfer with the existing one (same id): knowing the ids
        // listed before lets us report it as a duplicate instead of as new.
        const existing = new Set<number>();
        for await (const listed of client.transfers.list({ signal })) existing.add(listed.id);
        for (const item of items) {
          try {
            added.push(await addOne(client, item, folderId, callbackUrl, existing, signal));
          } catch (err) {
            // A refused token fails every item the same way: stop and report it once; so does a close.
            if ((err as { statusCode?: number }).statusCode === 401 || signal.aborted) throw err;
            failed.push({ input: item.kind === "torrent" ? item.name : describeInput(item.url), error: localizeError(RED, err as Error).message });
          }
        }
      }
      const single = !Array.isArray(msg.payload) && items.length + rejected.length === 1;
      msg.payload = single ? (added[0] ?? null) : added;
      msg.failed = failed;
      // Two equal magnets in one msg: the second comes back as the first's transfer, so it counts as already there.
      const dupes = added.filter((a) => a.duplicate).length;
      const fresh = added.length - dupes;
      // One outcome per msg: sent when every item was added, otherwise only the error (whose msg, for
      // a Catch node, still carries the added transfers). Sending and then failing would, for
      // example, answer an http-in request twice.
      if (!failed.length) {
        send(msg);
        status(
          STATUS.ok(
            shortText(
              !dupes
                ? text("putio-transfer-add.status.added", { added: fresh })
                : fresh
                  ? text("putio-transfer-add.status.added-dupes", { added: fresh, dupes })
                  : text("putio-transfer-add.status.dupes", { dupes }),
            ),
          ),
        );
      } else {
        throw new PutioInputError(
          t("putio-transfer-add.op.add-transfer"),
          t("putio-transfer-add.errors.failed", {
            failed: failed.length,
            total: failed.length + added.length,
            list: failed.map((f) => `${f.input}: ${f.error}`).join("; "),
          }),
        );
      }
    },
  });
};
