// /v2/rss/*: RSS feeds that run on the emulator clock. Each feed URL (served by the
// test) is fetched every knobs.rssFetchIntervalMs; new items matching keyword and not matching the
// unwanted keywords become transfers and log entries; items that cannot become transfers are failed.
import { ApiError, badRequest, putioDate } from "./http-util";
import { Ctx, Route, route } from "./router";
import { recordEvent } from "./routes-events";
import type { EmulatorState, User } from "./state";

interface FeedItem {
  guid: string;
  title: string;
  url: string | null;
  publishDate: number | null;
}

interface LogItem {
  id: number;
  title: string;
  url: string | null;
  detectedAt: number;
  processedAt: number;
  publishDate: number | null;
  isFailed: boolean;
  failureReason: string | null;
  transferId: number | null;
}

interface FeedRecord {
  id: number;
  ownerId: number;
  title: string;
  url: string;
  parentDirId: number;
  keyword: string | null;
  unwantedKeywords: string;
  deleteOldFiles: boolean;
  extract: boolean;
  paused: boolean;
  pausedAt: number | null;
  lastFetch: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  fetching: boolean;
  /** guids already looked at (kept when the log is cleared, so items are not taken twice). */
  seen: Set<string>;
  log: LogItem[];
}

interface RssStore {
  feeds: Map<number, FeedRecord>;
  nextFeedId: number;
  nextItemId: number;
}

const stores = new WeakMap<EmulatorState, RssStore>();

function storeOf(state: EmulatorState): RssStore {
  let s = stores.get(state);
  if (!s) {
    stores.set(state, (s = { feeds: new Map(), nextFeedId: 125_559, nextItemId: 7_000_001 }));
    const store = s;
    state.on("tick", () => tickFeeds(state, store));
  }
  return s;
}

// ---------- fetching and parsing ----------

class FeedError extends Error {
  constructor(
    readonly type: "FEED_CANNOT_FETCHED" | "FEED_CANNOT_PARSED",
    message: string,
  ) {
    super(message);
  }
}

function decodeXml(s: string): string {
  return s
    .replace(/^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, "&")
    .trim();
}

function tag(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, "i").exec(xml);
  return m ? decodeXml(m[1]) : null;
}

/** RSS 2.0 items (title, enclosure url or link, guid, pubDate). */
export function parseFeed(xml: string): FeedItem[] {
  if (!/<rss[\s>]/i.test(xml) || !/<channel[\s>]/i.test(xml)) throw new FeedError("FEED_CANNOT_PARSED", "Feed cannot be parsed");
  const items: FeedItem[] = [];
  for (const m of xml.matchAll(/<item(?:\s[^>]*)?>([\s\S]*?)<\/item>/gi)) {
    const body = m[1];
    const enclosure = /<enclosure\s[^>]*url\s*=\s*"([^"]*)"/i.exec(body)?.[1];
    const url = enclosure ? decodeXml(enclosure) : tag(body, "link");
    const title = tag(body, "title") ?? "";
    const pub = tag(body, "pubDate");
    const publishDate = pub && !Number.isNaN(Date.parse(pub)) ? Date.parse(pub) : null;
    items.push({ guid: tag(body, "guid") ?? url ?? title, title, url: url || null, publishDate });
  }
  return items;
}

async function fetchFeed(url: string): Promise<FeedItem[]> {
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (e) {
    throw new FeedError("FEED_CANNOT_FETCHED", `Feed cannot be fetched: ${(e as Error).message}`);
  }
  return parseFeed(text);
}

// ---------- matching and processing ----------

/** put.io keyword syntax as seen in real feeds: `A&B` needs both terms; `A|B` either (case-insensitive). */
export function keywordMatches(keyword: string | null, title: string): boolean {
  if (!keyword || !keyword.trim()) return true;
  const t = title.toLowerCase();
  return keyword.split("|").some((alt) => alt.split("&").every((term) => t.includes(term.trim().toLowerCase())));
}

/** Unwanted keywords: comma-separated terms; any one in the title rejects the item. */
function unwanted(list: string, title: string): boolean {
  const t = title.toLowerCase();
  return list.split(",").some((term) => term.trim() !== "" && t.includes(term.trim().toLowerCase()));
}

function startTransfer(state: EmulatorState, user: User, feed: FeedRecord, item: LogItem): void {
  if (!item.url || !/^(magnet:|https?:\/\/|ftp:\/\/)/i.test(item.url)) {
    fail(state, feed, item, item.url ? "Unsupported URL" : "The item has no link");
    return;
  }
  const parent = state.liveNode(user, feed.parentDirId);
  const t = state.newTransfer(user, { url: item.url, name: item.title || undefined, saveParentId: parent?.isFolder ? parent.id : 0 });
  state.push(user.id, "transfer_create", state.transferJson(t));
  state.push(user.id, "transfers_count", state.userTransfers(user).length);
  item.transferId = t.id;
  item.isFailed = false;
  item.failureReason = null;
}

