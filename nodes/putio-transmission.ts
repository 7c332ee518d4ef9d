/**
 * putio-transmission: a Transmission RPC endpoint on Node-RED's own HTTP server, so Sonarr, Radarr,
 * Lidarr, Readarr, Whisparr and Prowlarr use put.io as their download client. The protocol, the
 * torrents and their lifecycle live in lib/transmission; this node wires them to the account (its
 * shared transfer watcher and download scheduler), the HTTP route, the status and the output (one
 * msg per lifecycle event).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import * as path from "node:path";
import { DEFAULT_LIMITS } from "../lib/download";
import { PutioBaseError } from "../lib/core/errors";
import { isText, t } from "../lib/core/texts";
import { abortableSleep, backoffDelay } from "../lib/core/sleep";
import { RpcHttp } from "../lib/transmission/http";
import { AppApi, appBaseUrl } from "../lib/transmission/app-api";
import { AppImports, type AppImportsState } from "../lib/transmission/app-imports";
import { TorrentManager, type CleanupPolicy, type LifecycleEvent } from "../lib/transmission/manager";
import { FileStore, LayeredStore, PutioConfigStore, stateKey } from "../lib/transmission/store";
import { ownerWanted, parseId, parseMode, type OwnerSettings } from "../lib/transmission/owner";
import { SKIP_EXTRAS, type SkipExtras } from "../lib/transmission/skip";
import { downloadsOf, localLedger, releaseTransferWatcher, transferWatcherOf } from "./common/services";
import { expandEnv } from "./common/account";
import { renderText, toError } from "./common/errors";
import { serveRoute } from "./common/http-route";
import { sidebarTorrents } from "./common/sidebar";
import { definePutioNode } from "./common/kernel";
import { STATUS, shortText, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface TransmissionDef extends NodeDef {
  account: string;
  path?: string;
  downloadDir?: string;
  appDir?: string;
  putioFolder?: string;
  cleanup?: CleanupPolicy;
  requireAuth?: boolean;
  adopt?: boolean;
  failArchiveOnly?: boolean;
  /** Extract archives on put.io before the local copy (password in the credentials). */
  extract?: boolean;
  /** Copy a video's MP4 version when put.io has one ready. */
  preferMp4?: boolean;
  /** Write put.io's subtitles beside each copied video. */
  subtitles?: boolean;
  /** Their languages ("eng,tur"); empty: the account's. */
  subtitleLanguages?: string;
  /** Ask the app's own API what it imported, and clean put.io up then (the API key in the credentials). */
  appCleanup?: boolean;
  /** The app's address (Sonarr, Radarr). */
  appUrl?: string;
  /** Leave samples and extras on put.io: "categories" (default), "all", "none". */
  skipExtras?: SkipExtras;
  /** Owner and mode of what lands on disk; empty: as the process makes them. */
  uid?: string;
  gid?: string;
  fileMode?: string;
  dirMode?: string;
}

interface TransmissionCredentials {
  username?: string;
  password?: string;
  archivePassword?: string;
  appApiKey?: string;
}

interface TransmissionConfig {
  route: string;
  localRoot: string;
  appDir: string;
  putioFolder: string;
  cleanup: CleanupPolicy;
  credentials: { username: string; password: string } | null;
  adopt: boolean;
  failArchiveOnly: boolean;
  extract: { password?: string } | null;
  preferMp4: boolean;
  subtitles: { languages?: string } | null;
  app: { url: string; apiKey: string } | null;
  skipExtras: SkipExtras;
  owner: OwnerSettings | null;
}

const T = "putio-transmission";
const CLEANUPS: CleanupPolicy[] = ["trash", "delete", "keep"];

/**
 * The local copy of the node's state: in Node-RED's user folder, else (no user folder: an embedded
 * runtime) in a hidden folder of the download folder.
 */
function stateFile(config: TransmissionConfig, userDir?: string): string {
  const dir = userDir ? path.join(userDir, "node-red-putio") : path.join(config.localRoot, ".putio-transmission");
  return path.join(dir, `${stateKey(config.route)}.json`);
}

/** Paths served by a node right now: two nodes on one path would answer for each other. */
const served = new Map<string, string>();

