/** putio-file-action: move, rename, delete, create folders (mkdir -p), and the trash (list, restore, delete, empty). */
import { describeValue } from "../lib/core/describe";
import { t } from "../lib/core/texts";
import { PutioBaseError, PutioError, PutioInputError } from "../lib/core/errors";
import type { PutioClient } from "../lib/client";
import { checkNotRoot } from "../lib/core/wire";
import { collect } from "../lib/core/paginate";
import { convertToMp4AndWait, type Mp4Result } from "../lib/media-jobs/mp4";
import { idsOf } from "../lib/core/ids";
import { isBlank } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { textOf } from "./common/i18n";
import { STATUS, evalProp, type NodeAPI, type NodeDef } from "./common/node-api";

type Action = "move" | "rename" | "delete" | "mkdir" | "trash-list" | "restore" | "trash-delete" | "empty" | "mp4";
const ACTIONS: Action[] = ["move", "rename", "delete", "mkdir", "trash-list", "restore", "trash-delete", "empty", "mp4"];
/** What each action attempts, as its errors name it. */
const OPS: Record<Action, string> = {
  move: "putio-file-action.op.move",
  rename: "putio-file-action.op.rename",
  delete: "putio-file-action.op.delete",
  mkdir: "putio-file-action.op.mkdir",
  "trash-list": "putio-file-action.op.trash-list",
  restore: "putio-file-action.op.restore",
  "trash-delete": "putio-file-action.op.trash-delete",
  empty: "putio-file-action.op.empty",
  mp4: "putio-file-action.op.mp4",
};
const NEEDS_IDS = new Set<Action>(["move", "rename", "delete", "restore", "trash-delete", "mp4"]);

interface FileActionDef extends NodeDef {
  account: string;
  action?: Action | "msg";
  ids?: string;
  target?: string;
  targetType?: string;
  newName?: string;
  newNameType?: string;
  skipTrash?: boolean;
  /** Nothing is changed on put.io: the output lists what the action would do. msg.dryRun === true does the same per msg. */
  dryRun?: boolean;
}

/** What a dry run reports about one file: what put.io says it is, and where. */
interface FileSummary {
  id: number;
  name: string;
  path: string | null;
  file_type: string;
  size: number;
}

/** The files behind ids, with their paths (walking up the parents); ids put.io does not know are returned apart. */
async function describeFiles(client: PutioClient, ids: number[], signal: AbortSignal): Promise<{ found: FileSummary[]; missing: number[] }> {
  const folders = new Map<number, string>([[0, ""]]);
  const pathOf = async (parentId: number | null | undefined, name: string): Promise<string | null> => {
    const names = [name];
    let id = parentId;
    // A bounded climb: put.io trees are not deeper than this, and a loop must not hang a dry run.
    for (let depth = 0; depth < 64; depth++) {
      if (id === null || id === undefined) return null;
      const known = folders.get(id);
      if (known !== undefined) return `${known}/${names.reverse().join("/")}`;
      const folder = await client.files.get(id, signal);
      names.push(folder.name);
      id = folder.parent_id;
    }
    return null;
  };
  const found: FileSummary[] = [];
  const missing: number[] = [];
  for (const id of ids) {
    try {
      const f = await client.files.get(id, signal);
      found.push({ id: f.id, name: f.name, path: await pathOf(f.parent_id, f.name), file_type: f.file_type, size: f.size });
    } catch (err) {
      if (err instanceof PutioError && err.isNotFound) missing.push(id);
      else throw err;
    }
  }
  return { found, missing };
}

/** Names of the files a msg carried (file objects from putio-files), to name them in errors. */
function namesOf(value: unknown): Map<number, string> {
  const names = new Map<number, string>();
  for (const v of Array.isArray(value) ? value : [value]) {
    try {
      if (v && typeof v === "object" && typeof (v as { id?: unknown }).id === "number" && typeof (v as { name?: unknown }).name === "string") {
        names.set((v as { id: number }).id, (v as { name: string }).name);
      }
    } catch {
      // A name that cannot be read is only missing from the error texts; the id was read already.
    }
  }
  return names;
}

/** The folder path "create folder" makes: the node's Folder, else msg.payload. */
function mkdirPath(target: unknown, payload: unknown): string {
  const given = isBlank(target) ? payload : target;
  const p = typeof given === "string" || typeof given === "number" ? String(given).trim() : "";
  if (!p.startsWith("/"))
    throw new PutioInputError(t("putio-file-action.op.mkdir"), t("putio-file-action.errors.not-a-path", { value: describeValue(given ?? "", 60) }));
  return p;
}

