/**
 * Zips domain: put.io packs files and folders into one zip on its side; the zip is ready after a
 * while (NEW → PROCESSING → DONE) and announced with a `zip_created` socket push.
 */
import { PutioAbortError, PutioError, PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { validator, type FromSchema } from "../core/schema";
import { linkSignals } from "../core/signals";
import { abortableSleep } from "../core/sleep";
import type { PutioSocket, SocketEvent } from "../core/socket";
import type { Transport } from "../core/transport";
import { checkId, checkOk } from "../core/wire";

const missingFileSchema = {
  oneOf: [
    { type: "string" },
    { type: "object", properties: { id: { type: "integer" }, name: { type: "string" }, missing: { type: "boolean" } }, required: [] },
  ],
} as const;

const zipInfoSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    // Older answers (2016) had no zip_status; a url then meant done.
    zip_status: { type: "string" },
    url: { type: "string", nullable: true },
    size: { type: "number", nullable: true },
    missing_files: { type: "array", nullable: true, items: missingFileSchema },
    error_msg: { type: "string", nullable: true },
  },
  required: [],
} as const;
export type ZipInfo = FromSchema<typeof zipInfoSchema>;
const checkZipInfo = validator(zipInfoSchema);

const zipListItemSchema = {
  type: "object",
  properties: { id: { type: "integer" }, created_at: { type: "string" } },
  required: ["id"],
} as const;
export type ZipListItem = FromSchema<typeof zipListItemSchema>;
const checkZipList = validator({ type: "object", properties: { zips: { type: "array", items: zipListItemSchema } }, required: ["zips"] });
const checkCreated = validator({ type: "object", properties: { zip_id: { type: "integer" } }, required: ["zip_id"] });

/** A finished zip: where to download it, and what put.io could not put in it. */
export interface ZipResult {
  zipId: number;
  url: string;
  size: number;
  /** Files put.io left out (deleted meanwhile): objects {id, name} or bare names. */
  missingFiles: Array<{ id?: number; name?: string } | string>;
}

export interface WaitZipOptions {
  signal?: AbortSignal;
  /** When given, a `zip_created` push (or a reconnect) triggers the next check at once. */
  socket?: PutioSocket;
  /** First delay between checks; doubles up to maxPollMs (with a socket this is only the fallback). */
  pollMs?: number;
  maxPollMs?: number;
  /** Called with each status seen (NEW, PROCESSING…). */
  onStatus?: (status: string) => void;
}

export function zipStatusOf(info: ZipInfo): string {
  return info.zip_status ?? (info.url ? "DONE" : "PROCESSING");
}

export class ZipsApi {
  constructor(private readonly t: Transport) {}

  /** Not idempotent: a repeat after a network error would make a second zip. */
  async create(fileIds: number[], signal?: AbortSignal): Promise<number> {
    const attempted = fileIds?.length === 1 ? t("op.zip-file", { id: fileIds[0]! }) : t("op.zip-files", { count: fileIds?.length ?? 0 });
    if (!Array.isArray(fileIds) || !fileIds.length) throw new PutioInputError(attempted, t("input.no-file-ids"));
    fileIds.forEach((id) => checkId(id, attempted));
    const res = await this.t.request({ method: "POST", path: "/v2/zips/create", form: { file_ids: fileIds }, schema: checkCreated, attempted, signal });
    return res.zip_id;
  }

  /** The zips put.io still holds. */
  async list(signal?: AbortSignal): Promise<ZipListItem[]> {
    return (await this.t.request({ method: "GET", path: "/v2/zips/list", schema: checkZipList, attempted: t("op.list-zips"), signal })).zips;
  }

  async get(id: number, signal?: AbortSignal): Promise<ZipInfo> {
    const attempted = t("op.get-zip", { id });
    checkId(id, attempted, t("what.zip-id"));
    try {
      return await this.t.request({ method: "GET", path: `/v2/zips/${id}`, schema: checkZipInfo, attempted, signal });
    } catch (err) {
      // put.io answers 410 LINK_EXPIRED both for an expired zip and for an id it never had.
      if (err instanceof PutioError && err.statusCode === 410) {
        throw new PutioError(
          attempted,
          { status_code: 410, error_type: err.errorType, error_message: err.errorMessage, error_id: err.errorId, extra: err.extra },
          t("hint.zip-expired"),
        );
      }
      throw err;
    }
  }

  /** put.io cancels with a GET (not a POST); cancelling twice is harmless. */
  async cancel(id: number, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.cancel-zip", { id });
    checkId(id, attempted, t("what.zip-id"));
    await this.t.request({ method: "GET", path: `/v2/zips/${id}/cancel`, schema: checkOk, attempted, signal });
  }

  /** Check until the zip is DONE (→ its url) or ERROR (→ PutioError ERROR_IN_ZIP). */
  async waitUntilDone(id: number, opts: WaitZipOptions = {}): Promise<ZipResult> {
    const link = this.t.linkSignal(opts.signal);
    try {
      return await this.waitLinked(id, opts, link.signal);
    } finally {
      link.dispose();
    }
  }

  private async waitLinked(id: number, opts: WaitZipOptions, signal: AbortSignal): Promise<ZipResult> {
    const attempted = t("op.wait-zip", { id });
    let delay = Math.max(1, opts.pollMs ?? 2000);
    const maxDelay = Math.max(delay, opts.maxPollMs ?? 30_000);
    // Listen before the first check, so a push that lands in between is not lost.
    let nudged = false;
    let wake: (() => void) | null = null;
    const onEvent = (e: SocketEvent) => {
      const value = e.value as { id?: unknown; zip_id?: unknown } | null;
      if (e.type === "zip_created" && (value?.id === id || value?.zip_id === id || value === null || typeof value !== "object")) nudge();
    };
    const onOpen = () => nudge(); // pushes missed while disconnected: check again
    const nudge = () => {
      nudged = true;
      wake?.();
    };
    opts.socket?.on("event", onEvent);
    opts.socket?.on("open", onOpen);
    try {
      let lastStatus = "";
      for (;;) {
        nudged = false;
        const info = await this.get(id, signal);
        const status = zipStatusOf(info);
        if (status !== lastStatus) opts.onStatus?.((lastStatus = status));
        if (status === "DONE" && info.url) {
          return { zipId: id, url: info.url, size: info.size ?? 0, missingFiles: (info.missing_files ?? []) as ZipResult["missingFiles"] };
        }
        if (status === "ERROR") {
          throw new PutioError(attempted, { status_code: 500, error_type: "ERROR_IN_ZIP", error_message: info.error_msg || "" }, t("hint.zip-failed"), {
            detail: info.error_msg ? undefined : t("api.zip-failed"),
          });
        }
        if (nudged) continue;
        const ac = new AbortController();
        wake = () => ac.abort();
        const nap = linkSignals(signal, ac.signal);
        try {
          await abortableSleep(delay, nap.signal);
        } catch (err) {
          if (signal.aborted) throw new PutioAbortError(attempted, signal.reason);
          if (!ac.signal.aborted) throw err;
        } finally {
          nap.dispose();
          wake = null;
        }
        delay = Math.min(maxDelay, delay * 2);
      }
    } finally {
      opts.socket?.off("event", onEvent);
      opts.socket?.off("open", onOpen);
    }
  }
}
