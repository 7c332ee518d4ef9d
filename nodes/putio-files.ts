/**
 * putio-files: list a folder, walk it recursively, search by name, or get one file, always to the
 * end of put.io's cursor, with stackable filters. One msg with an array, or one msg per file with
 * msg.parts (a Join node in automatic mode rebuilds the array).
 */
import { compileFilter, DEFAULT_SKIP_FOLDERS, type FileFilter } from "../lib/domains/filters";
import { PutioInputError } from "../lib/core/errors";
import { t } from "../lib/core/texts";
import { splitPath } from "../lib/domains/paths";
import { walk } from "../lib/domains/walk";
import type { PutioFile } from "../lib/domains/files";
import { describeValue } from "../lib/core/describe";
import { readField } from "../lib/core/ids";
import { csv, filterFromFields, filterWithMsg, type FilterFields } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { STATUS, evalProp, type NodeAPI, type NodeDef } from "./common/node-api";

type Mode = "list" | "walk" | "search" | "get";

interface FilesDef extends NodeDef, FilterFields {
  account: string;
  mode?: Mode;
  folder?: string;
  folderType?: string;
  output?: "array" | "each";
  skipFolders?: string;
}

interface FilesConfig {
  mode: Mode;
  folder: string | undefined;
  folderType: string;
  filter: FileFilter;
  skipFolders: string[];
  output: "array" | "each";
}

const MODE_STATUS: Record<Mode, string> = {
  list: "putio-files.status.list",
  walk: "putio-files.status.walk",
  search: "putio-files.status.search",
  get: "putio-files.status.get",
};

export = function (RED: NodeAPI): void {
  definePutioNode<FilesDef, FilesConfig>(RED, {
    type: "putio-files",
    config: (def) => ({
      mode: (["list", "walk", "search", "get"] as const).includes(def.mode as Mode) ? (def.mode as Mode) : "list",
      folder: def.folder,
      folderType: def.folderType || "str",
      filter: filterFromFields(def),
      // An emptied field means "enter every folder"; a node saved before the field existed gets the default.
      skipFolders: def.skipFolders === undefined ? DEFAULT_SKIP_FOLDERS : (csv(def.skipFolders) ?? []),
      output: def.output === "each" ? "each" : "array",
    }),
    doneStatus: null,
    async input({ node, config, msg, send, status, client, signal, text }) {
      const { mode } = config;
      const accept = compileFilter(filterWithMsg(config.filter, msg.filter));
      const target = await evalProp(RED, node, config.folder, config.folderType, msg);
      status(STATUS.busy(text(MODE_STATUS[mode])));
      const found: Array<PutioFile & { path: string }> = [];
      if (mode === "search") {
        const query = String(target ?? "").trim();
        if (!query) throw new PutioInputError(t("putio-files.op.search"), t("putio-files.errors.no-query"));
        for await (const f of client.files.search(query, { signal })) if (accept(f)) found.push({ ...f, path: f.name });
      } else if (mode === "get") {
        const given = target === undefined || target === null || target === "" ? msg.payload : target;
        const id = typeof given === "object" && given !== null ? readField(given, "id", "get file") : given;
        let f: PutioFile | null;
        if (typeof id === "number" || /^\s*\d+\s*$/.test(String(id))) f = await client.files.get(Number(id), signal);
        else {
          // A path: its folder by path, then the file by name in it. splitPath refuses "..", NUL and empty names.
          const parts = splitPath(String(id ?? ""), "get file");
          if (!parts.length) throw new PutioInputError(t("putio-files.op.get"), t("putio-files.errors.no-id"));
          const parent = parts.length === 1 ? 0 : await client.folderId("/" + parts.slice(0, -1).join("/"), { create: false, signal });
          f = parent === null ? null : await client.files.child(parent, parts[parts.length - 1]!, signal);
        }
        if (!f) throw new PutioInputError(t("putio-files.op.get"), t("putio-files.errors.not-found", { value: describeValue(id) }));
        found.push({ ...f, path: f.name });
      } else {
        const where = target === undefined || target === null || String(target).trim() === "" ? 0 : target;
        if (typeof where !== "string" && typeof where !== "number")
          throw new PutioInputError(
            t(mode === "walk" ? "putio-files.op.walk" : "putio-files.op.list"),
            t("putio-files.errors.bad-folder", { value: describeValue(where) }),
          );
        const folderId = await client.folderId(where, { create: false, signal });
        if (folderId === null)
          throw new PutioInputError(
            t(mode === "walk" ? "putio-files.op.walk" : "putio-files.op.list"),
            t("putio-files.errors.no-folder", { folder: String(where) }),
          );
        if (mode === "list") {
          for await (const f of client.files.list(folderId, { signal })) if (accept(f)) found.push({ ...f, path: f.name });
        } else {
          for await (const w of walk(client.files, folderId, { skipFolders: config.skipFolders, signal }))
            if (accept(w.file)) found.push({ ...w.file, path: w.path });
        }
      }
      status(STATUS.ok(found.length === 1 ? text("putio-files.status.found-one") : text("putio-files.status.found", { count: found.length })));
      if (config.output === "each") {
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
  });
};
