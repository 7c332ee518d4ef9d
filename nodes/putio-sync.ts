/**
 * putio-sync: keeps a local folder identical to a put.io folder (lib/sync). A msg starts a run;
 * with "follow changes" the account's socket file events start one too (after a short quiet
 * time), and a reconcile runs on a timer as the safety net. Runs never overlap: triggers during a
 * run make one more run after it. One msg per run, with what was copied, renamed, skipped,
 * trashed and what failed.
 */
import * as path from "node:path";
import { PutioInputError } from "../lib/core/errors";
import type { SocketEvent } from "../lib/core/socket";
import { t } from "../lib/core/texts";
import { downloadsOf } from "./common/services";
import { SyncRunner, interrupted, runSync, type RemoteCache, type SyncResult } from "../lib/sync";
import { localizeError, statusTextOf, toError } from "./common/errors";
import { num } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { STATUS, shortText, type Msg, type NodeAPI, type NodeDef } from "./common/node-api";

interface SyncDef extends NodeDef {
  account: string;
  folder?: string;
  folderType?: string;
  target?: string;
  targetType?: string;
  live?: boolean;
  reconcileMinutes?: string | number;
  propagateDeletes?: boolean;
  removeExtras?: boolean;
  dryRun?: boolean;
  /** Quiet time after a socket file event before the run (tests shorten it). */
  debounceMs?: number;
}

interface SyncConfig {
  folder: string | number;
  target: string;
  live: boolean;
  reconcileMs: number;
  propagateDeletes: boolean;
  removeExtras: boolean;
  dryRun: boolean;
  debounceMs: number;
}

/** After a file event: put.io sends bursts (a folder of 40 files), one run takes them all. */
const DEBOUNCE_MS = 5000;
/** A burst of events delays its run by at most this many quiet times. */
const BURST_LIMIT = 6;
/** Without the socket, events are missed: reconcile at least this often. */
const SOCKET_DOWN_RECONCILE_MS = 15 * 60_000;
const DEFAULT_RECONCILE_MINUTES = 120;

/** The part of a file event that says which file and folder it is about. */
function eventIds(value: unknown): { id: number | null; parent: number | null } {
  const v = value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  return { id: typeof v.id === "number" ? v.id : null, parent: typeof v.parent_id === "number" ? v.parent_id : null };
}

