/**
 * putio-zip: has put.io pack files and folders into one zip, waits until it is ready (socket push
 * `zip_created`, or polling with backoff) and sends its download URL, size and any missing files.
 */
import { describeValue } from "../lib/core/describe";
import { linkSignals } from "../lib/core/signals";
import { t, type TextOrString } from "../lib/core/texts";
import { PutioBaseError, PutioInputError } from "../lib/core/errors";
import type { PutioClient } from "../lib/client";
import { splitPath } from "../lib/domains/paths";
import { readField } from "../lib/core/ids";
import { num } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { STATUS, evalProp, shortText, type Msg, type NodeAPI, type NodeDef } from "./common/node-api";

interface ZipDef extends NodeDef {
  account: string;
  source?: string;
  sourceType?: string;
  /** "socket": wake on put.io's push (polling stays as a slow fallback); "poll": only poll. */
  wait?: "socket" | "poll";
  pollSeconds?: string | number;
  maxWaitMinutes?: string | number;
  /** Warn about folders above this size (GB); empty = never. */
  warnFolderGb?: string | number;
}

const GB = 1024 ** 3;

/** One thing to zip: an id, maybe with what we already know about it (from a file object). */
interface Selected {
  id: number;
  name?: string;
  isFolder?: boolean;
  size?: number;
}

function selectOne(value: unknown, attempted: TextOrString): Selected | string {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return { id: value };
  if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) return { id: Number(value) };
  if (typeof value === "string" && value.trim().startsWith("/")) return value.trim();
  if (value && typeof value === "object" && !Array.isArray(value) && !Buffer.isBuffer(value)) {
    const [id, name] = [readField(value, "id", attempted), readField(value, "name", attempted)];
    if (typeof id === "number" && Number.isSafeInteger(id) && id >= 0 && typeof name === "string") {
      const [type, size] = [readField(value, "file_type", attempted), readField(value, "size", attempted)];
      return { id, name, isFolder: type === "FOLDER", size: typeof size === "number" ? size : undefined };
    }
  }
  throw new PutioInputError(attempted, t("putio-zip.errors.bad-item", { value: describeValue(value, 80) }));
}

/** A put.io path to the file or folder there. */
async function byPath(client: PutioClient, path: string, attempted: TextOrString, signal: AbortSignal): Promise<Selected> {
  const parts = splitPath(path, attempted);
  if (!parts.length) return { id: 0, name: "Your Files", isFolder: true };
  const parentId = await client.folderId("/" + parts.slice(0, -1).join("/"), { signal });
  const found = parentId === null ? null : await client.files.child(parentId, parts[parts.length - 1]!, signal);
  if (!found) throw new PutioInputError(attempted, t("putio-zip.errors.not-found", { path }));
  return { id: found.id, name: found.name, isFolder: found.file_type === "FOLDER", size: found.size };
}

interface ZipConfig {
  source: string;
  sourceType: string;
  usePoll: boolean;
  pollMs: number;
  maxWaitMs: number;
  /** Bytes; null = never warn. */
  warnAbove: number | null;
}

async function selection(client: PutioClient, value: unknown, warnAbove: number | null, signal: AbortSignal): Promise<Selected[]> {
  const attempted = t("putio-zip.op.zip");
  const items = (Array.isArray(value) ? value : [value]).map((v) => selectOne(v, attempted));
  if (!items.length) throw new PutioInputError(attempted, t("putio-zip.errors.empty"));
  if (items.length > 1000) throw new PutioInputError(attempted, t("putio-zip.errors.too-many", { count: items.length }));
  const out: Selected[] = [];
  for (const item of items) {
    let s = typeof item === "string" ? await byPath(client, item, attempted, signal) : item;
    // Sizes are only needed for the big-folder warning.
    if (warnAbove !== null && (s.isFolder === undefined || (s.isFolder && s.size === undefined))) {
      const f = await client.files.get(s.id, signal);
      s = { id: f.id, name: f.name, isFolder: f.file_type === "FOLDER", size: f.size };
    }
    out.push(s);
  }
  return out;
}

export = function (RED: NodeAPI): void {
  definePutioNode<ZipDef, ZipConfig>(RED, {
    type: "putio-zip",
    // Zero or a blank field: the default (a zero wait or poll makes no sense).
    config: (def) => ({
      source: def.source ?? "payload",
      sourceType: def.sourceType || "msg",
      usePoll: def.wait === "poll",
      pollMs: (num(def.pollSeconds) || 5) * 1000,
      maxWaitMs: (num(def.maxWaitMinutes) || 30) * 60_000,
      warnAbove: def.warnFolderGb === "" || def.warnFolderGb === undefined ? null : (num(def.warnFolderGb) || Infinity) * GB,
    }),
    // The source is read before the account is asked.
    lazyAccount: true,
    doneStatus: null,
    async input({ node, config, msg, send, status, ready, account, signal: closing, text }) {
      const { pollMs, maxWaitMs, warnAbove } = config;
      const value = await evalProp(RED, node, config.source, config.sourceType, msg);
      const client = await ready();
      const link = linkSignals(closing, AbortSignal.timeout(maxWaitMs));
      const signal = link.signal;
      try {
        status(STATUS.busy(text("putio-zip.status.zipping")));
        const selected = await selection(client, value, warnAbove, signal);
        const warnings: string[] = [];
        for (const s of selected) {
          if (warnAbove !== null && s.isFolder && (s.size ?? 0) > warnAbove) {
            warnings.push(text("putio-zip.warn.big-folder", { folder: String(s.name ?? s.id), gb: ((s.size ?? 0) / GB).toFixed(1) }));
          }
        }
        for (const w of warnings) node.warn(w);
        const fileIds = [...new Set(selected.map((s) => s.id))];
        const zipId = await client.zips.create(fileIds, signal);
        let result;
        try {
          result = await client.zips.waitUntilDone(zipId, {
            signal,
            socket: config.usePoll ? undefined : account.socket(),
            pollMs,
            maxPollMs: Math.max(pollMs, 60_000),
            onStatus: (s) => status(STATUS.busy(shortText(text("putio-zip.status.state", { state: s.toLowerCase() })))),
          });
        } catch (err) {
          if (signal.aborted && !closing.aborted) {
            throw new PutioBaseError(t("putio-zip.op.wait", { id: zipId }), t("putio-zip.errors.not-ready", { id: zipId, minutes: maxWaitMs / 60_000 }), {
              cause: err,
            });
          }
          throw err;
        }
        msg.payload = { ...result, fileIds };
        msg.topic = msg.topic ?? "putio/zip";
        if (warnings.length) msg.warnings = warnings;
        const mb = (result.size / 1024 ** 2).toFixed(1);
        status(
          result.missingFiles.length
            ? STATUS.warn(text("putio-zip.status.missing", { mb, missing: result.missingFiles.length }))
            : STATUS.ok(text("putio-zip.status.ready", { mb })),
        );
        send(msg as Msg);
      } finally {
        link.dispose();
      }
    },
  });
};
