/**
 * putio-download: downloads a put.io file or mirrors a folder to a local (NAS) folder, verified and
 * resumable (lib/download). One msg per finished file and one per job on output 1, optional
 * progress msgs on output 2; optionally deletes the put.io files (and the transfer) once every
 * file of the job is verified. Limits are per account, shared by every download node.
 */
import * as path from "node:path";
import { PutioBaseError, PutioInputError } from "../lib/core/errors";
import { isText, t } from "../lib/core/texts";
import type { ExtractStatus } from "../lib/media-jobs/extraction";
import {
  DEFAULT_LIMITS,
  DownloadScheduler,
  JobProgress,
  JournaledJobs,
  dryRunSummary,
  jobSummary,
  Throttle,
  parseWindow,
  type CollisionPolicy,
  type DownloadLimits,
  downloadSourceOf,
  runDownloadJob,
} from "../lib/download";
import { ensureTargetFolder, nodeFs } from "../lib/local";
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

function configOf(def: DownloadDef, node: Node) {
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
    /** null: no subtitles; else the languages (undefined: the account's). */
    subtitles: def.subtitles === true ? { languages: def.subtitleLanguages?.trim() || undefined } : null,
    /** null: archives are downloaded as they are. */
    extract: def.extract === true ? { keepArchives: def.keepArchives === true, password: archivePasswordOf(node) } : null,
    preferMp4: def.preferMp4 === true,
  };
}
type DownloadConfig = ReturnType<typeof configOf>;

export = function (RED: NodeAPI): void {
  /** Per node: its jobs, journaled in the user directory (not in context: the default store is memory). */
  const jobsOf = new WeakMap<object, JournaledJobs>();
  const schedulerOf = (account: AccountNode, limits: DownloadLimits): DownloadScheduler => downloadsOf(RED, account, limits);

  definePutioNode<DownloadDef, DownloadConfig>(RED, {
    type: "putio-download",
    lazyAccount: true,
    doneStatus: null,
    registerOptions: { credentials: { archivePassword: { type: "password" } } },
    config: (def, _RED, node) => configOf(def, node),

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
      const scheduler = schedulerOf(account, config.limits);
      const base = {
        source,
        target,
        filter: filterWithMsg(config.filter, msg.filter),
        ifExists: config.policy,
        deleteAfter: config.deleteAfter,
        preferMp4: config.preferMp4,
        signal,
      };
      if (config.dryRun || msg.dryRun === true) {
        await ready();
        const plan = await scheduler.run({ ...base, dryRun: true });
        const { files, wouldDeleteFileIds: deletes } = plan.dryRun!;
        msg.topic = "putio/download/dry-run";
        msg.dryRun = true;
        msg.payload = dryRunSummary(plan, { removeTransferId: config.removeTransfer ? transferId : null, target });
        sendOut(msg);
        const said = deletes.length
          ? text("putio-download.status.dry-run-deletes", { files: files.length, deletes: deletes.length })
          : text("putio-download.status.dry-run", { files: files.length });
        return status(STATUS.idle(shortText(said)));
      }
      // A target that cannot be used fails now, before the job is kept for a restart.
      await ensureTargetFolder(nodeFs, target);
      let counts = { downloaded: 0, skipped: 0 };
      const end = await job.run(async ({ extracted, onExtracted }) => {
        const client = await ready();
        const progress = new JobProgress();
        const statusThrottle = new Throttle(1000);
        const showStatus = () => {
          const { retrying: retry, ...p } = progress.summary();
          if (retry) {
            // An outage: say so, instead of a percentage that does not move.
            const waited = Math.max(0, Math.round((Date.now() - retry.failingSinceMs) / 60_000));
            const said =
              retry.attempt < retry.of
                ? text("putio-download.status.retrying", { attempt: retry.attempt, of: retry.of })
                : text("putio-download.status.waiting", { minutes: waited, max: Math.round(retry.outageWaitMs / 60_000) });
            return status(STATUS.warn(shortText(said, 60)));
          }
          const params = { percent: p.percent, speed: humanSpeed(p.bytesPerSecond), files: p.files };
          status(STATUS.busy(shortText(text(p.files > 1 ? "putio-download.status.progress-files" : "putio-download.status.progress", params))));
        };
        status(STATUS.busy(text("putio-download.status.starting")));
        const extract = config.extract && {
          password,
          keepArchives: config.extract.keepArchives,
          done: extracted,
          onStatus: (s: ExtractStatus) =>
            status(STATUS.busy(shortText(text("putio-download.status.extracting", { archive: s.archive, status: s.status }), 60))),
          onExtracted,
        };
        const outcome = await runDownloadJob(
          scheduler,
          client,
          {
            ...base,
            extract,
            onProgress: (p) => {
              const saidAtOnce = progress.update(p);
              if (config.progressOutput) send([null, { _msgid: RED.util.generateId(), topic: "putio/download/progress", payload: p } as never]);
              // A retry (or its end) is shown at once; plain progress at most once a second.
              if (statusThrottle.ready() || saidAtOnce) showStatus();
            },
            onFile: (r) => {
              progress.ended(r.fileId);
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
        const { result } = outcome;
        counts = { downloaded: result.downloaded, skipped: result.skipped };
        msg.topic = "putio/download/done";
        msg.payload = jobSummary(outcome, { transferId, target, message: (err) => localizeError(RED, err).message });
        const first = result.errors[0]?.error as (Error & { text?: unknown }) | undefined;
        if (!first) return { out: msg, error: null };
        const params = {
          failed: result.failed,
          total: result.failed + result.downloaded + result.skipped,
          first: isText(first.text) ? first.text : first.message,
        };
        const failed = t(config.deleteAfter ? "putio-download.errors.failed-kept" : "putio-download.errors.failed", params);
        return { out: msg, error: new PutioBaseError(t("putio-download.op.download"), failed, { cause: first }) };
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