export = function (RED: NodeAPI): void {
  const runners = new WeakMap<object, { runner: SyncRunner<SyncResult>; markAll: () => void }>();
  const payloadOf = (r: SyncResult) => ({
    copied: r.copied,
    renamed: r.renamed,
    skipped: r.skipped,
    deleted: r.deleted,
    kept: r.kept,
    failed: r.failed.map((f) => ({ path: f.path, error: localizeError(RED, f.error).message })),
    keptCopies: r.keptCopies,
    removalsHeld: r.removalsHeld ? localizeError(RED, r.removalsHeld).message : null,
    stateSetAside: r.stateSetAside ? localizeError(RED, r.stateSetAside).message : null,
    dryRun: r.dryRun,
    folderId: r.folderId,
    target: r.target,
    seconds: r.seconds,
  });

  definePutioNode<SyncDef, SyncConfig>(RED, {
    type: "putio-sync",
    accountStatus: false,
    doneStatus: null,
    config(def, _RED, node) {
      const envOf = (value: string | undefined, type: string | undefined) =>
        type === "env" ? String(RED.util.evaluateNodeProperty(String(value ?? ""), "env", node, {} as never) ?? "") : String(value ?? "");
      const target = envOf(def.target, def.targetType).trim();
      if (!target) throw new PutioInputError(t("putio-sync.op.configure"), t("putio-sync.errors.no-target"));
      if (!path.isAbsolute(target)) throw new PutioInputError(t("putio-sync.op.configure"), t("putio-sync.errors.relative-target", { path: target }));
      const folderText = envOf(def.folder, def.folderType).trim();
      const folder: string | number = folderText === "" ? 0 : /^\d+$/.test(folderText) ? Number(folderText) : folderText;
      if (typeof folder === "string" && !folder.startsWith("/"))
        throw new PutioInputError(t("putio-sync.op.configure"), t("putio-sync.errors.bad-folder", { value: folder }));
      const minutes = num(def.reconcileMinutes) ?? DEFAULT_RECONCILE_MINUTES;
      return {
        folder,
        target,
        live: def.live === true,
        reconcileMs: Math.max(1, minutes) * 60_000,
        propagateDeletes: def.propagateDeletes === true,
        removeExtras: def.removeExtras === true,
        dryRun: def.dryRun === true,
        debounceMs: typeof def.debounceMs === "number" && def.debounceMs >= 0 ? def.debounceMs : DEBOUNCE_MS,
      };
    },

    start(ctx) {
      const { node, config, account, closing, ready, text } = ctx;
      if (!account) return;
      let seen: SyncResult["seen"] | null = null;
      // The last run's listings, and the folders socket events touched since: an event-driven run
      // lists only those again; a msg, the timer, a reconnect or a failed run mean all of them.
      let cache: RemoteCache | null = null;
      let dirty: Set<number> | "all" = "all";
      const markAll = () => {
        dirty = "all";
      };
      const work = async (dryRun: boolean): Promise<SyncResult> => {
        const taken = dryRun ? "all" : dirty;
        if (!dryRun) dirty = new Set();
        const client = await ready().catch((err: unknown) => {
          if (!dryRun) markAll();
          throw err;
        });
        const scheduler = downloadsOf(RED, account);
        if (!dryRun) node.status(STATUS.busy(text("putio-sync.status.checking")));
        try {
          const result = await runSync(client, scheduler, {
            folder: config.folder,
            target: config.target,
            propagateDeletes: config.propagateDeletes,
            removeExtras: config.removeExtras,
            dryRun,
            cache: dryRun ? null : cache,
            dirty: taken,
            signal: closing,
            onProgress: (done, total) => node.status(STATUS.busy(text("putio-sync.status.syncing", { done, total }))),
          });
          if (!dryRun) {
            seen = result.seen;
            cache = result.cache;
          }
          node.status(
            dryRun
              ? STATUS.idle(text("putio-sync.status.planned", { count: result.copied.length + result.renamed.length + result.deleted.length }))
              : result.failed.length
                ? STATUS.warn(text("putio-sync.status.failed", { count: result.failed.length }))
                : result.removalsHeld
                  ? STATUS.warn(text("putio-sync.status.held"))
                  : STATUS.ok(text("putio-sync.status.in-sync")),
          );
          return result;
        } catch (err) {
          if (!dryRun) markAll();
          const e = localizeError(RED, toError(err, account.tokenForRedaction()));
          if (!closing.aborted) node.status(STATUS.error(shortText(statusTextOf(RED, e))));
          throw e;
        }
      };
      const runner = new SyncRunner(work);
      runners.set(node, { runner, markAll });

      /** A run nobody sent a msg for (socket, timer, start): its result goes out as a new msg. */
      const background = (full: boolean) => {
        if (closing.aborted) return;
        if (full) markAll();
        const { result, first } = runner.trigger(config.dryRun);
        result.then(
          (r) => {
            if (first && !closing.aborted) node.send({ _msgid: RED.util.generateId(), topic: "putio/sync", payload: payloadOf(r) } as never);
          },
          (err: Error) => {
            if (first && !closing.aborted) node.error(err, { _msgid: RED.util.generateId(), topic: "putio/sync" });
          },
        );
      };

      let debounce: NodeJS.Timeout | null = null;
      let burstStart = 0;
      let reconcile: NodeJS.Timeout | null = null;
      const socket = config.live ? account.socket() : null;
      const concerns = (e: SocketEvent) => {
        if (!e.type.startsWith("file_")) return false;
        if (!seen) return true;
        const { id, parent } = eventIds(e.value);
        // Without parent_id the item could be anywhere, also in the synced folder.
        return parent === null || (id !== null && (seen.files.has(id) || seen.folders.has(id))) || seen.folders.has(parent);
      };
      const onEvent = (e: SocketEvent) => {
        if (!concerns(e)) return;
        // The folders to list again: the item's folder now (parent_id) and before (the last listing).
        const { id, parent } = eventIds(e.value);
        const before = id !== null ? cache?.parentOf.get(id) : undefined;
        if (dirty !== "all") {
          // Without the folder it is in now, a move or a new item could be anywhere: list everything.
          if (parent === null && (before === undefined || e.type === "file_move")) markAll();
          else for (const f of [parent, before, id]) if (f !== null && f !== undefined) dirty.add(f);
        }
        // Quiet time after the last event, but a steady stream still gets a run every few quiet times.
        if (debounce && Date.now() - burstStart >= BURST_LIMIT * config.debounceMs) return;
        if (debounce) clearTimeout(debounce);
        else burstStart = Date.now();
        debounce = setTimeout(() => {
          debounce = null;
          background(false);
        }, config.debounceMs);
      };
      const onOpen = ({ reconnect }: { reconnect: boolean }) => reconnect && background(true);
      let reconcileAt = 0;
      const schedule = (ms = socket && socket.state === "connected" ? config.reconcileMs : Math.min(config.reconcileMs, SOCKET_DOWN_RECONCILE_MS)) => {
        if (reconcile) clearTimeout(reconcile);
        reconcileAt = Date.now() + ms;
        reconcile = setTimeout(() => {
          background(true);
          schedule();
        }, ms);
      };
      // The socket went down: events are missed from now on, so the next reconcile comes sooner.
      const onState = (state: string) => {
        if (state !== "connected" && reconcileAt - Date.now() > SOCKET_DOWN_RECONCILE_MS) schedule(SOCKET_DOWN_RECONCILE_MS);
      };
      if (socket) {
        socket.on("event", onEvent);
        socket.on("open", onOpen);
        socket.on("state", onState);
        schedule();
        background(true); // the first reconcile: what changed while Node-RED was not running
      } else {
        // A run a restart cut off is finished at start.
        void (async () => {
          try {
            const client = await ready();
            const folderId = await client.folderId(config.folder, { signal: closing });
            if (folderId !== null && (await interrupted(config.target))) background(true);
          } catch {
            /* not ready or gone: the next trigger reports it */
          }
        })();
      }
      return {
        close() {
          socket?.off("event", onEvent);
          socket?.off("open", onOpen);
          socket?.off("state", onState);
          if (debounce) clearTimeout(debounce);
          if (reconcile) clearTimeout(reconcile);
          runners.delete(node);
          // A run started by the socket or the timer was aborted with the node: wait until it has saved its state.
          return runner.idle();
        },
      };
    },

    async input({ node, config, msg, send }) {
      const started = runners.get(node);
      if (!started) throw new PutioInputError(t("putio-sync.op.run"), t("putio-sync.errors.not-started"));
      const dryRun = typeof msg.dryRun === "boolean" ? msg.dryRun : config.dryRun;
      if (!dryRun) started.markAll(); // a msg asks for a full reconcile
      const { result, first } = started.runner.trigger(dryRun);
      const r = await result;
      if (!first) return; // a run another trigger started reports once
      (msg as Msg).payload = payloadOf(r);
      msg.topic = typeof msg.topic === "string" && msg.topic ? msg.topic : "putio/sync";
      send(msg);
    },
  });
};