/** put.io's refusals name ids only: put the file's name in front, so a Catch node says which file. */
async function about<T>(file: string | null, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (file && err instanceof PutioBaseError && !err.message.includes(file)) {
      err.message = `${file}: ${err.message}`;
      // The kernel shows the text in the user's language: the name goes in front there too.
      Object.defineProperty(err, "text", { value: t("putio-file-action.errors.about", { file, message: err.text }), configurable: true, writable: true });
    }
    throw err;
  }
}

/** What `action` would do, read from put.io without changing anything. */
async function dryRunOf(
  client: PutioClient,
  def: FileActionDef,
  action: Action,
  ids: number[],
  target: unknown,
  newName: string | undefined,
  payload: unknown,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const base = { dryRun: true, action };
  switch (action) {
    case "delete": {
      const { found, missing } = await describeFiles(client, ids, signal);
      return { ...base, trash: !def.skipTrash, wouldDelete: found, missing };
    }
    case "move": {
      if (isBlank(target)) throw new PutioInputError(t("putio-file-action.op.move"), t("putio-file-action.errors.no-destination"));
      const { found, missing } = await describeFiles(client, ids, signal);
      const parentId = await client.folderId(target as string | number, { signal });
      return { ...base, wouldMove: found, missing, to: target, toId: parentId, toCreated: parentId === null, newName: newName ?? null };
    }
    case "rename": {
      if (ids.length !== 1) throw new PutioInputError(t("putio-file-action.op.rename"), t("putio-file-action.errors.rename-one"));
      if (!newName) throw new PutioInputError(t("putio-file-action.op.rename"), t("putio-file-action.errors.no-name"));
      const { found, missing } = await describeFiles(client, ids, signal);
      return { ...base, wouldRename: found, missing, newName };
    }
    case "mkdir": {
      const p = mkdirPath(target, payload);
      const id = await client.folderId(p, { signal });
      return { ...base, wouldCreate: id === null ? p : null, path: p, id };
    }
    case "restore":
    case "trash-delete": {
      const trash = await collect(client.trash.list({ signal }));
      const inTrash = trash.filter((t) => ids.includes(t.id));
      const missing = ids.filter((id) => !inTrash.some((t) => t.id === id));
      return { ...base, [action === "restore" ? "wouldRestore" : "wouldDeleteForGood"]: inTrash, missing };
    }
    case "empty":
      return { ...base, wouldDeleteForGood: await collect(client.trash.list({ signal })) };
    case "mp4": {
      const { found, missing } = await describeFiles(client, ids, signal);
      const states = [];
      for (const f of found) states.push({ ...f, mp4: (await client.media.mp4Status(f.id, signal)).status });
      return { ...base, wouldConvert: states.filter((s) => s.mp4 !== "COMPLETED"), alreadyConverted: states.filter((s) => s.mp4 === "COMPLETED"), missing };
    }
    default:
      return base;
  }
}

