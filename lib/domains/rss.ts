/**
 * RSS domain: put.io's feed watcher ("RSS filters"). put.io fetches each feed on its side, turns new
 * matching items into transfers, and keeps a log of the items it handled.
 */
import { describeValue } from "../core/describe";
import { PutioInputError } from "../core/errors";
import { t, type Text } from "../core/texts";
import { validator, type FromSchema } from "../core/schema";
import type { Params } from "../core/request";
import type { Transport } from "../core/transport";
import { checkId, checkOk } from "../core/wire";

const feedSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    title: { type: "string" },
    rss_source_url: { type: "string" },
    parent_dir_id: { type: "integer", nullable: true },
    keyword: { type: "string", nullable: true },
    unwanted_keywords: { type: "string", nullable: true },
    delete_old_files: { type: "boolean" },
    extract: { type: "boolean" },
    paused: { type: "boolean" },
    paused_at: { type: "string", nullable: true },
    last_fetch: { type: "string", nullable: true },
    last_error: { type: "string", nullable: true },
    failed_item_count: { type: "integer", nullable: true },
    created_at: { type: "string" },
    updated_at: { type: "string", nullable: true },
  },
  required: ["id", "title", "rss_source_url", "paused"],
} as const;
export type RssFeed = FromSchema<typeof feedSchema>;

const itemSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    title: { type: "string" },
    is_failed: { type: "boolean" },
    failure_reason: { type: "string", nullable: true },
    user_file_id: { type: "integer", nullable: true },
    detected_date: { type: "string", nullable: true },
    processed_at: { type: "string", nullable: true },
    publish_date: { type: "string", nullable: true },
  },
  required: ["id", "title", "is_failed"],
} as const;
export type RssItem = FromSchema<typeof itemSchema>;

const checkFeed = validator({ type: "object", properties: { feed: feedSchema }, required: ["feed"] });
const checkFeeds = validator({ type: "object", properties: { feeds: { type: "array", items: feedSchema } }, required: ["feeds"] });
const checkItems = validator({
  type: "object",
  properties: { feed: feedSchema, items: { type: "array", items: itemSchema } },
  required: ["feed", "items"],
});

/** A feed's settings, by put.io's field names. */
export interface RssFeedInput {
  title?: string;
  rss_source_url?: string;
  /** Folder id the transfers are saved in. */
  parent_dir_id?: number;
  /** Terms an item title must contain (put.io syntax, e.g. `SHOW&1080p`). */
  keyword?: string;
  unwanted_keywords?: string;
  delete_old_files?: boolean;
  /** Only items published after the feed was added are taken (not the whole current feed). */
  dont_process_whole_feed?: boolean;
  extract?: boolean;
}

const BOOLEAN_FIELDS = ["delete_old_files", "dont_process_whole_feed", "extract"] as const;

/**
 * The form put.io takes. On create the official SDK sends a true flag as `on` and leaves false ones
 * out; on update it sends true/false. We do the same, so both routes read what they expect.
 */
