/**
 * putio-upload: sends a local file (resumable, streamed from disk, CRC32 checked) or a Buffer to a
 * put.io folder. A .torrent becomes a transfer, and the output says so. In folder mode it backs up
 * a local folder tree to a put.io folder incrementally (lib/backup/), one run at a time.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PutioInputError } from "../lib/core/errors";
import { TusUploader } from "../lib/upload/engine";
import { backupFolder, type BackupResult } from "../lib/backup";
import { isText } from "../lib/core/texts";
import { filterFromFields, filterWithMsg, isBlank, num, type FilterFields } from "./common/config";
import { localizeError, renderText, toError } from "./common/errors";
import { definePutioNode, type InputContext } from "./common/kernel";
import { STATUS, evalProp, shortText, type NodeAPI, type NodeDef } from "./common/node-api";
import { describeValue } from "../lib/core/describe";
import { t } from "../lib/core/texts";

interface UploadDef extends NodeDef, FilterFields {
  account: string;
  /** "file" (a file or Buffer, the default) or "folder" (back up a local folder). */
  mode?: string;
  /** Folder mode: comma-separated globs of file and folder names left out. */
  exclude?: string;
  /** Folder mode: plan only, change nothing on put.io (also msg.dryRun). */
  dryRun?: boolean;
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
async function insideRoot(local: string, root: string, given: string, rootItself = false): Promise<string> {
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
  if ((!rel && !rootItself) || rel === ".." || rel.startsWith(".." + path.sep) || path.isAbsolute(rel)) {
    throw new PutioInputError(attempted, t("putio-upload.errors.outside-root", { root }));
  }
  return real;
}

export = function (RED: NodeAPI): void {
  const settings = RED.settings as unknown as { userDir?: string; fileWorkingDirectory?: string };
  // Resume state survives a restart: keep it in Node-RED's user folder.
  const stateDir = settings.userDir ? path.join(settings.userDir, ".putio-uploads") : undefined;

  type Config = UploadDef & { chunkSize: number };
  const runs = new WeakMap<object, Promise<void>>();

  /** Folder mode: back up the local folder (msg.payload by default) to the put.io folder. */
  async function backup({ node, config: def, msg, send, status, ready, signal, text }: InputContext<Config>): Promise<void> {
    const source = await evalProp(RED, node, def.source || "payload", def.sourceType || "msg", msg);
    const folder = await evalProp(RED, node, def.folder, def.folderType || "str", msg);
    const given = typeof source === "string" ? source.trim() : "";
    const attempted = t("putio-upload.op.backup", { folder: describeValue(source, 100) });
    if (!given) throw new PutioInputError(attempted, t("putio-upload.errors.no-local-folder"));
    if ((typeof folder !== "string" && typeof folder !== "number") || isBlank(folder))
      throw new PutioInputError(attempted, t("putio-upload.errors.no-remote-folder", { value: describeValue(folder, 60) }));
    const base = settings.fileWorkingDirectory ?? process.cwd();
    let local = path.resolve(base, given);
    if (def.root?.trim()) {
      const rootValue = await evalProp(RED, node, def.root, def.rootType || "str", msg);
      const root = typeof rootValue === "string" ? rootValue.trim() : "";
      if (!root)
        throw new PutioInputError(
          attempted,
          t(def.rootType === "env" ? "putio-upload.errors.root-env-empty" : "putio-upload.errors.root-empty", { root: String(def.root ?? "") }),
        );
      local = await insideRoot(local, path.resolve(base, root), given, true);
    }
    const dryRun = def.dryRun === true || msg.dryRun === true;
    const client = await ready();
    status(STATUS.busy(text("putio-upload.status.scanning")));
    const folderId = await client.folderId(folder, { create: !dryRun, signal });
    const key = createHash("sha1").update(`${client.transport.uploadUrl}|${local}|${folderId}`).digest("hex");
    const res = await backupFolder(client, {
      localFolder: local,
      remoteFolderId: folderId,
      dryRun,
      filter: filterWithMsg(filterFromFields(def), msg.filter),
      exclude: def.exclude,
      cacheFile: stateDir ? path.join(stateDir, "backup", `${key}.json`) : undefined,
      stateDir,
      chunkSize: def.chunkSize,
      signal,
      onProgress: (done, total) => status(STATUS.busy(text("putio-upload.status.backing-up", { done, total }))),
    });
    msg.payload = backupPayload(res, local, folderId);
    const counts = { uploaded: res.uploaded.length, replaced: res.replaced.length, skipped: res.skipped.length, failed: res.failed.length };
    const summary = text(dryRun ? "putio-upload.status.dry-run" : "putio-upload.status.backed-up", counts);
    status(res.failed.length ? STATUS.warn(summary) : STATUS.ok(summary));
    send(msg);
  }

  /** The output: texts in the runtime's language, the token never in them. */
  function backupPayload(res: BackupResult, localFolder: string, folderId: number | null) {
    const say = (e: unknown) => (isText(e) ? renderText(RED, e) : localizeError(RED, toError(e)).message);
    return {
      uploaded: res.uploaded,
      replaced: res.replaced,
      skipped: res.skipped,
      createdFolders: res.createdFolders,
      failed: res.failed.map((f) => ({ path: f.path, error: say(f.error) })),
      ignored: res.ignored.map((f) => ({ path: f.path, reason: say(f.reason) })),
      dryRun: res.dryRun,
      localFolder,
      folderId,
    };
  }

  definePutioNode<UploadDef, Config>(RED, {
    type: "putio-upload",
    config: (def) => ({ ...def, chunkSize: (num(def.chunkMb) || 8) * 1024 * 1024 }),
    // The local file is checked (and its folder limit applied) before the account is.
    lazyAccount: true,
    doneStatus: null,
    async input(ctx) {
      if (ctx.config.mode === "folder") {
        // One backup at a time per node: a msg that arrives meanwhile waits for the run before it.
        const before = runs.get(ctx.node) ?? Promise.resolve();
        const mine = before.then(() => backup(ctx));
        const tail = mine.catch(() => {});
        runs.set(ctx.node, tail);
        try {
          return await mine;
        } finally {
          if (runs.get(ctx.node) === tail) runs.delete(ctx.node);
        }
      }
      const { node, config: def, msg, send, status, ready, signal, text } = ctx;
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
