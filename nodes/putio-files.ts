/**
 * putio-files: list a folder, walk it recursively, search by name, or get one file, always to the
 * end of put.io's cursor, with stackable filters. One msg with an array, or one msg per file with
 * msg.parts (a Join node in automatic mode rebuilds the array).
 */
import { compileFilter, DEFAULT_SKIP_FOLDERS, type FileFilter } from "../lib/domains/filters";
import { PutioInputError } from "../lib/core/errors";
import { splitPath } from "../lib/domains/paths";
import { walk } from "../lib/domains/walk";
import type { PutioFile } from "../lib/domains/files";
import { useAccount } from "./common/account";
import { onInput } from "./common/input";
import { STATUS, evalProp, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

type Mode = "list" | "walk" | "search" | "get";

interface FilesDef extends NodeDef {
  account: string;
  mode?: Mode;
  folder?: string;
  folderType?: string;
  output?: "array" | "each";
  fileTypes?: string;
  extensions?: string;
  namePattern?: string;
  minSizeMb?: string | number;
  maxSizeMb?: string | number;
  createdAfter?: string;
  createdBefore?: string;
  olderThanDays?: string | number;
  skipFolders?: string;
}

const MB = 1024 * 1024;
const num = (v: unknown): number | undefined => (v === undefined || v === null || String(v).trim() === "" || !Number.isFinite(Number(v)) ? undefined : Number(v));
const csv = (v: unknown): string[] | undefined => {
  const list = String(v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return list.length ? list : undefined;
};

/** "/regex/" is a regular expression, anything else a glob (`*.mkv`). */
function filterOf(def: FilesDef): FileFilter {
  const pattern = String(def.namePattern ?? "").trim();
  const regex = /^\/(.+)\/$/.exec(pattern);
  return {
    fileTypes: csv(def.fileTypes),
    extensions: csv(def.extensions),
    nameGlob: pattern && !regex ? pattern : undefined,
    nameRegex: regex ? regex[1] : undefined,
    minSize: num(def.minSizeMb) !== undefined ? num(def.minSizeMb)! * MB : undefined,
    maxSize: num(def.maxSizeMb) !== undefined ? num(def.maxSizeMb)! * MB : undefined,
    createdAfter: String(def.createdAfter ?? "").trim() || undefined,
    createdBefore: String(def.createdBefore ?? "").trim() || undefined,
    olderThanDays: num(def.olderThanDays),
  };
}

export = function (RED: NodeAPI): void {
  function PutioFilesNode(this: Node, def: FilesDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);
    const mode: Mode = (["list", "walk", "search", "get"] as const).includes(def.mode as Mode) ? (def.mode as Mode) : "list";
    // An emptied field means "enter every folder"; a node saved before the field existed gets the default.
    const skipFolders = def.skipFolders === undefined ? DEFAULT_SKIP_FOLDERS : csv(def.skipFolders) ?? [];

    onInput(
      node,
      account,
      async ({ msg, send, status }) => {
        // msg.filter adds to (and overrides) the dialog's filters, e.g. {olderThanDays: 30} from a dashboard.
        const extra = msg.filter && typeof msg.filter === "object" ? (msg.filter as FileFilter) : {};
        const accept = compileFilter({ ...filterOf(def), ...extra });
        const target = await evalProp(RED, node, def.folder, def.folderType || "str", msg);
        status(STATUS.busy(mode));
        const client = await account!.ready();
        const found: Array<PutioFile & { path: string }> = [];
        if (mode === "search") {
          const query = String(target ?? "").trim();
          if (!query) throw new PutioInputError("search files", "the search text is empty (set it in the node or send it in msg.payload)");
          for await (const f of client.files.search(query)) if (accept(f)) found.push({ ...f, path: f.name });
        } else if (mode === "get") {
          const given = target === undefined || target === null || target === "" ? msg.payload : target;
          const id = typeof given === "object" && given !== null ? (given as { id?: unknown }).id : given;
          let f: PutioFile | null;
          if (typeof id === "number" || /^\s*\d+\s*$/.test(String(id))) f = await client.files.get(Number(id));
          else {
            // A path: its folder by path, then the file by name in it. splitPath refuses "..", NUL and empty names.
            const parts = splitPath(String(id ?? ""), "get file");
            if (!parts.length) throw new PutioInputError("get file", "no file id or path given");
            const parent = parts.length === 1 ? 0 : await client.folderId("/" + parts.slice(0, -1).join("/"), { create: false });
            f = parent === null ? null : await client.files.child(parent, parts[parts.length - 1]);
          }
          if (!f) throw new PutioInputError("get file", `"${String(id)}" does not exist on put.io`);
          found.push({ ...f, path: f.name });
        } else {
          const where = target === undefined || target === null || String(target).trim() === "" ? 0 : target;
          const folderId = await client.folderId(where as string | number, { create: false });
          if (folderId === null) throw new PutioInputError(`${mode} folder`, `the folder "${String(where)}" does not exist on put.io`);
          if (mode === "list") {
            for await (const f of client.files.list(folderId)) if (accept(f)) found.push({ ...f, path: f.name });
          } else {
            for await (const w of walk(client.files, folderId, { skipFolders })) if (accept(w.file)) found.push({ ...w.file, path: w.path });
          }
        }
        status(STATUS.ok(`${found.length} file${found.length === 1 ? "" : "s"}`));
        if (def.output === "each") {
          const id = RED.util.generateId();
          found.forEach((file, index) => {
            const out = RED.util.cloneMessage(msg);
            delete (out as { _msgid?: string })._msgid;
            out.payload = file;
            out.parts = { id, index, count: found.length, type: "array", len: 1 } as never;
            send(out);
          });
        } else {
          msg.payload = found;
          send(msg);
        }
      },
      { doneText: null },
    );
  }
  RED.nodes.registerType("putio-files", PutioFilesNode);
};
