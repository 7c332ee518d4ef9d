// Emulator RSS feeds: CRUD and validation errors, fetching on the clock, keyword / unwanted keyword
// matching, transfers for new items, the item log, failed items and retry, pause/resume.
import * as assert from "node:assert/strict";
import { Emulator, startEmulator } from "./emulator";
import { historyEvents } from "./emulator/routes-events";
import { assertError, assertOk, call } from "./emulator/test-helpers";
import { startFeedServer, type FeedServer } from "./support/feed-server";

describe("emulator: RSS feeds", () => {
  let emu: Emulator;
  let feed: FeedServer;
  beforeEach(async () => {
    emu = await startEmulator();
    emu.knobs.rssFetchIntervalMs = 60_000;
    feed = await startFeedServer([
      { title: "Show.S01E01.1080p", url: "magnet:?xt=urn:btih:" + "a".repeat(40) + "&dn=Show.S01E01" },
      { title: "Show.S01E01.720p", url: "magnet:?xt=urn:btih:" + "b".repeat(40) },
      { title: "Other.Thing.1080p", url: "http://example.com/other.torrent" },
      { title: "Show.S01E02.1080p.CAM", url: "http://example.com/cam.torrent" },
    ]);
  });
  afterEach(async () => {
    await emu.close();
    await feed.close();
  });

  async function createFeed(form: Record<string, string>) {
    const res = await call(emu, "POST", "/v2/rss/create", { form: { title: "Show", rss_source_url: feed.url, ...form } });
    assertOk(res);
    return res.body.feed;
  }

  it("create answers the feed with put.io's field set; get/list show it", async () => {
    const dir = emu.state.addFolder(0, "TV");
    const f = await createFeed({ parent_dir_id: String(dir.id), keyword: "SHOW&1080p", unwanted_keywords: "CAM", delete_old_files: "on" });
    assert.deepEqual(Object.keys(f).sort(), [
      "created_at",
      "delete_old_files",
      "extract",
      "failed_item_count",
      "id",
      "keyword",
      "last_error",
      "last_fetch",
      "parent_dir_id",
      "parentdirid",
      "paused",
      "paused_at",
      "rss_source_url",
      "start_at",
      "title",
      "unwanted_keywords",
      "updated_at",
    ]);
    assert.deepEqual(
      [f.parent_dir_id, f.parentdirid, f.keyword, f.unwanted_keywords, f.delete_old_files, f.paused],
      [dir.id, dir.id, "SHOW&1080p", "CAM", true, false],
    );
    assert.deepEqual((await call(emu, "GET", `/v2/rss/${f.id}`)).body.feed, f);
    assert.deepEqual((await call(emu, "GET", "/v2/rss/list")).body.feeds, [f]);
  });

  it("refuses bad feeds: TITLE_REQUIRED, URL_REQUIRED, URL_NOT_VALID, FEED_CANNOT_FETCHED, FEED_CANNOT_PARSED, TOO_MANY_RSS_FEEDS, 404", async () => {
    assertError(await call(emu, "POST", "/v2/rss/create", { form: { rss_source_url: feed.url } }), 400, "TITLE_REQUIRED");
    assertError(await call(emu, "POST", "/v2/rss/create", { form: { title: "x" } }), 400, "URL_REQUIRED");
    assertError(await call(emu, "POST", "/v2/rss/create", { form: { title: "x", rss_source_url: "ftp://x/y" } }), 400, "URL_NOT_VALID");
    feed.status = 500;
    assertError(await call(emu, "POST", "/v2/rss/create", { form: { title: "x", rss_source_url: feed.url } }), 400, "FEED_CANNOT_FETCHED");
    feed.status = 200;
    feed.body = "<html>not a feed</html>";
    assertError(await call(emu, "POST", "/v2/rss/create", { form: { title: "x", rss_source_url: feed.url } }), 400, "FEED_CANNOT_PARSED");
    feed.body = null;
    assertError(await call(emu, "POST", "/v2/rss/create", { form: { title: "x", rss_source_url: feed.url, parent_dir_id: "2147483647" } }), 404);
    emu.knobs.rssMaxFeeds = 1;
    await createFeed({});
    assertError(await call(emu, "POST", "/v2/rss/create", { form: { title: "y", rss_source_url: feed.url } }), 403, "TOO_MANY_RSS_FEEDS");
    for (const path of ["/v2/rss/1", "/v2/rss/1/items"]) assertError(await call(emu, "GET", path), 404, "NotFound");
    for (const path of ["/v2/rss/1/pause", "/v2/rss/1/resume", "/v2/rss/1/delete", "/v2/rss/1/clear-log", "/v2/rss/1/items/1/retry"]) {
      assertError(await call(emu, "POST", path), 404, "NotFound");
    }
  });

  it("fetches on the clock: matching new items become transfers in the feed's folder, once each", async () => {
    const dir = emu.state.addFolder(0, "TV");
    const f = await createFeed({ parent_dir_id: String(dir.id), keyword: "SHOW&1080p", unwanted_keywords: "CAM" });
    assert.equal(emu.state.transfers().length, 0, "nothing before the first fetch");
    await emu.advance(1000);
    const transfers = emu.state.transfers();
    assert.deepEqual(
      transfers.map((t) => t.name),
      ["Show.S01E01.1080p"],
    );
    assert.equal(transfers[0].save_parent_id, dir.id);
    const log = (await call(emu, "GET", `/v2/rss/${f.id}/items`)).body;
    assert.equal(log.items.length, 1);
    assert.deepEqual(Object.keys(log.items[0]).sort(), ["detected_date", "id", "is_failed", "processed_at", "publish_date", "title", "user_file_id"]);
    assert.equal(log.items[0].user_file_id, null);
    assert.match(log.feed.last_fetch, /^\d{4}-/);
    await emu.advance(6000);
    assert.equal((await call(emu, "GET", `/v2/rss/${f.id}/items`)).body.items[0].user_file_id, emu.state.transfers()[0].file_id);
    // The same items again at the next fetch: nothing new; a new matching item: one more transfer.
    await emu.advance(60_000);
    assert.equal(emu.state.transfers().length, 1);
    feed.items.push({ title: "Show.S01E03.1080p", url: "magnet:?xt=urn:btih:" + "c".repeat(40) });
    await emu.advance(60_000);
    assert.deepEqual(
      emu.state
        .transfers()
        .map((t) => t.name)
        .sort(),
      ["Show.S01E01.1080p", "Show.S01E03.1080p"],
    );
  });

  it("dont_process_whole_feed takes only items that appear after the feed was added", async () => {
    await createFeed({ dont_process_whole_feed: "on" });
    await emu.advance(1000);
    assert.equal(emu.state.transfers().length, 0);
    feed.items.push({ title: "New.One", url: "magnet:?xt=urn:btih:" + "d".repeat(40) });
    await emu.advance(60_000);
    assert.deepEqual(
      emu.state.transfers().map((t) => t.name),
      ["New.One"],
    );
  });

  it("items that cannot become transfers are failed items; retry one, retry all, clear the log", async () => {
    feed.items = [{ title: "Broken.1", url: "gopher://nowhere/a" }, { title: "Broken.2" }, { title: "Fails.Later", url: "http://example.com/fail.torrent" }];
    const f = await createFeed({});
    await emu.advance(1000);
    let items = (await call(emu, "GET", `/v2/rss/${f.id}/items`)).body.items;
    const byTitle = (t: string) => items.find((i: { title: string }) => i.title === t);
    assert.equal(byTitle("Broken.1").is_failed, true);
    assert.equal(byTitle("Broken.1").failure_reason, "Unsupported URL");
    assert.equal(byTitle("Broken.2").is_failed, true);
    assert.equal(byTitle("Fails.Later").is_failed, false);
    await emu.advance(6000); // the transfer goes to ERROR: its item becomes failed
    items = (await call(emu, "GET", `/v2/rss/${f.id}/items`)).body.items;
    assert.equal(byTitle("Fails.Later").is_failed, true);
    assert.equal((await call(emu, "GET", `/v2/rss/${f.id}`)).body.feed.failed_item_count, 3);
    const rssErrors = historyEvents(emu.state, emu.state.userFor(emu.token).id).filter((e) => e.type === "transfer_from_rss_error");
    assert.equal(rssErrors.length, 3);
    assert.equal(rssErrors[0].rss_id, f.id);
    // A retry of an item that has not failed is refused; of a failed one starts a new transfer.
    const before = emu.state.transfers().length;
    assertOk(await call(emu, "POST", `/v2/rss/${f.id}/items/${byTitle("Fails.Later").id}/retry`));
    assert.equal(emu.state.transfers().length, before + 1);
    assertError(await call(emu, "POST", `/v2/rss/${f.id}/items/${byTitle("Fails.Later").id}/retry`), 400);
    assertOk(await call(emu, "POST", `/v2/rss/${f.id}/retry-all`));
    assertOk(await call(emu, "POST", `/v2/rss/${f.id}/clear-log`));
    assert.deepEqual((await call(emu, "GET", `/v2/rss/${f.id}/items`)).body.items, []);
    // Cleared items are not taken again.
    const count = emu.state.transfers().length;
    await emu.advance(60_000);
    assert.equal(emu.state.transfers().length, count);
  });

  it("a feed that cannot be fetched later records last_error; pause stops fetching, resume restarts it", async () => {
    const f = await createFeed({});
    feed.status = 503;
    await emu.advance(1000);
    assert.match((await call(emu, "GET", `/v2/rss/${f.id}`)).body.feed.last_error, /cannot be fetched/);
    feed.status = 200;
    assertOk(await call(emu, "POST", `/v2/rss/${f.id}/pause`));
    const paused = (await call(emu, "GET", `/v2/rss/${f.id}`)).body.feed;
    assert.equal(paused.paused, true);
    assert.match(paused.paused_at, /^\d{4}-/);
    const hits = feed.hits;
    await emu.advance(120_000);
    assert.equal(feed.hits, hits, "a paused feed is not fetched");
    assertOk(await call(emu, "POST", `/v2/rss/${f.id}/resume`));
    const resumed = (await call(emu, "GET", `/v2/rss/${f.id}`)).body.feed;
    assert.deepEqual([resumed.paused, resumed.paused_at], [false, null]);
    await emu.advance(1000);
    assert.ok(feed.hits > hits);
    assert.equal((await call(emu, "GET", `/v2/rss/${f.id}`)).body.feed.last_error, null);
  });

  it("update changes the given fields (booleans as true/false); delete removes the feed", async () => {
    const f = await createFeed({});
    assertOk(await call(emu, "POST", `/v2/rss/${f.id}`, { form: { title: "Renamed", keyword: "X", extract: "true", delete_old_files: "false" } }));
    const updated = (await call(emu, "GET", `/v2/rss/${f.id}`)).body.feed;
    assert.deepEqual(
      [updated.title, updated.keyword, updated.extract, updated.delete_old_files, updated.rss_source_url],
      ["Renamed", "X", true, false, feed.url],
    );
    assertError(await call(emu, "POST", `/v2/rss/${f.id}`, { form: { title: "" } }), 400, "TITLE_REQUIRED");
    assertError(await call(emu, "POST", `/v2/rss/${f.id}`, { form: { rss_source_url: "nope" } }), 400, "URL_NOT_VALID");
    assertOk(await call(emu, "POST", `/v2/rss/${f.id}/delete`));
    assertError(await call(emu, "GET", `/v2/rss/${f.id}`), 404, "NotFound");
    assert.deepEqual((await call(emu, "GET", "/v2/rss/list")).body.feeds, []);
  });

  it("feeds are per user", async () => {
    const f = await createFeed({});
    const other = emu.addUser();
    assertError(await call(emu, "GET", `/v2/rss/${f.id}`, { token: other.token }), 404);
    assert.deepEqual((await call(emu, "GET", "/v2/rss/list", { token: other.token })).body.feeds, []);
  });
});
