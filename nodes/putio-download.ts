/**
 * putio-download: downloads a put.io file or mirrors a folder to a local (NAS) folder, verified and
 * resumable (lib/download). One msg per finished file and one per job on output 1, optional
 * progress msgs on output 2; optionally deletes the put.io files (and the transfer) once every
 * file of the job is verified. Limits are per account, shared by every download node.
 */
import * as path from "node:path";
import { PutioAbortError, PutioBaseError, PutioInputError } from "../lib/core/errors";
import { describeValue } from "../lib/core/describe";
import { readField } from "../lib/core/ids";
import { DEFAULT_LIMITS, DownloadScheduler, JobJournal, Throttle, ensureTargetFolder, jsonSafeMsg, nodeFs, parseWindow, type CollisionPolicy, type DownloadLimits, type DownloadProgress, type DownloadSource, type JobResult } from "../lib/download";
import type { FileFilter } from "../lib/domains/filters";
import { expandEnv, useAccount } from "./common/account";
import { onInput } from "./common/input";
import { STATUS, evalProp, shortText, type Msg, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface DownloadDef extends NodeDef {
  account: string;
  source?: string;
  sourceType?: string;
  target?: string;
  targetType?: string;
  ifExists?: CollisionPolicy;
  deleteAfter?: boolean;
  skipTrash?: boolean;
  removeTransfer?: boolean;
  olderThanDays?: string | number;
  fileTypes?: string;
  extensions?: string;
  namePattern?: string;
  minSizeMb?: string | number;
  maxSizeMb?: string | number;
  progressOutput?: boolean;
  filesAtOnce?: string | number;
  connections?: string | number;
  segmentMb?: string | number;
  bandwidthMBs?: string | number;
  unlimitedWindow?: string;
  /** Run jobs left unfinished by a restart or redeploy again at start (default on). */
  resume?: boolean;
  /** Plan only: list what would be downloaded and deleted; write and delete nothing (also msg.dryRun). */
  dryRun?: boolean;
}

/** How long a closing node waits for its jobs before it lets Node-RED go on (its close timeout is 15 s). */
const CLOSE_WAIT_MS = 10_000;

const MB = 1024 * 1024;
const POLICIES: CollisionPolicy[] = ["skip-identical", "overwrite", "keep-both"];

function num(value: unknown): number | undefined {
  if (value === undefined || value === null || String(value).trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function csv(value: string | undefined): string[] | undefined {
  const list = String(value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return list.length ? list : undefined;
}

function limitsOf(def: DownloadDef): DownloadLimits {
  return {
    filesAtOnce: Math.max(1, Math.floor(num(def.filesAtOnce) ?? DEFAULT_LIMITS.filesAtOnce)),
    connectionsPerFile: Math.max(1, Math.floor(num(def.connections) ?? DEFAULT_LIMITS.connectionsPerFile)),
    segmentThreshold: (num(def.segmentMb) ?? DEFAULT_LIMITS.segmentThreshold / MB) * MB,
    bandwidth: num(def.bandwidthMBs) ? num(def.bandwidthMBs)! * MB : null,
    unlimitedWindow: def.unlimitedWindow?.trim() || null,
  };
}

/** What a message asks to download: a file/folder id, a path, a file object, or a finished transfer. */
function sourceOf(value: unknown): { source: DownloadSource; transferId: number | null } {
  const attempted = "download";
  if (typeof value === "number" || (typeof value === "string" && /^\s*\d+\s*$/.test(value))) return { source: { fileId: Number(value) }, transferId: null };
  if (typeof value === "string" && value.trim().startsWith("/")) return { source: { path: value.trim() }, transferId: null };
  if (value && typeof value === "object" && !Array.isArray(value)) {
    // Fields read once each, through readField: a msg may carry a proxy or a throwing getter.
    const field = (key: string) => readField(value, key, attempted);
    const fileId = field("file_id");
    const fileType = field("file_type");
    const id = field("id");
    if (fileId !== undefined && fileType === undefined) {
      // A transfer (putio-transfer-watch): download what it produced.
      if (typeof fileId !== "number") {
        throw new PutioInputError(attempted, `transfer ${describeValue(id ?? "", 20)} has no file yet (status ${describeValue(field("status") ?? "unknown", 30).replace(/^"|"$/g, "")}): download it once it is completed`);
      }
      return { source: { fileId }, transferId: typeof id === "number" ? id : null };
    }
    const name = field("name");
    if (typeof id === "number" && typeof name === "string") {
      if (fileType === "FOLDER") return { source: { folderId: id }, transferId: null };
      const size = field("size");
      const crc32 = field("crc32");
      if (typeof size === "number") return { source: { file: { id, name, size, file_type: typeof fileType === "string" ? fileType : undefined, crc32: typeof crc32 === "string" ? crc32 : null } }, transferId: null };
      return { source: { fileId: id }, transferId: null };
    }
  }
  throw new PutioInputError(attempted, `expected a put.io file or folder id, a path like "/Movies", a file object or a transfer, got ${describeValue(value)}`);
}

function humanSpeed(bytesPerSecond: number): string {
  return bytesPerSecond >= MB ? `${(bytesPerSecond / MB).toFixed(1)} MB/s` : `${Math.round(bytesPerSecond / 1024)} kB/s`;
}

export = function (RED: NodeAPI): void {
  function PutioDownloadNode(this: Node, def: DownloadDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = useAccount(RED, node, def.account);
    const limits = limitsOf(def);
    const policy: CollisionPolicy = POLICIES.includes(def.ifExists as CollisionPolicy) ? (def.ifExists as CollisionPolicy) : "skip-identical";
    const running = new Set<AbortController>();
    const jobs = new Set<Promise<unknown>>();
    let closing = false;
    const scheduler = (): DownloadScheduler => account!.shared("downloads", () => new DownloadScheduler(account!.client, limits));
    // Unfinished jobs live in the user directory (not in context: the default store is memory).
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
    const journal = new JobJournal(userDir && def.resume !== false ? path.join(userDir, "node-red-putio", `download-${node.id.replace(/[^\w.-]/g, "_")}.json`) : null);
    const remember = (key: string, msg: Msg) =>
      journal.put(key, { msg: jsonSafeMsg(msg), since: Date.now() }).catch((err: Error) => node.warn(`could not record the job for a resume after a restart: ${err.message}`));
    const forget = (key: string) => journal.remove(key).catch(() => {});

    try {
      parseWindow(limits.unlimitedWindow);
      // The account's limits follow the most recently deployed download node.
      if (account) scheduler().configure(limits);
    } catch (err) {
      node.error((err as Error).message);
    }

    function filterOf(msg: Msg): FileFilter {
      const base: FileFilter = {
        fileTypes: csv(def.fileTypes),
        extensions: csv(def.extensions),
        nameGlob: def.namePattern?.trim() || undefined,
        minSize: num(def.minSizeMb) !== undefined ? num(def.minSizeMb)! * MB : undefined,
        maxSize: num(def.maxSizeMb) !== undefined ? num(def.maxSizeMb)! * MB : undefined,
        olderThanDays: num(def.olderThanDays),
      };
      const override = msg.filter && typeof msg.filter === "object" ? (msg.filter as FileFilter) : {};
      return { ...base, ...override };
    }

    async function targetOf(msg: Msg): Promise<string> {
      const raw = await evalProp(RED, node, def.target ?? "", def.targetType || "str", msg);
      const text = expandEnv(typeof raw === "string" ? raw : raw === undefined || raw === null ? "" : String(raw));
      if (!text) throw new PutioInputError("download", "no target folder: set one in the node (or in the msg property it names)");
      const settings = RED.settings as unknown as { fileWorkingDirectory?: string };
      return path.resolve(settings.fileWorkingDirectory || process.cwd(), text);
    }

    onInput(
      node,
      account,
      async ({ msg, send, status }) => {
        if (closing) throw new PutioBaseError("download", "the node is closing");
        delete msg._putioResumed;
        const value = await evalProp(RED, node, def.source ?? "payload", def.sourceType || "msg", msg);
        const { source, transferId } = sourceOf(value);
        const target = await targetOf(msg);
        const filter = filterOf(msg);
        const dryRun = def.dryRun === true || msg.dryRun === true;
        if (dryRun) {
          await account!.ready();
          const plan = await scheduler().run({ source, target, filter, ifExists: policy, deleteAfter: def.deleteAfter ? { skipTrash: !!def.skipTrash } : null, dryRun: true });
          const files = plan.dryRun!.files;
          msg.topic = "putio/download/dry-run";
          msg.dryRun = true;
          msg.payload = {
            dryRun: true,
            files,
            wouldDeleteFileIds: plan.dryRun!.wouldDeleteFileIds,
            wouldRemoveTransferId: def.removeTransfer && transferId !== null ? transferId : null,
            source: plan.source,
            target,
          };
          send(def.progressOutput ? [msg, null] : msg);
          status(STATUS.idle(shortText(`dry run: ${files.length} file(s)${plan.dryRun!.wouldDeleteFileIds.length ? `, ${plan.dryRun!.wouldDeleteFileIds.length} to delete` : ""}`)));
          return;
        }
        // A target that cannot be used fails now, before the job is kept for a restart.
        await ensureTargetFolder(nodeFs, target);
        const key = String(msg._msgid);
        // Registered before the first await, so a close from here on aborts it (and the journal keeps it).
        const ac = new AbortController();
        running.add(ac);
        const stopIfClosed = () => {
          if (ac.signal.aborted) throw new PutioAbortError("download", ac.signal.reason);
        };
        await remember(key, msg);
        try {
          stopIfClosed();
          await account!.ready();
          stopIfClosed();
        } catch (err) {
          running.delete(ac);
          if (!(closing && ac.signal.aborted)) await forget(key);
          throw err;
        }
        const inFlight = new Map<number, DownloadProgress>();
        const statusThrottle = new Throttle(1000);
        const showStatus = () => {
          let bytes = 0;
          let size = 0;
          let speed = 0;
          for (const p of inFlight.values()) {
            bytes += p.bytes;
            size += p.size;
            speed += p.bytesPerSecond;
          }
          status(STATUS.busy(shortText(`${size ? Math.floor((bytes / size) * 100) : 0}% ${humanSpeed(speed)}${inFlight.size > 1 ? ` (${inFlight.size} files)` : ""}`)));
        };
        status(STATUS.busy("starting"));
        let result: JobResult;
        const job = scheduler().run({
          source,
          target,
          filter,
          ifExists: policy,
          deleteAfter: def.deleteAfter ? { skipTrash: !!def.skipTrash } : null,
          signal: ac.signal,
          onProgress: (p) => {
            inFlight.set(p.fileId, p);
            if (def.progressOutput) {
              send([null, { _msgid: RED.util.generateId(), topic: "putio/download/progress", payload: p } as never]);
            }
            if (statusThrottle.ready()) showStatus();
          },
          onFile: (r) => {
            inFlight.delete(r.fileId);
            if (r.status !== "downloaded") return;
            const out = RED.util.cloneMessage(msg) as Msg;
            out.topic = "putio/downloaded";
            out.payload = { ...r, transferId };
            send(def.progressOutput ? [out, null] : out);
          },
        });
        jobs.add(job);
        try {
          result = await job;
        } finally {
          jobs.delete(job);
          running.delete(ac);
          // Kept only when the node closed mid-job: the next start runs it again (and resumes its parts).
          if (!(closing && ac.signal.aborted)) await forget(key);
        }
        let transferRemoved = false;
        if (def.removeTransfer && transferId !== null && result.failed === 0) {
          await (await account!.ready()).transfers.remove([transferId]);
          transferRemoved = true;
        }
        msg.topic = "putio/download/done";
        msg.payload = {
          downloaded: result.downloaded,
          skipped: result.skipped,
          failed: result.failed,
          files: result.files,
          errors: result.errors.map((e) => ({ fileId: e.fileId, name: e.name, putioPath: e.putioPath, message: e.error.message })),
          deletedFileIds: result.deletedFileIds,
          transferId,
          transferRemoved,
          source: result.source,
          target,
          bytes: result.bytes,
          seconds: result.seconds,
        };
        send(def.progressOutput ? [msg, null] : msg);
        if (result.failed) {
          const first = result.errors[0].error;
          const err = new PutioBaseError("download", `${result.failed} of ${result.failed + result.downloaded + result.skipped} file(s) failed; ${def.deleteAfter ? "nothing was deleted on put.io. " : ""}First: ${first.message}`, { cause: first });
          throw err;
        }
        status(STATUS.ok(shortText(`${result.downloaded} downloaded, ${result.skipped} skipped`)));
      },
      { doneText: null },
    );

    // Jobs a restart or redeploy interrupted: run again once the account is ready.
    if (account && journal.file) {
      (async () => {
        const left = await journal.pending();
        if (!left.length) return;
        await account.ready();
        if (closing) return;
        node.log(`resuming ${left.length} interrupted download job(s)`);
        for (const [, entry] of left) node.receive({ ...entry.msg, _putioResumed: true });
      })().catch((err: Error) => node.warn(`interrupted downloads were not resumed: ${err.message}`));
    }

    node.on("close", (removed: boolean, done: () => void) => {
      closing = true;
      // Abort within the close timeout; the engine keeps resumable temp files.
      for (const ac of running) ac.abort(new Error("node closed"));
      let timer: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          node.warn(`${jobs.size} download job(s) did not stop within ${CLOSE_WAIT_MS / 1000} s of the close; they are kept for the next start`);
          resolve();
        }, CLOSE_WAIT_MS);
      });
      Promise.race([Promise.allSettled([...jobs]), bounded])
        .then(() => (removed ? journal.discard() : journal.close()))
        .then(() => done(), () => done())
        .finally(() => clearTimeout(timer));
    });
  }
  RED.nodes.registerType("putio-download", PutioDownloadNode);
};
