/**
 * putio-transfer-watch: one msg per transfer status change, the moment put.io reports it (its
 * socket, shared by the account) with a reconcile safety net, or by polling; optionally a callback
 * URL put.io can POST to. Exactly once: the (transfer id, status) pairs already sent live in node
 * context, so a persistent context store carries them across restarts.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { statusClass, type Transfer } from "../lib/domains/transfers";
import { MIN_INTERVAL_MS, type TransferChange, type WatchState } from "../lib/watch/watcher";
import { PutioBaseError } from "../lib/core/errors";
import { BodyTooLarge, readRequestBody, type BodyRequest } from "../lib/server/body";
import { t } from "../lib/core/texts";
import { backoffDelay, abortableSleep, withTimeLimit } from "../lib/core/sleep";
import { csv, num } from "./common/config";
import { localizeError, statusTextOf, toError } from "./common/errors";
import { textOf } from "./common/i18n";
import { serveRoute, type ServedRoute } from "./common/http-route";
import { definePutioNode } from "./common/kernel";
import { releaseTransferWatcher, transferWatcherOf } from "./common/services";
import { STATUS, shortText, type Node, type NodeAPI, type NodeDef } from "./common/node-api";

interface WatchDef extends NodeDef {
  account: string;
  mode?: "socket" | "poll";
  intervalSeconds?: string | number;
  statuses?: string;
  folder?: string;
  namePattern?: string;
  emitMissed?: boolean;
  callback?: boolean;
  callbackPath?: string;
}

interface WatchCredentials {
  callbackSecret?: string;
}

interface SeenRecord {
  keys: string[];
}

const CONTEXT_KEY = "putioTransferWatchSeen";
/** A context store that does not answer within this long is reported as an error. */
const CONTEXT_TIMEOUT_MS = 30_000;
/** Enough to cover every transfer an account keeps listed; the oldest keys go first. */
const MAX_SEEN = 20_000;
/**
 * A transfer's keys are forgotten once this many whole listings in a row did not hold it (removed
 * from put.io, its ids are never reused): what the node remembers follows what put.io lists, not
 * the jobs done. Two, so one short listing never makes a finished transfer news again.
 */
const GONE_LISTINGS = 2;
const MAX_CALLBACK_BODY = 64 * 1024;

/** A refusal of the callback request: its status and short text. */
class CallbackRefusal extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(text);
  }
}

/**
 * The callback body, read by us and not by a shared parser (the route's guard keeps Node-RED's
 * parsers off it): the secret is checked before this runs, and a body over 64 KiB is refused (413)
 * as soon as it is known to be too big, without reading the rest. A body some other parser read
 * first is refused by its declared size too, else taken as it is (and checked as strictly).
 */
function readCallbackBody(req: BodyRequest): Promise<unknown> {
  return readRequestBody(req, MAX_CALLBACK_BODY).then(
    (body) => (body.kind === "bytes" ? parseCallbackBody(body.bytes.toString("utf8"), String(req.headers["content-type"] ?? "")) : body.value),
    (err: unknown) => {
      throw err instanceof BodyTooLarge ? new CallbackRefusal(413, "payload too large") : err;
    },
  );
}

/** JSON when it says so (or looks like it), else form fields. Form fields stay flat strings: no nesting. */
function parseCallbackBody(text: string, contentType: string): unknown {
  const type = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  if (type === "multipart/form-data") return {}; // not parsed: no id, so the list is read
  if (type.endsWith("json") || (type !== "application/x-www-form-urlencoded" && /^\s*[[{]/.test(text))) {
    if (!text.trim()) return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CallbackRefusal(400, "bad request: invalid JSON");
    }
  }
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, v] of new URLSearchParams(text)) {
    // A repeated key would be an array in other parsers: as odd as one.
    out[k] = Object.prototype.hasOwnProperty.call(out, k) ? [out[k], v] : v;
  }
  return out;
}

const ID_KEYS = ["id", "transfer_id"];
const PROTO_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * The transfer id a callback names, or null when it names none (then the list is read). An id
 * must be a positive safe integer, as a number or a string of digits; anything else (objects,
 * arrays, `id[...]` form keys, prototype keys) is refused, never coerced.
 */
