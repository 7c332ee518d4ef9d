/**
 * putio-upload: sends a local file (resumable, streamed from disk, CRC32 checked) or a Buffer to a
 * put.io folder. A .torrent becomes a transfer, and the output says so.
 */
import path from "node:path";
import { PutioInputError } from "../lib/errors";
import { TusUploader } from "../lib/upload-engine";
import { useAccount } from "./common/account";
import { onInput } from "./common/input";
import { STATUS, evalProp, shortText, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface UploadDef extends NodeDef {
  account: string;
  source?: string;
  sourceType?: string;
  folder?: string;
  folderType?: string;
  fileName?: string;
  chunkMb?: string | number;
}

export = function (RED: NodeAPI): void {
  function PutioUploadNode(this: Node, def: UploadDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);
    const settings = RED.settings as unknown as { userDir?: string; fileWorkingDirectory?: string };
    // Resume state survives a restart: keep it in Node-RED's user folder.
    const stateDir = settings.userDir ? path.join(settings.userDir, ".putio-uploads") : undefined;
    const closing = new AbortController();
    node.on("close", (_removed: boolean, done: () => void) => {
      closing.abort(new Error("node closed"));
      done();
    });

    onInput(
      node,
      account,
      async ({ msg, send, status }) => {
        const source = await evalProp(RED, node, def.source || "payload", def.sourceType || "msg", msg);
        const folder = await evalProp(RED, node, def.folder, def.folderType || "str", msg);
        const named = String(def.fileName ?? "").trim() || (typeof msg.filename === "string" ? msg.filename : "");
        const client = await account!.ready();
        const parentId = folder === undefined || folder === null || String(folder).trim() === "" ? undefined : ((await client.folderId(folder as string | number, { create: true })) as number);
        if (Buffer.isBuffer(source)) {
          if (!named) throw new PutioInputError("upload a buffer", "give it a name (the node's File name, or msg.filename)");
          status(STATUS.busy("uploading"));
          const res = await client.upload.upload(source, path.basename(named), { parentId, signal: closing.signal });
          msg.payload = res.kind === "file" ? { kind: "file", file: res.file } : { kind: "transfer", transfer: res.transfer };
        } else if (typeof source === "string" && source.trim()) {
          const local = path.resolve(settings.fileWorkingDirectory ?? process.cwd(), source.trim());
          let lastPct = -1;
          const res = await new TusUploader(client).upload({
            path: local,
            name: named ? path.basename(named) : undefined,
            parentId,
            chunkSize: (Number(def.chunkMb) || 8) * 1024 * 1024,
            stateDir,
            signal: closing.signal,
            onProgress: (sent, total) => {
              const pct = total ? Math.floor((sent / total) * 100) : 100;
              if (pct !== lastPct) status(STATUS.busy(`${(lastPct = pct)}%`));
            },
          });
          msg.payload =
            res.kind === "file"
              ? { kind: "file", file: await client.files.get(res.fileId), crc32: res.crc32, size: res.size, resumed: res.resumed, localPath: local }
              : { kind: "transfer", size: res.size, resumed: res.resumed, localPath: local, note: "put.io started a transfer from this .torrent" };
        } else {
          throw new PutioInputError("upload", "send a local file path or a Buffer (msg.payload by default)");
        }
        const p = msg.payload as { kind: string; file?: { name: string } };
        status(STATUS.ok(shortText(p.kind === "transfer" ? "transfer started" : `uploaded ${p.file?.name ?? ""}`)));
        send(msg);
      },
      { doneText: null },
    );
  }
  RED.nodes.registerType("putio-upload", PutioUploadNode);
};
