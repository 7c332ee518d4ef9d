/**
 * putio-upload: sends a local file (resumable, streamed from disk, CRC32 checked) or a Buffer to a
 * put.io folder. A .torrent becomes a transfer, and the output says so.
 */
import fs from "node:fs";
import path from "node:path";
import { PutioInputError } from "../lib/core/errors";
import { TusUploader } from "../lib/upload/engine";
import { isBlank, num } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { STATUS, evalProp, shortText, type NodeAPI, type NodeDef } from "./common/node-api";
import { describeValue } from "../lib/core/describe";
import { t } from "../lib/core/texts";

interface UploadDef extends NodeDef {
  account: string;
  source?: string;
  sourceType?: string;
  folder?: string;
  folderType?: string;
  fileName?: string;
  chunkMb?: string | number;
  /** When set, local paths from a msg must lie inside this folder (after resolving ".." and symlinks). */
  root?: string;
  rootType?: string;
}

const codeOf = (err: unknown) => (err as { code?: string })?.code ?? (err as Error)?.message ?? String(err);

/**
 * The real path of `local` when it lies inside `root`. Both are resolved with realpath, so neither
 * ".." nor a symlink (in the file's path or as the file) can reach outside; the caller then uploads
 * the real path, so swapping a link after this check does not redirect the upload.
 */
async function insideRoot(local: string, root: string, given: string): Promise<string> {
  const attempted = t("putio-upload.op.upload-file", { file: describeValue(given, 100) });
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(root);
  } catch (err) {
    throw new PutioInputError(attempted, t("putio-upload.errors.root-unreadable", { root, reason: codeOf(err) }));
  }
  let real: string;
  try {
    real = await fs.promises.realpath(local);
  } catch (err) {
    throw new PutioInputError(attempted, t("putio-upload.errors.unreadable", { reason: codeOf(err) }));
  }
  const rel = path.relative(realRoot, real);
  if (!rel || rel === ".." || rel.startsWith(".." + path.sep) || path.isAbsolute(rel)) {
    throw new PutioInputError(attempted, t("putio-upload.errors.outside-root", { root }));
  }
  return real;
}

export = function (RED: NodeAPI): void {
  const settings = RED.settings as unknown as { userDir?: string; fileWorkingDirectory?: string };
  // Resume state survives a restart: keep it in Node-RED's user folder.
  const stateDir = settings.userDir ? path.join(settings.userDir, ".putio-uploads") : undefined;

  definePutioNode<UploadDef, UploadDef & { chunkSize: number }>(RED, {
    type: "putio-upload",
    config: (def) => ({ ...def, chunkSize: (num(def.chunkMb) || 8) * 1024 * 1024 }),
    // The local file is checked (and its folder limit applied) before the account is.
    lazyAccount: true,
    doneStatus: null,
    async input({ node, config: def, msg, send, status, ready, signal, text }) {
      const source = await evalProp(RED, node, def.source || "payload", def.sourceType || "msg", msg);
      const folder = await evalProp(RED, node, def.folder, def.folderType || "str", msg);
      if (folder !== undefined && folder !== null && typeof folder !== "string" && typeof folder !== "number") {
        // String() of an object would be taken for a folder name and created.
        throw new PutioInputError(t("putio-upload.op.upload"), t("putio-upload.errors.bad-folder", { value: describeValue(folder, 60) }));
      }
      const named = String(def.fileName ?? "").trim() || (typeof msg.filename === "string" ? msg.filename : "");
      const base = settings.fileWorkingDirectory ?? process.cwd();
      const isPath = !Buffer.isBuffer(source) && typeof source === "string" && !!source.trim();
      const local = isPath ? path.resolve(base, (source as string).trim()) : "";
      // The local folder check comes before anything is created on put.io.
      let real = local;
      if (isPath && def.root?.trim()) {
        const rootValue = await evalProp(RED, node, def.root, def.rootType || "str", msg);
        const root = typeof rootValue === "string" ? rootValue.trim() : "";
        // An unset environment variable must not lift the limit.
        if (!root)
          throw new PutioInputError(
            t("putio-upload.op.upload-file", { file: describeValue(source, 100) }),
            t(def.rootType === "env" ? "putio-upload.errors.root-env-empty" : "putio-upload.errors.root-empty", { root: String(def.root ?? "") }),
          );
        real = await insideRoot(local, path.resolve(base, root), source as string);
      }
      const client = await ready();
      const parentId = isBlank(folder) ? undefined : ((await client.folderId(folder as string | number, { create: true, signal })) as number);
      if (Buffer.isBuffer(source)) {
        if (!named) throw new PutioInputError(t("putio-upload.op.upload"), t("putio-upload.errors.no-name"));
        status(STATUS.busy(text("putio-upload.status.uploading")));
        const res = await client.upload.upload(source, path.basename(named), { parentId, signal });
        msg.payload = res.kind === "file" ? { kind: "file", file: res.file } : { kind: "transfer", transfer: res.transfer };
      } else if (isPath) {
        let lastPct = -1;
        const res = await new TusUploader(client).upload({
          path: real,
          name: named ? path.basename(named) : path.basename(local),
          parentId,
          chunkSize: def.chunkSize,
          stateDir,
          signal,
          onProgress: (sent, total) => {
            const pct = total ? Math.floor((sent / total) * 100) : 100;
            if (pct !== lastPct) status(STATUS.busy(text("putio-upload.status.percent", { percent: (lastPct = pct) })));
          },
        });
        msg.payload =
          res.kind === "file"
            ? { kind: "file", file: await client.files.get(res.fileId, signal), crc32: res.crc32, size: res.size, resumed: res.resumed, localPath: local }
            : { kind: "transfer", size: res.size, resumed: res.resumed, localPath: local, note: "put.io started a transfer from this .torrent" };
      } else {
        throw new PutioInputError(t("putio-upload.op.upload"), t("putio-upload.errors.no-source"));
      }
      const p = msg.payload as { kind: string; file?: { name: string } };
      status(
        STATUS.ok(shortText(p.kind === "transfer" ? text("putio-upload.status.transfer") : text("putio-upload.status.uploaded", { name: p.file?.name ?? "" }))),
      );
      send(msg);
    },
  });
};