export = function (RED: NodeAPI): void {
  definePutioNode<FileActionDef, FileActionDef>(RED, {
    type: "putio-file-action",
    config: (def) => def,
    // The action, the ids and the fields are checked before the account is.
    lazyAccount: true,
    doneStatus: (m) => textOf(RED, m.dryRun === true ? "common.status.dry-run-done" : "common.status.done"),
    async input({ node, account, config: def, msg, send, status, ready, signal, text }) {
      const action = (def.action && def.action !== "msg" ? def.action : msg.action) as Action;
      if (!ACTIONS.includes(action))
        throw new PutioInputError(
          t("putio-file-action.op.action"),
          t("putio-file-action.errors.unknown-action", { value: describeValue(action, 40), actions: ACTIONS.join(", ") }),
        );
      const attempted = t(OPS[action]);
      const source = def.ids?.trim() ? def.ids : msg.payload;
      const needsIds = NEEDS_IDS.has(action);
      const ids = needsIds ? idsOf(source, attempted, "file id or file") : [];
      if (needsIds && !ids.length) throw new PutioInputError(attempted, t("putio-file-action.errors.no-ids"));
      // Before any request (a move would first create its destination): never act on put.io's root.
      if (needsIds) ids.forEach((id) => checkNotRoot(id, attempted));
      const dryRun = !!def.dryRun || msg.dryRun === true;
      const names = namesOf(source);
      const label = (id: number) => (names.has(id) ? `"${names.get(id)}" (${id})` : text("putio-file-action.errors.file", { id }));
      const only = ids.length === 1 ? ids[0] : undefined;
      const single = only !== undefined ? label(only) : null;
      const target = await evalProp(RED, node, def.target, def.targetType || "str", msg);
      if (action === "move" && target !== undefined && target !== null && typeof target !== "string" && typeof target !== "number") {
        // String() of an object would be taken for a folder name and created.
        throw new PutioInputError(attempted, t("putio-file-action.errors.bad-destination", { value: describeValue(target, 60) }));
      }
      const newNameValue = await evalProp(RED, node, def.newName, def.newNameType || "str", msg);
      const newName = typeof newNameValue === "string" && newNameValue.trim() ? newNameValue.trim() : undefined;
      const doing = text(`putio-file-action.option.action.${action}`);
      status(STATUS.busy(dryRun ? text("common.status.dry-run", { action: doing }) : doing));
      const client = await ready();

      if (dryRun && action !== "trash-list") {
        msg.payload = await dryRunOf(client, def, action, ids, target, newName, msg.payload, signal);
        msg.dryRun = true;
        send(msg);
        return;
      }

      switch (action) {
        case "move": {
          if (isBlank(target)) throw new PutioInputError(attempted, t("putio-file-action.errors.no-destination"));
          const parentId = (await client.folderId(target as string | number, { create: true, signal })) as number;
          if (newName) {
            if (only === undefined) throw new PutioInputError(attempted, t("putio-file-action.errors.new-name-one"));
            await about(single, () => client.files.moveAndRename(only, parentId, newName, signal));
          } else {
            const errors = await about(single, () => client.files.move(ids, parentId, signal));
            const first = errors[0];
            if (first) {
              // put.io answers 200 with per-file errors; the first one's type and status let a Catch node branch.
              const listed = errors.map((e) => `${e.name ? `"${e.name}" (${e.id})` : label(e.id)}: ${e.error_type}`).join("; ");
              throw new PutioError(t("putio-file-action.errors.op-move", { count: ids.length, folder: parentId }), {
                status_code: first.status_code,
                error_type: first.error_type,
                error_message: text(errors.length < ids.length ? "putio-file-action.errors.some-not-moved" : "putio-file-action.errors.not-moved", {
                  failed: errors.length,
                  total: ids.length,
                  list: listed,
                }),
              });
            }
          }
          msg.payload = { moved: ids, parent_id: parentId };
          break;
        }
        case "rename":
          if (only === undefined) throw new PutioInputError(attempted, t("putio-file-action.errors.rename-one"));
          if (!newName) throw new PutioInputError(attempted, t("putio-file-action.errors.no-name"));
          await about(single, () => client.files.rename(only, newName, signal));
          msg.payload = { id: only, name: newName };
          break;
        case "delete": {
          const { skipped } = await about(single, () => client.files.delete(ids, { skipTrash: !!def.skipTrash, signal }));
          if (skipped) {
            // put.io only counts the missing ids, so with several ids we can only list all of them.
            const which = single ?? text("putio-file-action.errors.some-of", { count: skipped, list: ids.map(label).join(", ") });
            throw new PutioInputError(
              attempted,
              t(ids.length > skipped ? "putio-file-action.errors.some-missing" : "putio-file-action.errors.missing", { which }),
            );
          }
          msg.payload = { deleted: ids, trash: !def.skipTrash };
          break;
        }
        case "mkdir": {
          const p = mkdirPath(target, msg.payload);
          msg.payload = { id: await client.folderId(p, { create: true, signal }), path: p };
          break;
        }
        case "trash-list":
          msg.payload = await collect(client.trash.list({ signal }));
          break;
        case "restore":
          await about(single, () => client.trash.restore(ids, signal));
          msg.payload = { restored: ids };
          break;
        case "trash-delete":
          await about(single, () => client.trash.delete(ids, signal));
          msg.payload = { deletedForGood: ids };
          break;
        case "empty":
          await client.trash.empty(signal);
          msg.payload = { emptied: true };
          break;
        case "mp4": {
          // One after the other: put.io converts on its side; waiting for each keeps the status readable.
          const done: Mp4Result[] = [];
          for (const id of ids) {
            const result = await about(ids.length === 1 ? single : label(id), () =>
              convertToMp4AndWait(client, id, {
                signal,
                socket: account.socket(),
                onStatus: (s) =>
                  status(
                    STATUS.busy(
                      text("putio-file-action.status.mp4", {
                        status: s.status.toLowerCase(),
                        percent: s.percentDone ?? 0,
                        done: done.length,
                        total: ids.length,
                      }),
                    ),
                  ),
              }),
            );
            done.push(result);
          }
          msg.payload = ids.length === 1 ? done[0] : done;
          break;
        }
      }
      send(msg);
    },
  });
};