function callbackTransferId(body: unknown): number | null {
  if (body === undefined || body === null || body === "") return null;
  if (typeof body !== "object" || Array.isArray(body) || Buffer.isBuffer(body)) throw new CallbackRefusal(400, "bad request: not an object");
  for (const k of Object.keys(body)) {
    const base = k.replace(/\[[\s\S]*$/, "");
    if (PROTO_KEYS.has(base) || /\[\s*(__proto__|constructor|prototype)\s*\]/.test(k) || (k !== base && ID_KEYS.includes(base))) {
      throw new CallbackRefusal(400, "bad request: odd key");
    }
  }
  if (Object.getPrototypeOf(body) !== Object.prototype && Object.getPrototypeOf(body) !== null)
    throw new CallbackRefusal(400, "bad request: not a plain object");
  for (const key of ID_KEYS) {
    const desc = Object.getOwnPropertyDescriptor(body, key);
    if (!desc) continue;
    if (!("value" in desc)) throw new CallbackRefusal(400, "bad request: odd id");
    const v: unknown = desc.value;
    let id = NaN;
    if (typeof v === "number") id = v;
    else if (typeof v === "string" && /^[0-9]{1,16}$/.test(v)) id = Number(v);
    if (!Number.isSafeInteger(id) || id <= 0) throw new CallbackRefusal(400, `bad request: ${key} must be a positive integer`);
    return id;
  }
  return null;
}

/** Equal-length digests, so neither the time nor an early return tells how much of a guess matched. */
function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a, "utf8").digest();
  const y = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(x, y);
}

interface WatchConfig {
  mode: "socket" | "poll";
  intervalMs: number;
  statuses: Set<string>;
  namePattern: RegExp | null;
  folderSetting: string;
  emitMissed: boolean;
  /** The callback route, or null without one. */
  route: string | null;
}

