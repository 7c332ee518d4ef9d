/** putio-file-action: move, rename, delete, create folders (mkdir -p), and the trash (list, restore, empty). */
import { PutioInputError } from "../lib/errors";
import { collect } from "../lib/paginate";
import { idsOf } from "../lib/ids";
import { useAccount } from "./common/account";
import { onInput } from "./common/input";
import { STATUS, evalProp, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

type Action = "move" | "rename" | "delete" | "mkdir" | "trash-list" | "restore" | "empty";
const ACTIONS: Action[] = ["move", "rename", "delete", "mkdir", "trash-list", "restore", "empty"];

interface FileActionDef extends NodeDef {
  account: string;
  action?: Action | "msg";
  ids?: string;
  target?: string;
  targetType?: string;
  newName?: string;
  newNameType?: string;
  skipTrash?: boolean;
}

/** Names of the files a msg carried (file objects from putio-files), to name them in errors. */
function namesOf(value: unknown): Map<number, string> {
  const names = new Map<number, string>();
  for (const v of Array.isArray(value) ? value : [value]) {
    if (v && typeof v === "object" && typeof (v as { id?: unknown }).id === "number" && typeof (v as { name?: unknown }).name === "string") {
      names.set((v as { id: number }).id, (v as { name: string }).name);
    }
  }
  return names;
}

export = function (RED: NodeAPI): void {
  function PutioFileActionNode(this: Node, def: FileActionDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);

    onInput(node, account, async ({ msg, send, status }) => {
      const action = (def.action && def.action !== "msg" ? def.action : msg.action) as Action;
      if (!ACTIONS.includes(action)) throw new PutioInputError("file action", `unknown action ${JSON.stringify(action)}: use ${ACTIONS.join(", ")}`);
      const source = def.ids?.trim() ? def.ids : msg.payload;
      const needsIds = action === "move" || action === "rename" || action === "delete" || action === "restore";
      const ids = needsIds ? idsOf(source, `${action} files`, "file id or file") : [];
      if (needsIds && !ids.length) throw new PutioInputError(`${action} files`, "no file ids: put them in msg.payload or in the node");
      const names = namesOf(source);
      const label = (id: number) => (names.has(id) ? `"${names.get(id)}" (${id})` : `file ${id}`);
      const target = await evalProp(RED, node, def.target, def.targetType || "str", msg);
      const newNameValue = await evalProp(RED, node, def.newName, def.newNameType || "str", msg);
      const newName = typeof newNameValue === "string" && newNameValue.trim() ? newNameValue.trim() : undefined;
      status(STATUS.busy(action));
      const client = await account!.ready();

      switch (action) {
        case "move": {
          if (target === undefined || target === null || String(target).trim() === "") throw new PutioInputError("move files", "no destination folder (id or path)");
          const parentId = (await client.folderId(target as string | number, { create: true })) as number;
          if (newName) {
            if (ids.length !== 1) throw new PutioInputError("move files", "a new name needs exactly one file");
            await client.files.moveAndRename(ids[0], parentId, newName);
          } else {
            const errors = await client.files.move(ids, parentId);
            if (errors.length) {
              throw new PutioInputError(
                "move files",
                `${errors.length} of ${ids.length} could not be moved: ` + errors.map((e) => `${e.name ? `"${e.name}" (${e.id})` : label(e.id)}: ${e.error_type}`).join("; "),
              );
            }
          }
          msg.payload = { moved: ids, parent_id: parentId };
          break;
        }
        case "rename":
          if (ids.length !== 1) throw new PutioInputError("rename", "rename takes exactly one file");
          if (!newName) throw new PutioInputError(`rename ${label(ids[0])}`, "no new name");
          await client.files.rename(ids[0], newName);
          msg.payload = { id: ids[0], name: newName };
          break;
        case "delete": {
          const { skipped } = await client.files.delete(ids, { skipTrash: !!def.skipTrash });
          if (skipped) throw new PutioInputError("delete files", `${skipped} of ${ids.length} file(s) did not exist on put.io (${ids.map(label).join(", ")})`);
          msg.payload = { deleted: ids, trash: !def.skipTrash };
          break;
        }
        case "mkdir": {
          const p = String(target ?? msg.payload ?? "").trim();
          if (!p.startsWith("/")) throw new PutioInputError("create folder", `"${p}" is not a path like /Movies/2026`);
          msg.payload = { id: await client.folderId(p, { create: true }), path: p };
          break;
        }
        case "trash-list":
          msg.payload = await collect(client.trash.list());
          break;
        case "restore":
          await client.trash.restore(ids);
          msg.payload = { restored: ids };
          break;
        case "empty":
          await client.trash.empty();
          msg.payload = { emptied: true };
          break;
      }
      send(msg);
    }, { doneText: () => "done" });
  }
  RED.nodes.registerType("putio-file-action", PutioFileActionNode);
};