function feedForm(input: RssFeedInput, forCreate: boolean, attempted: Text): Params {
  if (!input || typeof input !== "object") throw new PutioInputError(attempted, t("input.feed-not-object"));
  const form: Params = {};
  for (const key of ["title", "rss_source_url", "keyword", "unwanted_keywords"] as const) {
    const v = input[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") throw new PutioInputError(attempted, t("input.feed-field-not-text", { key, value: describeValue(v, 60) }));
    form[key] = v;
  }
  if (input.parent_dir_id !== undefined && input.parent_dir_id !== null) form.parent_dir_id = checkId(input.parent_dir_id, attempted, t("what.folder-id"));
  for (const key of BOOLEAN_FIELDS) {
    const v = input[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "boolean") throw new PutioInputError(attempted, t("input.feed-field-not-boolean", { key, value: describeValue(v, 60) }));
    if (forCreate) {
      if (v) form[key] = "on";
    } else form[key] = v;
  }
  if (form.rss_source_url !== undefined && !/^https?:\/\/\S+$/i.test(String(form.rss_source_url))) {
    throw new PutioInputError(attempted, t("input.feed-url-not-http", { url: String(form.rss_source_url).slice(0, 100) }));
  }
  return form;
}

export class RssApi {
  constructor(private readonly t: Transport) {}

  async list(signal?: AbortSignal): Promise<RssFeed[]> {
    return (await this.t.request({ method: "GET", path: "/v2/rss/list", schema: checkFeeds, attempted: t("op.list-rss"), signal })).feeds;
  }

  async get(id: number, signal?: AbortSignal): Promise<RssFeed> {
    const attempted = t("op.get-rss", { id });
    checkId(id, attempted, t("what.feed-id"));
    return (await this.t.request({ method: "GET", path: `/v2/rss/${id}`, schema: checkFeed, attempted, signal })).feed;
  }

  /** Not idempotent: a repeat after a network error could add the feed twice. */
  async create(input: RssFeedInput, signal?: AbortSignal): Promise<RssFeed> {
    const title = input?.title;
    const attempted = typeof title === "string" && title ? t("op.add-rss", { title: title.slice(0, 60) }) : t("op.add-rss-untitled");
    const form = feedForm(input, true, attempted);
    if (!form.title || !String(form.title).trim()) throw new PutioInputError(attempted, t("input.feed-needs-title"));
    if (!form.rss_source_url) throw new PutioInputError(attempted, t("input.feed-needs-url"));
    return (await this.t.request({ method: "POST", path: "/v2/rss/create", form, schema: checkFeed, attempted, signal })).feed;
  }

  /** Sets the given fields; the same settings twice have the same result. */
  async update(id: number, input: RssFeedInput, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.change-rss", { id });
    checkId(id, attempted, t("what.feed-id"));
    const form = feedForm(input, false, attempted);
    if (form.title !== undefined && !String(form.title).trim()) throw new PutioInputError(attempted, t("input.feed-title-empty"));
    await this.t.request({ method: "POST", path: `/v2/rss/${id}`, form, idempotent: true, schema: checkOk, attempted, signal });
  }

  async pause(id: number, signal?: AbortSignal): Promise<void> {
    await this.action(id, "pause", t("op.pause-rss", { id }), true, signal);
  }

  async resume(id: number, signal?: AbortSignal): Promise<void> {
    await this.action(id, "resume", t("op.resume-rss", { id }), true, signal);
  }

  async delete(id: number, signal?: AbortSignal): Promise<void> {
    await this.action(id, "delete", t("op.delete-rss", { id }), false, signal);
  }

  /** The feed with its log of handled items. */
  async items(id: number, signal?: AbortSignal): Promise<{ feed: RssFeed; items: RssItem[] }> {
    const attempted = t("op.read-rss-log", { id });
    checkId(id, attempted, t("what.feed-id"));
    return this.t.request({ method: "GET", path: `/v2/rss/${id}/items`, schema: checkItems, attempted, signal });
  }

  async clearLog(id: number, signal?: AbortSignal): Promise<void> {
    await this.action(id, "clear-log", t("op.clear-rss-log", { id }), true, signal);
  }

  async retryAll(id: number, signal?: AbortSignal): Promise<void> {
    await this.action(id, "retry-all", t("op.retry-rss-all", { id }), false, signal);
  }

  async retryItem(id: number, itemId: number, signal?: AbortSignal): Promise<void> {
    const attempted = t("op.retry-rss-item", { item: itemId, id });
    checkId(id, attempted, t("what.feed-id"));
    checkId(itemId, attempted, t("what.item-id"));
    await this.t.request({ method: "POST", path: `/v2/rss/${id}/items/${itemId}/retry`, schema: checkOk, attempted, signal });
  }

  private async action(id: number, action: string, attempted: Text, idempotent: boolean, signal?: AbortSignal): Promise<void> {
    checkId(id, attempted, t("what.feed-id"));
    await this.t.request({ method: "POST", path: `/v2/rss/${id}/${action}`, idempotent, schema: checkOk, attempted, signal });
  }
}
