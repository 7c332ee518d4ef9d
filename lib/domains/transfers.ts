/** Transfers domain: list/continue, get, count, add, retry, cancel, clean, remove. */
import { PutioInputError } from "../core/errors";
import { t } from "../core/texts";
import { isTransferDone } from "../core/quirks";
import { cursorList } from "../core/paginate";
import { validator, type FromSchema } from "../core/schema";
import type { Transport } from "../core/transport";
import { checkId, checkOk, clampPerPage } from "../core/wire";

export const transferSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    name: { type: "string", nullable: true },
    status: { type: "string" },
    type: { type: "string", nullable: true },
    source: { type: "string", nullable: true },
    save_parent_id: { type: "integer", nullable: true },
    file_id: { type: "integer", nullable: true },
    size: { type: "number", nullable: true },
    downloaded: { type: "number", nullable: true },
    percent_done: { type: "number", nullable: true },
    error_message: { type: "string", nullable: true },
    callback_url: { type: "string", nullable: true },
    created_at: { type: "string", nullable: true },
    finished_at: { type: "string", nullable: true },
    hash: { type: "string", nullable: true },
  },
  required: ["id", "status"],
} as const;
/** A put.io transfer (the fields we read; put.io sends more). */
export type Transfer = FromSchema<typeof transferSchema>;

const checkTransferPage = validator({
  type: "object",
  properties: { transfers: { type: "array", items: transferSchema }, cursor: { type: "string", nullable: true } },
  required: ["transfers"],
});
const checkTransferEnvelope = validator({ type: "object", properties: { transfer: transferSchema }, required: ["transfer"] });
const checkCount = validator({ type: "object", properties: { count: { type: "integer" } }, required: ["count"] });
const checkCleaned = validator({
  type: "object",
  properties: { deleted_ids: { type: "array", items: { type: "integer" }, nullable: true } },
  required: [],
});

/** PREPARING_SEED and SEEDING mean the download is done (core/quirks.ts): one "COMPLETED" class per transfer. */
export function statusClass(status: string): string {
  return isTransferDone(status) ? "COMPLETED" : status;
}

export interface AddTransferOptions {
  /** Folder id; omitted → the account's default download folder. */
  saveParentId?: number;
  callbackUrl?: string;
  signal?: AbortSignal;
}

export class TransfersApi {
  constructor(private readonly t: Transport) {}

  list(opts: { perPage?: number; signal?: AbortSignal } = {}): AsyncGenerator<Transfer> {
    const perPage = clampPerPage(opts.perPage);
    return cursorList(
      this.t,
      { path: "/v2/transfers/list", perPage, schema: checkTransferPage, attempted: t("op.list-transfers"), signal: opts.signal },
      (page) => page.transfers,
    );
  }

  async get(id: number, signal?: AbortSignal): Promise<Transfer> {
    const attempted = t("op.get-transfer", { id });
    checkId(id, attempted, t("what.transfer-id"));
    return (await this.t.request({ method: "GET", path: `/v2/transfers/${id}`, schema: checkTransferEnvelope, attempted, signal })).transfer;
  }

  async count(signal?: AbortSignal): Promise<number> {
    return (await this.t.request({ method: "GET", path: "/v2/transfers/count", schema: checkCount, attempted: t("op.count-transfers"), signal })).count;
  }

  /**
   * Add a magnet or URL. Not idempotent: after a network error it is not repeated (it may have
   * been added); the caller sees PutioNetworkError.mayHaveTakenEffect.
   */
  async add(url: string, opts: AddTransferOptions = {}): Promise<Transfer> {
    const attempted = t("op.add-transfer", { source: shortSource(url) });
    if (typeof url !== "string" || !url.trim()) throw new PutioInputError(attempted, t("input.transfer-url-empty"));
    if (opts.saveParentId !== undefined) checkId(opts.saveParentId, attempted, t("what.folder-id"));
    const res = await this.t.request({
      method: "POST",
      path: "/v2/transfers/add",
      form: { url, save_parent_id: opts.saveParentId, callback_url: opts.callbackUrl || undefined },
      schema: checkTransferEnvelope,
      attempted,
      signal: opts.signal,
    });
    return res.transfer;
  }

  /** Retrying a healthy transfer is a no-op on put.io, so this is safe to repeat. */
  async retry(id: number, signal?: AbortSignal): Promise<Transfer> {
    const attempted = t("op.retry-transfer", { id });
    checkId(id, attempted, t("what.transfer-id"));
    return (
      await this.t.request({ method: "POST", path: "/v2/transfers/retry", form: { id }, idempotent: true, schema: checkTransferEnvelope, attempted, signal })
    ).transfer;
  }

  /** Cancel is idempotent on put.io (unknown ids are ignored). */
  async cancel(ids: number[], signal?: AbortSignal): Promise<void> {
    const attempted = t("op.cancel-transfers", { ids: ids.join(",") });
    if (!ids.length) throw new PutioInputError(attempted, t("input.no-transfer-ids"));
    ids.forEach((id) => checkId(id, attempted, t("what.transfer-id")));
    await this.t.request({ method: "POST", path: "/v2/transfers/cancel", form: { transfer_ids: ids }, idempotent: true, schema: checkOk, attempted, signal });
  }

  /** Remove finished transfers from the list (all of them when no ids are given). */
  async clean(ids: number[] = [], signal?: AbortSignal): Promise<number[]> {
    const attempted = ids.length ? t("op.clean-transfers", { ids: ids.join(",") }) : t("op.clean-finished-transfers");
    ids.forEach((id) => checkId(id, attempted, t("what.transfer-id")));
    const res = await this.t.request({
      method: "POST",
      path: "/v2/transfers/clean",
      form: { transfer_ids: ids.length ? ids : undefined },
      idempotent: true,
      schema: checkCleaned,
      attempted,
      signal,
    });
    return res.deleted_ids ?? [];
  }

  async remove(ids: number[], signal?: AbortSignal): Promise<void> {
    const attempted = t("op.remove-transfers", { ids: ids.join(",") });
    if (!ids.length) throw new PutioInputError(attempted, t("input.no-transfer-ids"));
    ids.forEach((id) => checkId(id, attempted, t("what.transfer-id")));
    await this.t.request({ method: "POST", path: "/v2/transfers/remove", form: { transfer_ids: ids }, idempotent: true, schema: checkOk, attempted, signal });
  }
}

/** A magnet's name or hash, or the URL, short enough for a status line and an error message. */
export function shortSource(url: unknown): string {
  const s = String(url ?? "");
  const dn = /[?&]dn=([^&]+)/.exec(s);
  if (s.startsWith("magnet:")) {
    const name = dn?.[1] ? safeDecode(dn[1]) : (/xt=urn:btih:([^&]+)/i.exec(s)?.[1] ?? "magnet");
    return `magnet "${name.slice(0, 80)}"`;
  }
  return `"${s.length > 100 ? s.slice(0, 97) + "..." : s}"`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}