export = function (RED: NodeAPI): void {
  definePutioNode<TransmissionDef, TransmissionConfig>(RED, {
    type: T,
    registerOptions: {
      credentials: { username: { type: "text" }, password: { type: "password" }, archivePassword: { type: "password" }, appApiKey: { type: "password" } },
    },
    config(def, _RED, node) {
      const raw = String(def.path ?? "").trim() || "/transmission/rpc";
      const route = "/" + raw.replace(/^\/+|\/+$/g, "");
      if (!/^\/[A-Za-z0-9._~/-]*$/.test(route) || route.split("/").includes(".."))
        throw new PutioBaseError(T, t("putio-transmission.errors.badPath", { path: raw }));
      const dir = expandEnv(def.downloadDir);
      if (!dir) throw new PutioBaseError(T, t("putio-transmission.errors.noDownloadDir"));
      const settings = RED.settings as unknown as { fileWorkingDirectory?: string };
      const localRoot = path.resolve(settings.fileWorkingDirectory || process.cwd(), dir);
      const creds = (node as Node & { credentials?: TransmissionCredentials }).credentials ?? {};
      const requireAuth = def.requireAuth !== false;
      const uid = parseId(def.uid);
      const gid = parseId(def.gid);
      if (uid === undefined || gid === undefined)
        throw new PutioBaseError(T, t("putio-transmission.errors.badOwner", { uid: String(def.uid ?? ""), gid: String(def.gid ?? "") }));
      const fileMode = parseMode(def.fileMode);
      const dirMode = parseMode(def.dirMode);
      if (fileMode === undefined || dirMode === undefined)
        throw new PutioBaseError(T, t("putio-transmission.errors.badMode", { mode: String(fileMode === undefined ? def.fileMode : def.dirMode) }));
      const owner: OwnerSettings = { uid, gid, fileMode, dirMode };
      if (requireAuth && (!creds.username || !creds.password)) throw new PutioBaseError(T, t("putio-transmission.errors.noCredentials"));
      let app: TransmissionConfig["app"] = null;
      if (def.appCleanup === true) {
        const url = expandEnv(def.appUrl) ?? "";
        if (!url) throw new PutioBaseError(T, t("putio-transmission.errors.noAppUrl"));
        if (!creds.appApiKey) throw new PutioBaseError(T, t("putio-transmission.errors.noAppKey"));
        appBaseUrl(url);
        app = { url, apiKey: creds.appApiKey };
      }
      return {
        route,
        localRoot,
        appDir: expandEnv(def.appDir) ?? "",
        putioFolder: String(def.putioFolder ?? "").trim() || "/Transmission",
        cleanup: CLEANUPS.includes(def.cleanup as CleanupPolicy) ? (def.cleanup as CleanupPolicy) : "trash",
        credentials: requireAuth ? { username: creds.username!, password: creds.password! } : null,
        adopt: def.adopt === true,
        failArchiveOnly: def.failArchiveOnly !== false,
        extract: def.extract === true ? { password: creds.archivePassword || undefined } : null,
        preferMp4: def.preferMp4 === true,
        subtitles: def.subtitles === true ? { languages: def.subtitleLanguages?.trim() || undefined } : null,
        app,
        skipExtras: SKIP_EXTRAS.includes(def.skipExtras as SkipExtras) ? (def.skipExtras as SkipExtras) : "categories",
        owner: ownerWanted(owner) ? owner : null,
      };
    },

    start({ node, config, account, closing, ready, text }) {
      if (!account) return;
      const owner = served.get(config.route);
      if (owner && owner !== node.id) {
        node.status(STATUS.error(shortText(text("putio-transmission.status.pathInUse"))));
        node.error(text("putio-transmission.errors.pathInUse", { path: config.route }));
        return;
      }
      served.set(config.route, node.id);
      const closed = () => closing.aborted;
      const redact = (err: unknown) => toError(err, account.tokenForRedaction()).message;

      // The account's one watcher (as putio-transfer-watch's default mode) and download scheduler (putio-download's limits).
      const watcher = transferWatcherOf(account);
      const scheduler = downloadsOf(RED, account, DEFAULT_LIMITS);
      let http: RpcHttp | null = null;

      let statusTimer: NodeJS.Timeout | null = null;
      let imports: AppImports | null = null;
      const APP_STATUS = {
        refused: "putio-transmission.status.appRefused",
        down: "putio-transmission.status.appDown",
        answer: "putio-transmission.status.appAnswer",
      } as const;
      const showStatus = () => {
        if (closed() || statusTimer) return;
        // At most one status update per second, however busy the app is.
        statusTimer = setTimeout(() => {
          statusTimer = null;
          if (closed()) return;
          const c = manager.counts();
          const last = manager.lastCall ? new Date(manager.lastCall.at).toTimeString().slice(0, 8) : "-";
          const pending = manager.pendingCleanups().length;
          const counts = { putio: c.putio, local: c.local, done: c.done, failed: c.failed, last, pending };
          // Clean-ups put.io has not taken yet are shown until they are done.
          const line = text(pending ? "putio-transmission.status.countsPending" : "putio-transmission.status.counts", counts);
          const app = imports?.state.kind;
          // The app refusing the key (or not answering) is said until it answers again: nothing is cleaned meanwhile.
          if (app === "refused" || app === "down" || app === "answer")
            node.status((app === "down" ? STATUS.warn : STATUS.error)(shortText(text(APP_STATUS[app]))));
          else node.status(c.failed || pending ? STATUS.warn(line) : c.putio + c.local ? STATUS.busy(line) : STATUS.ok(line));
        }, 1000);
        statusTimer.unref?.();
      };

      const send = (e: LifecycleEvent) => {
        if (closed()) return;
        const tor = e.torrent;
        node.send({
          _msgid: RED.util.generateId(),
          topic: `transmission/${e.type}`,
          category: tor.category,
          payload: {
            event: e.type,
            id: tor.id,
            hash: tor.hash,
            name: tor.name,
            category: tor.category,
            labels: tor.labels,
            downloadDir: tor.downloadDir,
            localDir: tor.localDir,
            path: tor.topPath,
            files: tor.files,
            size: tor.size,
            transferId: tor.transferId,
            fileId: tor.fileId,
            // put.io's seeding as last seen (ratio, uploaded, seconds, stopped), null before put.io seeds.
            seeding: tor.seeding ?? null,
            // Texts of lib/ in the runtime's language.
            error: tor.errorText ? renderText(RED, tor.errorText) : tor.error,
            ...Object.fromEntries(Object.entries(e.detail ?? {}).map(([k, v]) => [k, isText(v) ? renderText(RED, v) : v])),
          },
        } as never);
      };

      const manager = new TorrentManager({
        client: account.client,
        scheduler,
        watcher,
        socket: account.socket(),
        store: new LayeredStore(
          new FileStore(stateFile(config, (RED.settings as unknown as { userDir?: string }).userDir)),
          new PutioConfigStore(account.client, stateKey(config.route), closing),
          {
            onRemoteError: (err) => !closed() && node.debug(redact(err)),
          },
        ),
        localRoot: config.localRoot,
        sessionDir: config.appDir || undefined,
        putioRoot: config.putioFolder,
        cleanup: config.cleanup,
        adopt: config.adopt,
        failArchiveOnly: config.failArchiveOnly,
        extract: config.extract,
        preferMp4: config.preferMp4,
        subtitles: config.subtitles ? { ...config.subtitles, ledger: localLedger(RED) } : null,
        skipExtras: config.skipExtras,
        owner: config.owner,
        sessionId: () => http?.sessionId ?? "",
        onEvent: send,
        onError: (err) => !closed() && node.warn(text("putio-transmission.errors.background", { message: redact(err) })),
        onChange: showStatus,
      });
      http = new RpcHttp({ backend: manager, credentials: config.credentials });
      // Without a clean-up policy there is nothing to do once the app imported: the app is not asked.
      if (config.app && config.cleanup !== "keep") {
        imports = new AppImports({
          api: new AppApi({ url: config.app.url, apiKey: config.app.apiKey, proxy: account.client.transport.proxy }),
          host: manager,
          onState: (s: AppImportsState) => {
            if (closed()) return;
            if (s.error) node.warn(text("putio-transmission.errors.app", { message: renderText(RED, s.error.text) }));
            showStatus();
          },
          onError: (err) => !closed() && node.warn(text("putio-transmission.errors.background", { message: redact(err) })),
        });
      }
      // The editor's put.io tab shows this node's torrents (from memory: no put.io request).
      const offSidebar = sidebarTorrents(account, node, { list: (max) => manager.statusList(max) });
      const rpc = http;

      const handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
        // A closed node's route may linger in a router that cannot drop it: the next one answers.
        if (closed()) return next();
        rpc.handle(req, res);
        showStatus();
      };
      const route = serveRoute(RED, { path: config.route, methods: ["get", "post"], handler, ownBody: true });

      node.status(STATUS.idle(text("putio-transmission.status.starting")));
      // put.io unreachable at start must not leave the node dead until the next deploy: the stored
      // state is answered from at once (the local copy needs no put.io), put.io followed once it answers.
      (async () => {
        for (let attempt = 0; !closed(); attempt++) {
          try {
            await manager.load();
            showStatus();
            // The app is asked from the stored state on: a clean-up put.io cannot take yet is kept and retried.
            imports?.start();
            await ready();
            await manager.follow();
            showStatus();
            return;
          } catch (err) {
            if (closed()) return;
            node.status(STATUS.error(shortText(text("putio-transmission.status.startFailed"))));
            node.error(text("putio-transmission.errors.startFailed", { message: redact(err) }));
            await abortableSleep(backoffDelay(attempt, 5_000, 5 * 60_000), closing).catch(() => {});
          }
        }
      })();

      return {
        async close() {
          if (statusTimer) clearTimeout(statusTimer);
          offSidebar();
          route.remove();
          if (served.get(config.route) === node.id) served.delete(config.route);
          await imports?.close();
          await manager.close();
          releaseTransferWatcher(account, watcher);
          node.status({});
        },
      };
    },
  });
};
