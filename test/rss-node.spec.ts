/** putio-rss: every feed operation against the emulator, including its errors. */
import assert from "node:assert/strict";
import { catchAll, nr, statusMatching } from "./nr";
import { outcomeOf, useNodeRed } from "./support/node-red-fixture";
import { startFeedServer, type FeedServer } from "./support/feed-server";

const rssNode = require("../nodes/putio-rss");

describe("putio-rss node @nr", function () {
  const rig = useNodeRed();
  let feed: FeedServer;
  beforeEach(async () => {
    rig.emu.knobs.rssFetchIntervalMs = 60_000;
    feed = await startFeedServer([
      { title: "Show.S01E01.1080p", url: "magnet:?xt=urn:btih:" + "a".repeat(40) },
      { title: "Show.S01E01.CAM.1080p", url: "magnet:?xt=urn:btih:" + "b".repeat(40) },
      { title: "Broken.1080p", url: "gopher://x/y" },
    ]);
  });
  afterEach(async () => {
    await feed.close();
  });

  async function load(cfg: object = {}) {
    const flow = [
      rig.account(),
      { id: "rss", type: "putio-rss", account: "acc", action: "msg", feedId: "feedId", feedIdType: "msg", ...cfg, wires: [["out"]] },
      catchAll("c", "caught"),
      { id: "out", type: "helper" },
      { id: "caught", type: "helper" },
    ];
    await rig.load([rssNode], flow);
  }

  const send = (msg: object): Promise<any> => outcomeOf("rss", msg);
  async function ok(msg: object): Promise<any> {
    const m = await send(msg);
    assert.ok(!m.caught, `unexpected error: ${m.caught?.error?.message}`);
    return m;
  }

  it("create (config fields, path folder created, paused) → get → list → update → pause/resume → delete", async () => {
    await load({
      action: "create",
      title: "Show",
      sourceUrl: feed.url,
      folder: "/TV/Show",
      keyword: "SHOW&1080p",
      unwantedKeywords: "CAM",
      paused: true,
      dontProcessWholeFeed: false,
    });
    const created = (await ok({})).payload;
    const folderId = rig.emu.state.listChildren(0).find((f) => f.name === "TV")!;
    const show = rig.emu.state.listChildren(folderId.id).find((f) => f.name === "Show")!;
    assert.deepEqual(
      [created.title, created.parent_dir_id, created.keyword, created.unwanted_keywords, created.paused],
      ["Show", show.id, "SHOW&1080p", "CAM", true],
    );
    await nr.helper.unload();
    await load();
    assert.deepEqual((await ok({ action: "get", feedId: created.id })).payload.id, created.id);
    assert.deepEqual(
      (await ok({ action: "list" })).payload.map((f: any) => f.id),
      [created.id],
    );
    const updated = (await ok({ action: "update", feedId: created.id, payload: { title: "Renamed", extract: true, paused: false } })).payload;
    assert.deepEqual([updated.title, updated.extract, updated.paused, updated.keyword], ["Renamed", true, false, "SHOW&1080p"]);
    assert.equal((await ok({ action: "pause", payload: updated })).payload.paused, true, "the feed id may come from msg.payload.id");
    assert.equal((await ok({ action: "resume", feedId: String(created.id) })).payload.paused, false);
    assert.deepEqual((await ok({ action: "delete", feedId: created.id })).payload, { id: created.id, deleted: true });
    assert.deepEqual((await ok({ action: "list" })).payload, []);
  });

  it("the feed runs on put.io's side: item log, failed item retry, retry-all, clear the log", async () => {
    await load();
    const created = (await ok({ action: "create", payload: { title: "Show", rss_source_url: feed.url, keyword: "1080p", unwanted_keywords: "CAM" } })).payload;
    await rig.emu.advance(1000);
    let log = (await ok({ action: "items", feedId: created.id })).payload;
    assert.deepEqual(log.items.map((i: any) => [i.title, i.is_failed]).sort(), [
      ["Broken.1080p", true],
      ["Show.S01E01.1080p", false],
    ]);
    assert.equal(rig.emu.state.transfers().length, 1);
    const failed = log.items.find((i: any) => i.is_failed);
    log = (await ok({ action: "retry", feedId: created.id, itemId: failed.id })).payload;
    assert.equal(log.items.find((i: any) => i.id === failed.id).failure_reason, "Unsupported URL", "still failing: its URL is unsupported");
    log = (await ok({ action: "retry-all", feedId: created.id })).payload;
    assert.equal(log.feed.failed_item_count, 1);
    log = (await ok({ action: "clear-log", feedId: created.id })).payload;
    assert.deepEqual(log.items, []);
    // A retry of an item that has not failed: put.io refuses it; the error reaches the Catch node.
    feed.items.push({ title: "Good.1080p", url: "magnet:?xt=urn:btih:" + "c".repeat(40) });
    await rig.emu.advance(60_000);
    const good = (await ok({ action: "items", feedId: created.id })).payload.items[0];
    const refused = await send({ action: "retry", feedId: created.id, itemId: good.id });
    assert.match(refused.caught.error.message, /retry item .* failed: .*HTTP 400/);
  });

  it("put.io's refusals and bad input reach a Catch node with clear texts", async () => {
    await load();
    feed.body = "not a feed";
    const cases: Array<[object, RegExp]> = [
      [{ action: "create", payload: { title: "x", rss_source_url: feed.url } }, /FEED_CANNOT_PARSED/],
      [{ action: "create", payload: { rss_source_url: feed.url } }, /needs a title/],
      [{ action: "create", payload: { title: "x", rss_source_url: "ftp://x" } }, /not an http\(s\) feed URL/],
      [{ action: "get", feedId: 424242 }, /get RSS feed 424242 failed: .*NotFound, HTTP 404/],
      [{ action: "get" }, /no feed id/],
      [{ action: "delete", feedId: "abc" }, /not a valid feed id/],
      [{ action: "update", feedId: 1, payload: { extract: "yes" } }, /extract must be true or false/],
      [{ action: "explode" }, /unknown action/],
    ];
    for (const [msg, re] of cases) {
      const m = await send(msg);
      assert.ok(m.caught, `${JSON.stringify(msg)} should fail`);
      assert.match(m.caught.error.message, re);
    }
    // The status said it in words, not as put.io's error type ("feed cannot parsed").
    await statusMatching("rss", (s) => s.fill === "red" && s.text === "the feed could not be read");
  });
});