export = function (RED: NodeAPI): void {
  definePutioNode<WatchDef, WatchConfig>(RED, {
    type: "putio-transfer-watch",
    config(def, _RED, node) {
      const mode = def.mode === "poll" ? "poll" : "socket";
      let namePattern: RegExp | null = null;
      try {
        namePattern = def.namePattern ? new RegExp(def.namePattern, "i") : null;
      } catch (err) {
        // Not fatal: the node watches without the name filter.
        node.error(textOf(RED, "putio-transfer-watch.errors.bad-pattern", { message: (err as Error).message }));
      }
      return {
        mode,
        intervalMs: Math.max(MIN_INTERVAL_MS, (num(def.intervalSeconds) || (mode === "poll" ? 60 : 300)) * 1000),
        // An emptied field matches no status.
        statuses: new Set((csv(def.statuses ?? "COMPLETED,ERROR") ?? []).map((s) => statusClass(s.toUpperCase()))),
        namePattern,
        folderSetting: String(def.folder ?? "").trim(),
        emitMissed: def.emitMissed !== false,
        route: def.callback ? `/${String(def.callbackPath || "putio-callback").replace(/^\/+|\/+$/g, "")}/:secret` : null,
      };
    },
    registerOptions: { credentials: { callbackSecret: { type: "password" } } },
    // The node shows the watch's state (socket, polling), which includes the account's.
    accountStatus: false,

    start({ node, config, account, closing, ready, text }) {
      if (!account) return;
      const { mode, intervalMs, statuses, namePattern, folderSetting, emitMissed, route } = config;
      let folderId: number | null = null;
      /** The folder to watch does not exist yet (put.io makes it with the first transfer into it): nothing matches until it does. */
      let folderPending = false;

      const seen: string[] = [];
      const seenSet = new Set<string>();
      /** Until the baseline is in: changes are not handled yet (a reconcile follows the baseline). */
      let priming = true;
      /** The kernel aborts `closing` the moment the node closes, before the disposer below runs. */
      const closed = () => closing.aborted;
      let sent = 0;

      const context = node.context();
      // A context store that never calls back must not stall the queue (and the account's reconciles) for good.
      const storeTimeout = (op: "putio-transfer-watch.op.read-seen" | "putio-transfer-watch.op.save-seen") => () =>
        new PutioBaseError(t(op), t("putio-transfer-watch.errors.store-timeout", { seconds: CONTEXT_TIMEOUT_MS / 1000 }));
      const loadSeen = () =>
        withTimeLimit(
          new Promise<SeenRecord | undefined>((resolve, reject) =>
            context.get(CONTEXT_KEY, (err: Error | undefined, value: unknown) => (err ? reject(err) : resolve(value as SeenRecord | undefined))),
          ),
          CONTEXT_TIMEOUT_MS,
          storeTimeout("putio-transfer-watch.op.read-seen"),
        );
      const saveSeen = () =>
        withTimeLimit(
          new Promise<void>((resolve, reject) =>
            context.set(CONTEXT_KEY, { keys: seen } satisfies SeenRecord, (err?: Error) => (err ? reject(err) : resolve())),
          ),
          CONTEXT_TIMEOUT_MS,
          storeTimeout("putio-transfer-watch.op.save-seen"),
        );
      const remember = (key: string) => {
        if (seenSet.has(key)) return;
        seen.push(key);
        seenSet.add(key);
        while (seen.length > MAX_SEEN) seenSet.delete(seen.shift() as string);
      };
      /** Whole listings in a row that did not hold a transfer the node has keys of. */
      const misses = new Map<number, number>();
      const idOfKey = (key: string) => Number(key.slice(0, key.indexOf(":")));
      async function forgetGone(listed: ReadonlySet<number>): Promise<void> {
        if (closed()) return;
        const gone = new Set<number>();
        for (const key of seen) {
          const id = idOfKey(key);
          if (listed.has(id)) misses.delete(id);
          else if (!gone.has(id)) gone.add(id);
        }
        const forget = new Set<number>();
        for (const id of gone) {
          const n = (misses.get(id) ?? 0) + 1;
          if (n >= GONE_LISTINGS) forget.add(id);
          misses.set(id, n);
        }
        for (const id of misses.keys()) if (!gone.has(id) || forget.has(id)) misses.delete(id);
        if (!forget.size) return;
        let kept = 0;
        for (const key of seen) {
          if (forget.has(idOfKey(key))) seenSet.delete(key);
          else seen[kept++] = key;
        }
        seen.length = kept;
        await saveSeen();
      }

      function matches(t: Transfer): boolean {
        if (!statuses.has(statusClass(t.status))) return false;
        if (folderPending) return false;
        if (folderId !== null && t.save_parent_id !== folderId) return false;
        if (namePattern && !namePattern.test(t.name ?? "")) return false;
        return true;
      }

      // Changes are handled one at a time, so two sources reporting one change cannot both emit it.
      let queue: Promise<void> = Promise.resolve();
      const onChange = (change: TransferChange) => {
        queue = queue.then(() => handle(change)).catch((err: unknown) => node.error(localizeError(RED, toError(err, account.tokenForRedaction()))));
        return queue;
      };

      async function handle({ transfer: t, path, file }: TransferChange): Promise<void> {
        if (closed()) return;
        if (folderPending && statuses.has(statusClass(t.status))) await findFolder(await ready());
        if (closed() || !matches(t)) return;
        const key = `${t.id}:${statusClass(t.status)}`;
        if (seenSet.has(key)) return;
        // Recorded before it is sent: a msg is never repeated, and if the store refuses the record the
        // change is left for the next reconcile instead of being sent unrecorded.
        remember(key);
        try {
          await saveSeen();
        } catch (err) {
          seen.splice(seen.lastIndexOf(key), 1);
          seenSet.delete(key);
          throw err;
        }
        const putioPath = await path();
        // The file object read for the path goes along: a download node takes it instead of reading it again.
        const made = await file();
        if (closed()) return;
        sent++;
        node.send({ topic: `transfer/${t.status}`, payload: t, fileId: t.file_id ?? null, putioPath, file: made });
        node.status(STATUS.ok(shortText(text("putio-transfer-watch.status.sent", { status: t.status.toLowerCase(), name: String(t.name ?? t.id) }))));
        setTimeout(() => !closed() && showState(watcher.state), 3000).unref?.();
      }

      const watcher = transferWatcherOf(account, mode, intervalMs);

      function showState(s: WatchState): void {
        if (closed()) return;
        const count = sent ? text("putio-transfer-watch.status.count", { count: sent }) : "";
        if (folderPending && (s === "connected" || s === "polling"))
          node.status(STATUS.warn(shortText(text("putio-transfer-watch.status.waiting", { folder: folderSetting }))));
        else if (s === "connected") node.status(STATUS.ok(text("common.status.connected") + count));
        else if (s === "polling")
          node.status({ fill: "green", shape: "ring", text: text("putio-transfer-watch.status.polling", { seconds: intervalMs / 1000 }) + count });
        else if (s === "reconnecting") node.status(STATUS.warn(text("putio-transfer-watch.status.reconnecting")));
        else if (s === "stalled") node.status(STATUS.error(text("putio-transfer-watch.status.stalled")));
        else if (s === "unauthorized") node.status(STATUS.error(text("common.status.unauthorized")));
        else if (s === "starting") node.status(STATUS.idle(text("putio-transfer-watch.status.starting")));
      }
      const offState = watcher.onState(showState);
      const offError = watcher.onError((err) => {
        const said = text("putio-transfer-watch.errors.watch", { message: localizeError(RED, toError(err, account.tokenForRedaction())).message });
        // A stalled socket is an error a Catch node can act on (it carries a msg); the rest are warnings.
        if (err.name === "PutioSocketStalled") node.error(said, { topic: "transfer-watch/stalled", payload: said });
        else node.warn(said);
      });
      showState(watcher.state);
      // Subscribed at once, so the shared watcher knows this node uses it even while it is starting;
      // changes are ignored until the baseline is in, then one reconcile catches up on them.
      const unsubscribe = watcher.subscribe(
        (change) => (priming ? undefined : onChange(change)),
        (status) => statuses.has(statusClass(status)),
      );
      // In the changes' queue: a key is never forgotten while a change of its transfer is handled.
      const offListed = watcher.observe((s) => {
        if (s.kind !== "listed" || priming) return;
        queue = queue.then(() => forgetGone(s.ids)).catch((err: unknown) => node.error(localizeError(RED, toError(err, account.tokenForRedaction()))));
      });

      /**
       * Resolve the folder filter. A folder that does not exist yet is no error: put.io creates it
       * with the first transfer saved into it, so the node waits (yellow) and looks again when a
       * transfer of a watched status arrives.
       */
      async function findFolder(client: Awaited<ReturnType<typeof ready>>): Promise<void> {
        const id = await client.folderId(folderSetting, { create: false, signal: closing });
        const wasPending = folderPending;
        folderId = id;
        folderPending = id === null;
        if (wasPending !== folderPending && !priming) showState(watcher.state);
      }

      /** Load what was already sent, resolve the folder filter and, when due, read the baseline. */
      async function prime(): Promise<void> {
        const stored = await loadSeen();
        for (const key of stored?.keys ?? []) remember(key);
        const client = await ready();
        if (folderSetting) await findFolder(client);
        // First start ever: what is already finished predates the node, it is not news. Later
        // starts: whatever finished while Node-RED was down is sent once (unless turned off).
        // The baseline is a list read of our own, so nothing that changes after it is swallowed.
        if (!stored || !emitMissed) {
          for await (const t of client.transfers.list({ signal: closing })) {
            if (matches(t)) remember(`${t.id}:${statusClass(t.status)}`);
          }
          await saveSeen();
        }
      }

      // put.io unreachable or the context store failing at start must not leave the node dead until
      // the next deploy: try again with capped backoff.
      (async () => {
        for (let attempt = 0; !closed(); attempt++) {
          try {
            await prime();
            priming = false;
            showState(watcher.state);
            await watcher.reconcile();
            return;
          } catch (err) {
            if (closed()) return;
            const e = localizeError(RED, toError(err, account.tokenForRedaction()));
            node.status(STATUS.error(shortText(statusTextOf(RED, e))));
            node.error(e);
            await abortableSleep(backoffDelay(attempt, 5_000, 5 * 60_000), closing).catch(() => {});
          }
        }
      })();

      // Optional callback endpoint: POST <httpNodeRoot>/<path>/<secret>. Only a hint, like a socket event.
      const secret = (node as Node & { credentials?: WatchCredentials }).credentials?.callbackSecret ?? "";
      let served: ServedRoute | null = null;
      if (route) {
        if (secret.length < 16) node.warn(text("putio-transfer-watch.warn.short-secret"));
        const callback = (req: IncomingMessage & { params?: Record<string, unknown> }, res: ServerResponse) => {
          // One answer per request, whatever happens; nothing a request carries may throw out of here.
          let answered = false;
          const answer = (status: number, text: string, close = false) => {
            if (answered) return;
            answered = true;
            try {
              if (res.headersSent || res.writableEnded) return;
              res.statusCode = status;
              res.setHeader("Content-Type", "text/plain; charset=utf-8");
              // The body was not (fully) read: close the connection instead of swallowing the rest.
              if (close) res.setHeader("Connection", "close");
              res.end(text);
            } catch {
              res.destroy();
            }
          };
          try {
            const given = req.params?.secret;
            if (!secret || typeof given !== "string" || !sameSecret(given, secret)) return answer(403, "forbidden", !req.readableEnded);
            readCallbackBody(req as BodyRequest)
              .then((body) => {
                const id = callbackTransferId(body);
                answer(200, "ok");
                if (id !== null) void watcher.hint(id, "callback");
                else void watcher.reconcile();
              })
              .catch((err: unknown) => {
                if (err instanceof CallbackRefusal) answer(err.status, err.message, !req.readableEnded);
                else answer(500, "error", !req.readableEnded);
              });
          } catch {
            answer(500, "error", !req.readableEnded);
          }
        };
        served = serveRoute(RED, { path: route, methods: ["post"], handler: callback, ownBody: true });
      }

      return {
        close() {
          unsubscribe();
          offListed();
          offState();
          offError();
          releaseTransferWatcher(account, watcher, mode, intervalMs);
          served?.remove();
          node.status({});
          // A change being sent finishes first (its send is skipped: the node is closed).
          return queue;
        },
      };
    },
  });
};
