/**
 * putio-events: reads or clears the account history (transfer_completed, transfer_error, zip_created,
 * upload, rss_…), or watches it and sends each new event once. The last event sent is kept in the
 * node's context (async form), so with a persistent context store nothing is sent twice after a restart.
 */
import { describeValue } from "../lib/core/describe";
import { t } from "../lib/core/texts";
import { withTimeLimit } from "../lib/core/sleep";
import { PutioBaseError, PutioInputError } from "../lib/core/errors";
import type { PutioClient } from "../lib/client";
import { TROUBLE_EVENT_TYPES, type PutioEvent } from "../lib/domains/events";
import { checkId, parsePutioDate } from "../lib/core/wire";
import { isTransferFinished } from "../lib/core/quirks";
import type { SocketEvent } from "../lib/core/socket";
import { csv, num } from "./common/config";
import { definePutioNode } from "./common/kernel";
import { localizeError, statusTextOf, toError } from "./common/errors";
import { STATUS, shortText, type Msg, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface EventsDef extends NodeDef {
  account: string;
  action?: "list" | "clear" | "watch";
  /** Comma-separated types; `transfer_*` matches a prefix. Empty: all. */
  types?: string;
  /** list: only events of the last N hours (msg.since wins). */
  sinceHours?: string | number;
  /** list: at most this many events. */
  max?: string | number;
  /** watch: check every N seconds (0: only on socket pushes and inputs). */
  pollSeconds?: string | number;
  /** watch: let put.io's socket pushes trigger a check. */
  useSocket?: boolean;
  /** watch: on the very first start, send the events already in the history too. */
  emitExisting?: boolean;
  /** Trouble events (failed transfers and callbacks, paused RSS filters, RSS files deleted for space) to output 2. */
  troubleOutput?: boolean;
  /** watch: context store for the last event id (empty: the default store). */
  store?: string;
}

/** A context store that does not answer within this long is reported as an error. */
const CONTEXT_TIMEOUT_MS = 30_000;
const CONTEXT_KEY = "putio-events-last-id";
/** Pushes after which the history likely has something new (a finished transfer: core/quirks.ts). */
function mayHaveNewEvent(e: SocketEvent): boolean {
  if (e.type === "zip_created" || e.type === "file_create") return true;
  return e.type === "transfer_update" && isTransferFinished(String((e.value as { status?: unknown } | null)?.status));
}

function typeFilter(spec: string | undefined): (type: string) => boolean {
  const terms = csv(spec);
  if (!terms) return () => true;
  return (type) => terms.some((t) => (t.endsWith("*") ? type.startsWith(t.slice(0, -1)) : type === t));
}

/** msg.since as a Date, epoch ms or date text; else the node's hours; null = no limit. */
function sinceOf(msg: Msg, sinceHours: number | undefined, now: number): number | null {
  const v = msg.since;
  if (v !== undefined && v !== null && v !== "") {
    const at = v instanceof Date ? v.getTime() : typeof v === "number" ? v : typeof v === "string" ? (parsePutioDate(v)?.getTime() ?? NaN) : NaN;
    if (!Number.isFinite(at)) throw new PutioInputError(t("putio-events.op.list"), t("putio-events.errors.bad-since", { value: describeValue(v, 60) }));
    return at;
  }
  return sinceHours ? now - sinceHours * 3600_000 : null;
}

interface EventsConfig {
  action: "list" | "clear" | "watch";
  /** Trouble events (TROUBLE_EVENT_TYPES) go to output 2 instead of output 1. */
  troubleOutput: boolean;
  wanted: (type: string) => boolean;
  sinceHours: number | undefined;
  max: number;
  pollMs: number;
  useSocket: boolean;
  emitExisting: boolean;
  store: string | undefined;
}

export = function (RED: NodeAPI): void {
  /** Per watching node: run a check now (or once more right after the running one). */
  const checks = new WeakMap<Node, () => Promise<void>>();

  definePutioNode<EventsDef, EventsConfig>(RED, {
    type: "putio-events",
    config: (def) => ({
      action: def.action ?? "list",
      troubleOutput: def.troubleOutput === true && def.action !== "clear",
      wanted: typeFilter(def.types),
      sinceHours: num(def.sinceHours),
      max: Math.max(1, Math.floor(num(def.max) || 1000)),
      // A field left empty: no polling (only socket pushes and inputs).
      pollMs: (num(def.pollSeconds ?? 60) ?? 0) * 1000,
      useSocket: def.useSocket !== false,
      emitExisting: !!def.emitExisting,
      store: def.store?.trim() || undefined,
    }),
    doneStatus: null,

    // ---------- watch: last id in context, checks serialised ----------
    start({ node, config, account, closing, ready, text }) {
      if (config.action !== "watch" || !account) return;
      const { wanted, store } = config;
      const ctx = node.context() as unknown as {
        get(key: string, ...args: unknown[]): void;
        set(key: string, value: unknown, ...args: unknown[]): void;
      };
      // A context store that never calls back must not stop the watch for good: bounded, then an error.
      const storeTimeout = (op: "putio-events.op.read-last" | "putio-events.op.save-last") => () =>
        new PutioBaseError(
          t(op),
          t(store ? "putio-events.errors.store-timeout-named" : "putio-events.errors.store-timeout", {
            store: store ?? "",
            seconds: CONTEXT_TIMEOUT_MS / 1000,
          }),
        );
      const readLastId = () =>
        withTimeLimit(
          new Promise<number | null>((resolve, reject) => {
            const cb = (err: Error | null, v: unknown) => (err ? reject(err) : resolve(typeof v === "number" ? v : null));
            if (store) ctx.get(CONTEXT_KEY, store, cb);
            else ctx.get(CONTEXT_KEY, cb);
          }),
          CONTEXT_TIMEOUT_MS,
          storeTimeout("putio-events.op.read-last"),
        );
      const writeLastId = (id: number) =>
        withTimeLimit(
          new Promise<void>((resolve, reject) => {
            const cb = (err: Error | null) => (err ? reject(err) : resolve());
            if (store) ctx.set(CONTEXT_KEY, id, store, cb);
            else ctx.set(CONTEXT_KEY, id, cb);
          }),
          CONTEXT_TIMEOUT_MS,
          storeTimeout("putio-events.op.save-last"),
        );

      let running: Promise<void> | null = null;
      let again = false;
      let timer: NodeJS.Timeout | null = null;

      async function checkOnce(client: PutioClient): Promise<void> {
        let lastId = await readLastId();
        if (lastId === null && !config.emitExisting) {
          // First start: what is in the history now counts as seen.
          const newest = (await client.events.page({ perPage: 1, signal: closing })).events[0];
          await writeLastId(newest?.id ?? 0);
          return;
        }
        lastId ??= 0;
        const fresh: PutioEvent[] = [];
        for await (const e of client.events.list({ perPage: 100, signal: closing, until: (ev) => ev.id <= lastId! })) fresh.push(e);
        const newest = fresh[0];
        if (!newest) return;
        // Saved before sending: a crash in between loses an event rather than sending it twice.
        await writeLastId(newest.id);
        for (const e of fresh.reverse()) {
          if (!wanted(e.type)) continue;
          const out = { _msgid: RED.util.generateId(), topic: `putio/event/${e.type}`, payload: e };
          node.send((config.troubleOutput ? (TROUBLE_EVENT_TYPES.has(e.type) ? [null, out] : [out, null]) : out) as never);
        }
        node.status(STATUS.ok(shortText(text("putio-events.status.new", { count: fresh.length, type: fresh[fresh.length - 1]?.type ?? "" }))));
      }

      function check(): Promise<void> {
        if (running) {
          again = true;
          return running;
        }
        running = (async () => {
          try {
            const client = await ready();
            do {
              again = false;
              await checkOnce(client);
            } while (again && !closing.aborted);
          } finally {
            running = null;
          }
        })();
        return running;
      }
      checks.set(node, check);

      function backgroundCheck(): void {
        if (closing.aborted) return;
        check().catch((err: Error) => {
          if (closing.aborted) return;
          const e = localizeError(RED, toError(err, account?.tokenForRedaction()));
          node.status(STATUS.error(shortText(statusTextOf(RED, e))));
          // Node-RED hands an error to Catch nodes only together with a msg.
          node.error(e, { _msgid: RED.util.generateId(), topic: "putio/events/check" });
        });
      }

      const socketListener = (e: SocketEvent) => mayHaveNewEvent(e) && backgroundCheck();
      const openListener = ({ reconnect }: { reconnect: boolean }) => reconnect && backgroundCheck();
      const socket = config.useSocket ? account.socket() : null;
      socket?.on("event", socketListener);
      socket?.on("open", openListener);
      if (config.pollMs > 0) {
        const tick = () => {
          if (closing.aborted) return;
          backgroundCheck();
          timer = setTimeout(tick, Math.max(5000, config.pollMs));
        };
        timer = setTimeout(tick, 0);
      } else backgroundCheck();

      return {
        close() {
          socket?.off("event", socketListener);
          socket?.off("open", openListener);
          if (timer) clearTimeout(timer);
          checks.delete(node);
          // The check in progress ends (its calls were aborted) before the node counts as closed.
          return running?.catch(() => {});
        },
      };
    },

    async input({ node, config, msg, send, status, client, signal, text }) {
      const { action, wanted, max } = config;
      if (action === "watch") {
        const check = checks.get(node);
        if (!check) throw new PutioInputError(t("putio-events.op.check"), t("putio-events.errors.not-started"));
        await check();
        return;
      }
      if (action === "clear") {
        status(STATUS.busy(text("putio-events.status.clearing")));
        if (msg.eventId !== undefined && msg.eventId !== null && msg.eventId !== "") {
          const id = checkId(msg.eventId, "delete a history event", "event id");
          await client.events.delete(id, signal);
          msg.payload = { deleted: id };
        } else {
          await client.events.clear(signal);
          msg.payload = { cleared: true };
        }
        msg.topic = msg.topic ?? "putio/events/cleared";
        send(msg);
        return;
      }
      status(STATUS.busy(text("putio-events.status.reading")));
      const since = sinceOf(msg, config.sinceHours, Date.now());
      const out: PutioEvent[] = [];
      const olderThanSince = (e: PutioEvent) => since !== null && (parsePutioDate(e.created_at)?.getTime() ?? 0) < since;
      for await (const e of client.events.list({ perPage: Math.min(max, 1000), signal, until: olderThanSince })) {
        if (wanted(e.type)) out.push(e);
        if (out.length >= max) break;
      }
      msg.topic = msg.topic ?? "putio/events";
      status(STATUS.ok(text("putio-events.status.events", { count: out.length })));
      if (!config.troubleOutput) {
        msg.payload = out;
        send(msg);
        return;
      }
      // The trouble events in a msg of their own on output 2 (only when there are some); the rest on output 1.
      const trouble = out.filter((e) => TROUBLE_EVENT_TYPES.has(e.type));
      msg.payload = out.filter((e) => !TROUBLE_EVENT_TYPES.has(e.type));
      const troubleMsg = trouble.length ? { ...RED.util.cloneMessage(msg), payload: trouble } : null;
      if (troubleMsg) delete (troubleMsg as { _msgid?: string })._msgid;
      send([msg, troubleMsg]);
    },
  });
};
