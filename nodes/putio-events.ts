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
/**
 * With the socket connected, put.io pushes the changes behind most history events (a transfer
 * finished or failed, a file added or removed, a zip made) and each is followed by a check (and one
 * more an interval later, for a callback's failure); this slow poll finds the events it pushes
 * nothing for (RSS). Hourly: a full idle flow stays within 15 requests an hour (the watch's 12
 * reconciles, this one, a live sync's). Without the socket: the node's own interval.
 */
const SOCKET_POLL_MS = 60 * 60_000;
/** A push's check waits this long for more pushes (a burst of them: one check)… */
const PUSH_DEBOUNCE_MS = 2_000;
/** …but no longer than this after the first push of the burst. */
const PUSH_MAX_WAIT_MS = 10_000;
/** Transfers whose finish was already announced (a seeding transfer is pushed again and again). */
const ANNOUNCED_MAX = 1000;

/**
 * Pushes after which the history likely has something new: a transfer's first push as finished
 * (core/quirks.ts), a file added or removed, a zip made. `announced` remembers the transfers already
 * taken as finished (bounded).
 */
function mayHaveNewEvent(e: SocketEvent, announced: Set<number>): boolean {
  if (e.type === "zip_created" || e.type === "file_create" || e.type === "file_delete") return true;
  if (e.type === "transfer_delete") {
    // Removed from put.io (its id never comes back): nothing to remember of it any more.
    const id = (e.value as { id?: unknown } | null)?.id;
    if (typeof id === "number") announced.delete(id);
    return false;
  }
  if (e.type !== "transfer_update" && e.type !== "transfer_create") return false;
  const t = e.value as { id?: unknown; status?: unknown } | null;
  const id = typeof t?.id === "number" ? t.id : null;
  if (!isTransferFinished(String(t?.status))) {
    if (id !== null) announced.delete(id); // retried: its next finish is news again
    return false;
  }
  if (id === null) return true;
  if (announced.has(id)) return false;
  announced.add(id);
  if (announced.size > ANNOUNCED_MAX) announced.delete(announced.values().next().value as number);
  return true;
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
      let pushTimer: NodeJS.Timeout | null = null;
      /** When the first push of the burst waiting for its check came (0: none waits). */
      let burstSince = 0;
      /** When the last check started, and until when the node's own interval applies after a push. */
      let lastCheckAt = 0;
      let followUpUntil = 0;
      const announced = new Set<number>();

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
        lastCheckAt = Date.now();
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

      const socket = config.useSocket ? account.socket() : null;
      const ownMs = Math.max(5000, config.pollMs);
      /** The poll's next time: the node's interval without the socket (and for a while after a push), else slowly. */
      function schedulePoll(): void {
        if (config.pollMs <= 0 || closing.aborted) return;
        if (timer) clearTimeout(timer);
        const now = Date.now();
        const interval = socket?.state === "connected" && now >= followUpUntil ? Math.max(ownMs, SOCKET_POLL_MS) : ownMs;
        const at = Math.min(lastCheckAt + interval, followUpUntil > now ? followUpUntil : Infinity);
        timer = setTimeout(
          () => {
            timer = null;
            if (Date.now() >= followUpUntil) followUpUntil = 0;
            backgroundCheck();
            schedulePoll();
          },
          Math.max(0, at - now),
        );
      }
      const socketListener = (e: SocketEvent) => {
        if (!mayHaveNewEvent(e, announced) || closing.aborted) return;
        // One check after the burst, and a poll at the node's interval after it: put.io may
        // write an event a little after the push it goes with (a callback's failure).
        const now = Date.now();
        burstSince ||= now;
        if (pushTimer) clearTimeout(pushTimer);
        pushTimer = setTimeout(
          () => {
            pushTimer = null;
            burstSince = 0;
            followUpUntil = Date.now() + ownMs;
            backgroundCheck();
            schedulePoll();
          },
          Math.max(0, Math.min(PUSH_DEBOUNCE_MS, burstSince + PUSH_MAX_WAIT_MS - now)),
        );
      };
      const openListener = ({ reconnect }: { reconnect: boolean }) => reconnect && backgroundCheck();
      // Connected or not decides the poll's pace.
      const stateListener = () => schedulePoll();
      socket?.on("event", socketListener);
      socket?.on("open", openListener);
      socket?.on("state", stateListener);
      backgroundCheck();
      schedulePoll();

      return {
        close() {
          socket?.off("event", socketListener);
          socket?.off("open", openListener);
          socket?.off("state", stateListener);
          if (timer) clearTimeout(timer);
          if (pushTimer) clearTimeout(pushTimer);
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