function fail(state: EmulatorState, feed: FeedRecord, item: LogItem, reason: string): void {
  item.isFailed = true;
  item.failureReason = reason;
  recordEvent(state, feed.ownerId, "transfer_from_rss_error", { rss_id: feed.id, transfer_name: item.title });
}

function process(state: EmulatorState, store: RssStore, feed: FeedRecord, items: FeedItem[]): void {
  const user = state.users.get(feed.ownerId)!;
  const now = state.now();
  for (const it of items) {
    if (feed.seen.has(it.guid)) continue;
    feed.seen.add(it.guid);
    if (!keywordMatches(feed.keyword, it.title) || unwanted(feed.unwantedKeywords, it.title)) continue;
    const item: LogItem = {
      id: store.nextItemId++,
      title: it.title,
      url: it.url,
      detectedAt: now,
      processedAt: now,
      publishDate: it.publishDate,
      isFailed: false,
      failureReason: null,
      transferId: null,
    };
    feed.log.push(item);
    startTransfer(state, user, feed, item);
  }
}

function tickFeeds(state: EmulatorState, store: RssStore): void {
  const now = state.now();
  for (const feed of store.feeds.values()) {
    // A transfer of the feed that failed makes its item a failed item.
    for (const item of feed.log) {
      const t = item.transferId === null ? undefined : state.transferMap.get(item.transferId);
      if (t && t.status === "ERROR" && !item.isFailed) fail(state, feed, item, t.errorMessage ?? "Transfer failed");
    }
    if (feed.paused || feed.fetching) continue;
    if (feed.lastFetch !== null && now - feed.lastFetch < state.knobs.rssFetchIntervalMs) continue;
    feed.fetching = true;
    feed.lastFetch = now;
    const p = fetchFeed(feed.url)
      .then((items) => {
        feed.lastError = null;
        if (store.feeds.get(feed.id) === feed) process(state, store, feed, items);
      })
      .catch((e: Error) => {
        feed.lastError = e.message;
      })
      .finally(() => {
        feed.fetching = false;
      });
    state.pending.add(p);
    void p.finally(() => state.pending.delete(p));
  }
}

// ---------- routes ----------

function feedJson(feed: FeedRecord) {
  // Field set of the real recording GET_rss_id__operator2022 (parentdirid is a legacy duplicate).
  return {
    created_at: putioDate(feed.createdAt),
    delete_old_files: feed.deleteOldFiles,
    extract: feed.extract,
    failed_item_count: feed.log.filter((i) => i.isFailed).length,
    id: feed.id,
    keyword: feed.keyword,
    last_error: feed.lastError,
    last_fetch: feed.lastFetch === null ? null : putioDate(feed.lastFetch),
    parent_dir_id: feed.parentDirId,
    parentdirid: feed.parentDirId,
    paused: feed.paused,
    paused_at: feed.pausedAt === null ? null : putioDate(feed.pausedAt),
    rss_source_url: feed.url,
    start_at: null,
    title: feed.title,
    unwanted_keywords: feed.unwantedKeywords,
    updated_at: putioDate(feed.updatedAt),
  };
}

function itemJson(state: EmulatorState, item: LogItem) {
  const t = item.transferId === null ? undefined : state.transferMap.get(item.transferId);
  const base = {
    detected_date: putioDate(item.detectedAt),
    id: item.id,
    is_failed: item.isFailed,
    processed_at: putioDate(item.processedAt),
    publish_date: item.publishDate === null ? null : putioDate(item.publishDate),
    title: item.title,
  };
  return item.isFailed ? { ...base, failure_reason: item.failureReason ?? "" } : { ...base, user_file_id: t?.fileId ?? null };
}

function requireFeed(ctx: Ctx): FeedRecord {
  const feed = storeOf(ctx.state).feeds.get(ctx.pathInt(1));
  if (!feed || feed.ownerId !== ctx.user.id) throw new ApiError(404, "NotFound", "Not found");
  return feed;
}

function validUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** Reads the feed fields of a create/update; `current` is the feed being updated. */
async function readFields(ctx: Ctx, current: FeedRecord | null): Promise<Partial<FeedRecord> & { items?: FeedItem[]; skipExisting?: boolean }> {
  const p = ctx.params;
  const out: Partial<FeedRecord> & { items?: FeedItem[]; skipExisting?: boolean } = {};
  const title = p.str("title");
  if (title !== undefined || !current) {
    if (!title || !title.trim()) throw badRequest("Title is required", "TITLE_REQUIRED");
    out.title = title;
  }
  const url = p.str("rss_source_url");
  if (url !== undefined || !current) {
    if (!url || !url.trim()) throw badRequest("URL is required", "URL_REQUIRED");
    if (!validUrl(url.trim())) throw badRequest("URL is not valid", "URL_NOT_VALID");
    out.url = url.trim();
  }
  if (p.raw("parent_dir_id") !== undefined) {
    const id = p.int("parent_dir_id")!;
    ctx.state.requireFolder(ctx.user, id);
    out.parentDirId = id;
  } else if (!current) {
    out.parentDirId = ctx.user.settings.default_download_folder as number;
  }
  const keyword = p.str("keyword");
  if (keyword !== undefined) out.keyword = keyword.trim() === "" ? null : keyword;
  const unwantedKeywords = p.str("unwanted_keywords");
  if (unwantedKeywords !== undefined) out.unwantedKeywords = unwantedKeywords;
  if (p.raw("delete_old_files") !== undefined) out.deleteOldFiles = p.bool("delete_old_files");
  if (p.raw("extract") !== undefined) out.extract = p.bool("extract");
  out.skipExisting = p.bool("dont_process_whole_feed");
  // put.io reads the feed when it is added or its URL changes; a feed it cannot read is refused.
  if (out.url !== undefined && out.url !== current?.url) {
    try {
      out.items = await fetchFeed(out.url);
    } catch (e) {
      if (e instanceof FeedError) throw badRequest(e.message, e.type);
      throw e;
    }
  }
  return out;
}

async function create(ctx: Ctx) {
  const { state } = ctx;
  const user = ctx.user;
  const store = storeOf(state);
  const max = ctx.server.knobs.rssMaxFeeds;
  if (max !== null && [...store.feeds.values()].filter((f) => f.ownerId === user.id).length >= max) {
    throw new ApiError(403, "TOO_MANY_RSS_FEEDS", "Too many RSS feeds");
  }
  const fields = await readFields(ctx, null);
  const now = state.now();
  const feed: FeedRecord = {
    id: store.nextFeedId++,
    ownerId: user.id,
    title: fields.title!,
    url: fields.url!,
    parentDirId: fields.parentDirId!,
    keyword: fields.keyword ?? null,
    unwantedKeywords: fields.unwantedKeywords ?? "",
    deleteOldFiles: fields.deleteOldFiles ?? false,
    extract: fields.extract ?? false,
    paused: false,
    pausedAt: null,
    lastFetch: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
    fetching: false,
    seen: new Set(),
    log: [],
  };
  // "Don't process the whole feed": what the feed holds now is taken as already seen.
  if (fields.skipExisting) for (const it of fields.items ?? []) feed.seen.add(it.guid);
  store.feeds.set(feed.id, feed);
  return { feed: feedJson(feed) };
}

async function update(ctx: Ctx) {
  const feed = requireFeed(ctx);
  const { items: _items, skipExisting: _skip, ...fields } = await readFields(ctx, feed);
  Object.assign(feed, fields);
  feed.updatedAt = ctx.state.now();
  return {};
}

function retry(ctx: Ctx, feed: FeedRecord, item: LogItem): void {
  const user = ctx.user;
  item.processedAt = ctx.state.now();
  startTransfer(ctx.state, user, feed, item);
}

export const rssRoutes: Route[] = [
  route("GET", "/v2/rss/list", (ctx) => ({
    feeds: [...storeOf(ctx.state).feeds.values()].filter((f) => f.ownerId === ctx.user.id).map(feedJson),
  })),
  route("POST", "/v2/rss/create", create),
  route("GET", "/v2/rss/{id}", (ctx) => ({ feed: feedJson(requireFeed(ctx)) })),
  route("POST", "/v2/rss/{id}", update),
  route("POST", "/v2/rss/{id}/pause", (ctx) => {
    const feed = requireFeed(ctx);
    if (!feed.paused) feed.pausedAt = ctx.state.now();
    feed.paused = true;
    return {};
  }),
  route("POST", "/v2/rss/{id}/resume", (ctx) => {
    const feed = requireFeed(ctx);
    feed.paused = false;
    feed.pausedAt = null;
    return {};
  }),
  route("POST", "/v2/rss/{id}/delete", (ctx) => {
    storeOf(ctx.state).feeds.delete(requireFeed(ctx).id);
    return {};
  }),
  route("GET", "/v2/rss/{id}/items", (ctx) => {
    const feed = requireFeed(ctx);
    return { feed: feedJson(feed), items: [...feed.log].reverse().map((i) => itemJson(ctx.state, i)) };
  }),
  route("POST", "/v2/rss/{id}/clear-log", (ctx) => {
    requireFeed(ctx).log = [];
    return {};
  }),
  route("POST", "/v2/rss/{id}/retry-all", (ctx) => {
    const feed = requireFeed(ctx);
    for (const item of feed.log) if (item.isFailed) retry(ctx, feed, item);
    return {};
  }),
  route("POST", "/v2/rss/{id}/items/{id}/retry", (ctx) => {
    const feed = requireFeed(ctx);
    const item = feed.log.find((i) => i.id === ctx.pathInt(2));
    if (!item) throw new ApiError(404, "NotFound", "Not found");
    if (!item.isFailed) throw badRequest("Item has not failed");
    retry(ctx, feed, item);
    return {};
  }),
];
