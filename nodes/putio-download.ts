/**
 * putio-download: downloads a put.io file or mirrors a folder to a local (NAS) folder, verified and
 * resumable (lib/download). One msg per finished file and one per job on output 1, optional
 * progress msgs on output 2; optionally deletes the put.io files (and the transfer) once every
 * file of the job is verified. Limits are per account, shared by every download node.
 */
import * as path from "node:path";
import { PutioBaseError, PutioInputError } from "../lib/core/errors";
import { isText, t, type Text } from "../lib/core/texts";
import {
  DEFAULT_LIMITS,
  DownloadScheduler,
  JournaledJobs,
  Throttle,
  parseWindow,
  type CollisionPolicy,
  type DownloadLimits,
  type DownloadProgress,
  downloadSourceOf,
  runDownloadJob,
} from "../lib/download";
import { ensureTargetFolder, nodeFs } from "../lib/local";
import type { FileFilter } from "../lib/domains/filters";
import { downloadsOf, localLedger } from "./common/services";
import { localizeError } from "./common/errors";
import { expandEnv, type AccountNode } from "./common/account";
import { filterFromFields, filterWithMsg, num, type FilterFields } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { STATUS, evalProp, shortText, type Msg, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface DownloadDef extends NodeDef, FilterFields {
  account: string;
  source?: string;
  sourceType?: string;
  target?: string;
  targetType?: string;
  ifExists?: CollisionPolicy;
  deleteAfter?: boolean;
  skipTrash?: boolean;
  removeTransfer?: boolean;
  progressOutput?: boolean;
  filesAtOnce?: string | number;
  connections?: string | number;
  segmentMb?: string | number;
  bandwidthMBs?: string | number;
  unlimitedWindow?: string;
  /** Write put.io's subtitles of each video beside it as `<video name>.<lang>.srt`. */
  subtitles?: boolean;
  /** Languages in order ("eng,tur"); empty: the account's subtitle languages. */
  subtitleLanguages?: string;
  /** Minutes a download waits for put.io to come back during an outage before it fails (default 60). */
  outageMinutes?: string | number;
  /** Run jobs left unfinished by a restart or redeploy again at start (default on). */
  resume?: boolean;
  /** Plan only: list what would be downloaded and deleted; write and delete nothing (also msg.dryRun). */
  dryRun?: boolean;
  /** Extract archives on put.io first and download what came out (password: credentials or msg.password). */
  extract?: boolean;
  /** With extract: also download the archive volumes. */
  keepArchives?: boolean;
  /** Take a video's MP4 version when put.io has one ready. */
  preferMp4?: boolean;
}

const MB = 1024 * 1024;
/** A home line or put.io down for a while is normal: wait generously before failing a job. */
const DEFAULT_OUTAGE_MINUTES = 60;
const POLICIES: CollisionPolicy[] = ["skip-identical", "overwrite", "keep-both"];

function limitsOf(def: DownloadDef): DownloadLimits {
  return {
    filesAtOnce: Math.max(1, Math.floor(num(def.filesAtOnce) ?? DEFAULT_LIMITS.filesAtOnce)),
    connectionsPerFile: num(def.connections) === undefined ? "auto" : Math.max(1, Math.floor(num(def.connections)!)),
    segmentThreshold: (num(def.segmentMb) ?? DEFAULT_LIMITS.segmentThreshold / MB) * MB,
    bandwidth: num(def.bandwidthMBs) ? num(def.bandwidthMBs)! * MB : null,
    unlimitedWindow: def.unlimitedWindow?.trim() || null,
    outageWaitMs: Math.max(0, num(def.outageMinutes) ?? DEFAULT_OUTAGE_MINUTES) * 60_000,
  };
}

/** The node's archive password (credentials), if any. */
function archivePasswordOf(node: Node): string | undefined {
  const creds = (node as Node & { credentials?: { archivePassword?: string } }).credentials;
  return creds?.archivePassword || undefined;
}

function humanSpeed(bytesPerSecond: number): string {
  return bytesPerSecond >= MB ? `${(bytesPerSecond / MB).toFixed(1)} MB/s` : `${Math.round(bytesPerSecond / 1024)} kB/s`;
}

interface DownloadConfig {
  limits: DownloadLimits;
  policy: CollisionPolicy;
  filter: FileFilter;
  source: string;
  sourceType: string;
  target: string;
  targetType: string;
  deleteAfter: { skipTrash: boolean } | null;
  removeTransfer: boolean;
  progressOutput: boolean;
  dryRun: boolean;
  resume: boolean;
  /** null: no subtitles; else the languages (undefined: the account's). */
  subtitles: { languages: string | undefined } | null;
  /** null: archives are downloaded as they are. */
  extract: { keepArchives: boolean; password: string | undefined } | null;
  preferMp4: boolean;
}

export = function (RED: NodeAPI): void {
  /** Per node: its jobs, journaled in the user directory (not in context: the default store is memory). */
  const jobsOf = new WeakMap<object, JournaledJobs>();
  const schedulerOf = (account: AccountNode, limits: DownloadLimits): DownloadScheduler => downloadsOf(RED, account, limits);

  definePutioNode<DownloadDef, DownloadConfig>(RED, {
    type: "putio-download",
    lazyAccount: true,
    doneStatus: null,
    registerOptions: { credentials: { archivePassword: { type: "password" } } },
    config(def, _RED, node) {
      const limits = limitsOf(def);
      parseWindow(limits.unlimitedWindow);
      return {
        limits,
        policy: POLICIES.includes(def.ifExists as CollisionPolicy) ? (def.ifExists as CollisionPolicy) : "skip-identical",
        filter: filterFromFields(def),
        source: def.source ?? "payload",
        sourceType: def.sourceType || "msg",
        target: def.target ?? "",
        targetType: def.targetType || "str",
        deleteAfter: def.deleteAfter ? { skipTrash: !!def.skipTrash } : null,
        removeTransfer: !!def.removeTransfer,
        progressOutput: !!def.progressOutput,
        dryRun: def.dryRun === true,
        resume: def.resume !== false,
        subtitles: def.subtitles === true ? { languages: def.subtitleLanguages?.trim() || undefined } : null,
        extract: def.extract === true ? { keepArchives: def.keepArchives === true, password: archivePasswordOf(node) } : null,
        preferMp4: def.preferMp4 === true,
      };
    },

    start({ node, config, account, closing, ready, text }) {
      const userDir = (RED.settings as unknown as { userDir?: string }).userDir;
      const jobs = new JournaledJobs({
        file: userDir && config.resume ? path.join(userDir, "node-red-putio", `download-${node.id.replace(/[^\w.-]/g, "_")}.json`) : null,
        attempted: t("putio-download.op.download"),
        onJournalError: (err) => node.warn(text("putio-download.warn.journal", { message: err.message })),
      });
      jobsOf.set(node, jobs);
      // The account's limits follow the most recently deployed download node.
      if (account) schedulerOf(account, config.limits).configure(config.limits);
      // Jobs a restart or redeploy interrupted (or whose outcome it held back): received again once the account is ready.
      if (account && jobs.kept) {
        (async () => {
          const left = await jobs.leftover();
          if (!left.length) return;
          await ready();
          node.log(text("putio-download.log.resuming", { count: left.length }));
          for (const msg of left) node.receive(msg);
        })().catch((err: Error) => {
          if (!closing.aborted) node.warn(text("putio-download.warn.not-resumed", { message: localizeError(RED, err).message }));
        });
      }
      return { close: (removed) => jobs.close(removed) };
    },

    async input({ node, config, account, msg, send, status, signal, ready, text }) {
      // The archive password is used, never kept: not in the journal, not in the msgs sent on.
      const password = typeof msg.password === "string" && msg.password ? msg.password : config.extract?.password;
      if (config.extract) delete msg.password;
      const sendOut = (out: Msg) => send(config.progressOutput ? [out, null] : out);
      const job = await jobsOf.get(node)!.admit(msg, signal, sendOut);
      if (!job) return;
      const value = await evalProp(RED, node, config.source, config.sourceType, msg);
      const { source, transferId } = downloadSourceOf(value, config.sourceType === "msg" && config.source === "payload" ? msg.file : undefined);
      const target = await targetOf(msg, config, node);
      const filter = filterWithMsg(config.filter, msg.filter);
      const scheduler = schedulerOf(account, config.limits);
      if (config.dryRun || msg.dryRun === true) {
        await ready();
        const plan = await scheduler.run({
          source,
          target,
          filter,
          ifExists: config.policy,
          deleteAfter: config.deleteAfter,
          dryRun: true,
          preferMp4: config.preferMp4,
          signal,
        });
        const files = plan.dryRun!.files;
        const deletes = plan.dryRun!.wouldDeleteFileIds;
        msg.topic = "putio/download/dry-run";
        msg.dryRun = true;
        msg.payload = {
          dryRun: true,
          files,
          wouldDeleteFileIds: deletes,
          wouldRemoveTransferId: config.removeTransfer && transferId !== null ? transferId : null,
          source: plan.source,
          target,
        };
        send(config.progressOutput ? [msg, null] : msg);
        status(
          STATUS.idle(
            shortText(
              deletes.length
                ? text("putio-download.status.dry-run-deletes", { files: files.length, deletes: deletes.length })
                : text("putio-download.status.dry-run", { files: files.length }),
            ),
          ),
        );
        return;
      }
      // A target that cannot be used fails now, before the job is kept for a restart.
      await ensureTargetFolder(nodeFs, target);
      let counts = { downloaded: 0, skipped: 0 };
      const end = await job.run(async ({ extracted, onExtracted }) => {
        const client = await ready();
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
          const params = { percent: size ? Math.floor((bytes / size) * 100) : 0, speed: humanSpeed(speed), files: inFlight.size };
          const retry = [...inFlight.values()].map((p) => p.retrying).find((r) => r !== undefined);
          if (retry) {
            // An outage: say so, instead of a percentage that does not move.
            const waited = Math.max(0, Math.round((Date.now() - retry.failingSinceMs) / 60_000));
            status(
              STATUS.warn(
                shortText(
                  retry.attempt < retry.of
                    ? text("putio-download.status.retrying", { attempt: retry.attempt, of: retry.of })
                    : text("putio-download.status.waiting", { minutes: waited, max: Math.round(retry.outageWaitMs / 60_000) }),
                  60,
                ),
              ),
            );
            return;
          }
          status(STATUS.busy(shortText(text(inFlight.size > 1 ? "putio-download.status.progress-files" : "putio-download.status.progress", params))));
        };
        status(STATUS.busy(text("putio-download.status.starting")));
        const outcome = await runDownloadJob(
          scheduler,
          client,
          {
            source,
            target,
            filter,
            ifExists: config.policy,
            deleteAfter: config.deleteAfter,
            preferMp4: config.preferMp4,
            extract: config.extract
              ? {
                  password,
                  keepArchives: config.extract.keepArchives,
                  done: extracted,
                  onStatus: (s) => status(STATUS.busy(shortText(text("putio-download.status.extracting", { archive: s.archive, status: s.status }), 60))),
                  onExtracted,
                }
              : null,
            signal,
            onProgress: (p) => {
              const wasRetrying = inFlight.get(p.fileId)?.retrying !== undefined;
              inFlight.set(p.fileId, p);
              if (config.progressOutput) send([null, { _msgid: RED.util.generateId(), topic: "putio/download/progress", payload: p } as never]);
              // A retry (or its end) is shown at once; plain progress at most once a second.
              if (statusThrottle.ready() || p.retrying !== undefined || wasRetrying) showStatus();
            },
            onFile: (r) => {
              inFlight.delete(r.fileId);
              if (r.status !== "downloaded") return;
              const out = RED.util.cloneMessage(msg) as Msg;
              out.topic = "putio/downloaded";
              out.payload = { ...r, transferId };
              sendOut(out);
            },
          },
          {
            subtitles: config.subtitles ? { languages: config.subtitles.languages, ledger: localLedger(RED) } : null,
            removeTransferId: config.removeTransfer ? transferId : null,
          },
        );
        const { result, transferRemoved } = outcome;
        counts = { downloaded: result.downloaded, skipped: result.skipped };
        const subtitleSummary = outcome.subtitles && {
          ...outcome.subtitles,
          failed: outcome.subtitles.failed.map((x) => ({ name: x.name, language: x.language, message: localizeError(RED, x.error).message })),
        };
        msg.topic = "putio/download/done";
        msg.payload = {
          downloaded: result.downloaded,
          skipped: result.skipped,
          failed: result.failed,
          files: result.files,
          errors: result.errors.map((e) => ({ fileId: e.fileId, name: e.name, putioPath: e.putioPath, message: e.error.message })),
          deletedFileIds: result.deletedFileIds,
          ...(subtitleSummary ? { subtitles: subtitleSummary } : {}),
          ...(result.extraction ? { extraction: result.extraction } : {}),
          transferId,
          transferRemoved,
          source: result.source,
          target,
          bytes: result.bytes,
          seconds: result.seconds,
        };
        const first = result.errors[0]?.error;
        return {
          out: msg,
          error: first
            ? new PutioBaseError(
                t("putio-download.op.download"),
                t(config.deleteAfter ? "putio-download.errors.failed-kept" : "putio-download.errors.failed", {
                  failed: result.failed,
                  total: result.failed + result.downloaded + result.skipped,
                  first: isText((first as { text?: unknown }).text) ? (first as unknown as { text: Text }).text : first.message,
                }),
                { cause: first },
              )
            : null,
        };
      });
      if (!end.error) status(STATUS.ok(shortText(text("putio-download.status.done", counts))));
    },
  });

  async function targetOf(msg: Msg, config: DownloadConfig, node: Node): Promise<string> {
    const raw = await evalProp(RED, node, config.target, config.targetType, msg);
    const text = expandEnv(typeof raw === "string" ? raw : raw === undefined || raw === null ? "" : String(raw));
    if (!text) throw new PutioInputError(t("putio-download.op.download"), t("putio-download.errors.no-target"));
    const settings = RED.settings as unknown as { fileWorkingDirectory?: string };
    return path.resolve(settings.fileWorkingDirectory || process.cwd(), text);
  }
};
