// The official @putdotio/api-client (putio-js) against the emulator: its calls succeed and the parsed
// results carry the fields its type declarations promise.
import * as assert from "node:assert/strict";
import { Emulator, startEmulator } from "./emulator";

const PutioAPI = require("@putdotio/api-client").default;

function hasKeys(obj: any, keys: string[], what: string): void {
  for (const k of keys) assert.ok(obj && k in obj, `${what} lacks ${k}`);
}

const FILE_KEYS = ["id", "parent_id", "name", "size", "file_type", "content_type", "extension", "crc32", "created_at"];
const TRANSFER_KEYS = [
  "availability",
  "created_at",
  "current_ratio",
  "down_speed",
  "downloaded",
  "error_message",
  "estimated_time",
  "file_id",
  "finished_at",
  "id",
  "is_private",
  "name",
  "save_parent_id",
  "seconds_seeding",
  "size",
  "source",
  "started_at",
  "status",
  "type",
  "subscription_id",
  "uploaded",
  "up_speed",
  "callback_url",
  "client_ip",
  "completion_percent",
  "percent_done",
  "created_torrent",
  "download_id",
  "hash",
  "links",
  "peers_connected",
  "peers_getting_from_us",
  "peers_sending_to_us",
  "simulated",
  "torrent_link",
  "tracker",
  "tracker_message",
];
const SETTINGS_KEYS = [
  "beta_user",
  "callback_url",
  "dark_theme",
  "default_download_folder",
  "disable_subtitles",
  "dont_autoselect_subtitles",
  "fluid_layout",
  "hide_subtitles",
  "history_enabled",
  "is_invisible",
  "locale",
  "login_mails_enabled",
  "next_episode",
  "pushover_token",
  "show_optimistic_usage",
  "sort_by",
  "start_from",
  "subtitle_languages",
  "theater_mode",
  "theme",
  "transfer_sort_by",
  "trash_enabled",
  "tunnel_route_name",
  "two_factor_enabled",
  "use_private_download_ip",
  "use_start_from",
  "video_player",
];

describe("conformance: @putdotio/api-client against the emulator", () => {
  let emu: Emulator;
  let api: any;
  beforeEach(async () => {
    emu = await startEmulator({ seed: true });
    api = new PutioAPI({ baseURL: emu.apiUrl + "/v2" });
    api.setToken(emu.token);
  });
  afterEach(async () => emu.close());

  it("Account.Info / Settings / SaveSettings", async () => {
    const info = (await api.Account.Info({ features: 1, intercom: 1 })).body;
    assert.equal(info.status, "OK");
    hasKeys(
      info.info,
      [
        "account_status",
        "avatar_url",
        "can_create_sub_account",
        "disk",
        "features",
        "files_will_be_deleted_at",
        "is_admin",
        "is_eligible_for_friend_invitation",
        "is_sub_account",
        "mail",
        "monthly_bandwidth_usage",
        "password_last_changed_at",
        "private_download_host_ip",
        "settings",
        "trash_size",
        "user_hash",
        "user_id",
        "username",
        "warnings",
      ],
      "info",
    );
    hasKeys(info.info.disk, ["avail", "used", "size"], "disk");
    const settings = (await api.Account.Settings()).body.settings;
    hasKeys(settings, SETTINGS_KEYS, "settings");
    await api.Account.SaveSettings({ sort_by: "DATE_DESC" });
    assert.equal((await api.Account.Settings()).body.settings.sort_by, "DATE_DESC");
  });

  it("Auth.GetCode / CheckCodeMatch / LinkDevice / ValidateToken", async () => {
    const { code } = (await api.Auth.GetCode(4242, "conformance")).body;
    assert.equal((await api.Auth.CheckCodeMatch(code)).body.oauth_token, null);
    const linked = (await api.Auth.LinkDevice(code)).body;
    hasKeys(linked.app, ["id", "name", "description", "website", "has_icon"], "app");
    const token = (await api.Auth.CheckCodeMatch(code)).body.oauth_token;
    const v = (await api.Auth.ValidateToken(token)).body;
    hasKeys(v, ["result", "token_id", "token_scope", "user_id"], "validate");
    assert.equal(v.result, true);
  });

  it("Files.Query / Continue / Search / ContinueSearch", async () => {
    const big = emu.state.addFolder(0, "Paged");
    for (let i = 0; i < 7; i++) emu.state.addFile(big.id, `flick ${i}.mkv`, Buffer.from(`m${i}`));
    const first = (await api.Files.Query(big.id, { perPage: 3, total: true, breadcrumbs: true })).body;
    assert.equal(first.total, 7);
    assert.deepEqual(first.breadcrumbs, [[big.id, "Paged"]]);
    first.files.forEach((f: any) => hasKeys(f, FILE_KEYS, "file"));
    const seen = [...first.files];
    let cursor = first.cursor;
    while (cursor) {
      const page = (await api.Files.Continue(cursor, { perPage: 3 })).body;
      seen.push(...page.files);
      cursor = page.cursor;
    }
    assert.equal(seen.length, 7);
    const search = (await api.Files.Search("FLICK", { perPage: 5 })).body;
    hasKeys(search, ["files", "total", "cursor"], "search");
    assert.equal(search.total, 7);
    const rest = (await api.Files.ContinueSearch(search.cursor, { perPage: 5 })).body;
    assert.equal(rest.files.length, 2);
  });

  it("Files.CreateFolder / NewFolder / Move / Delete / DeleteAll; File.Rename / GetStorageURL / Download / Extract", async () => {
    const folder = (await api.Files.CreateFolder({ name: "Made", parentId: 0 })).body.file;
    hasKeys(folder, FILE_KEYS, "folder");
    const other = (await api.Files.NewFolder("Other")).body.file;
    const f = emu.state.addFile(0, "x.zip", Buffer.from("zipzip"));
    await api.File.Rename(f.id, "y.zip");
    assert.deepEqual((await api.Files.Move([f.id], folder.id)).body.errors, []);
    const url = (await api.File.GetStorageURL(f.id)).body.url;
    assert.match(url, /\/download\//);
    const dl = await api.File.Download(f.id); // axios follows the 302 to storage
    assert.equal(dl.status, 200);
    assert.equal(String(dl.data), "zipzip");
    const extraction = (await api.File.Extract(f.id)).body.extractions[0];
    hasKeys(extraction, ["id", "name", "status", "message", "num_parts", "files"], "extraction");
    assert.equal((await api.Files.ExtractStatus()).body.extractions.length, 1);
    const del = (await api.Files.Delete([f.id, 2147483647])).body;
    assert.deepEqual([del.skipped, del.cursor], [1, null]);
    const listing = (await api.Files.Query(0, { perPage: 1 })).body;
    const all = (await api.Files.DeleteAll(listing.cursor, [other.id], { skipTrash: true })).body;
    assert.equal(all.status, "OK");
    assert.ok(emu.state.getFile(other.id));
  });

  it("Transfers.Add / AddMulti / Get / Query / Continue / Count / Cancel / Retry / ClearAll / Reannounce", async () => {
    const added = (await api.Transfers.Add({ url: "http://example.com/fail-me.bin", save_parent_id: 0 })).body.transfer;
    hasKeys(added, TRANSFER_KEYS, "transfer");
    const multi = (await api.Transfers.AddMulti([{ url: "http://example.com/a.bin" }, { url: "" }])).body;
    assert.equal(multi.transfers.length, 1);
    hasKeys(multi.errors[0], ["url", "status_code", "error_type"], "add-multi error");
    await emu.advance(6000);
    assert.equal((await api.Transfers.Get(added.id)).body.transfer.status, "ERROR");
    assert.equal((await api.Transfers.Retry(added.id)).body.transfer.status, "IN_QUEUE");
    const q = (await api.Transfers.Query({ perPage: 2, total: true })).body;
    hasKeys(q, ["transfers", "total", "cursor"], "transfers list");
    const cont = (await api.Transfers.Continue(q.cursor, { perPage: 2 })).body;
    assert.equal(q.transfers.length + cont.transfers.length, q.total);
    const count = (await api.Transfers.Count()).body.count;
    await api.Transfers.Cancel([added.id]);
    assert.equal((await api.Transfers.Count()).body.count, count - 1);
    const cleaned = (await api.Transfers.ClearAll()).body;
    assert.ok(Array.isArray(cleaned.deleted_ids));
    const reannounce = await api.Transfers.Reannounce(multi.transfers[0].id).catch((e: any) => e);
    assert.equal(reannounce.data.status_code, 400);
  });

  it("Trash.List / Continue / Restore / Delete / Empty", async () => {
    const ids = [0, 1, 2].map((i) => emu.state.addFile(0, `t${i}.txt`, Buffer.from("t")).id);
    await api.Files.Delete(ids);
    const list = (await api.Trash.List({ limit: 2 })).body;
    hasKeys(list, ["files", "cursor", "total", "trash_size"], "trash list");
    const more = (await api.Trash.Continue(list.cursor, { limit: 2 })).body;
    assert.equal(list.files.length + more.files.length, 3);
    await api.Trash.Restore({ ids: [ids[0]] });
    assert.ok(emu.state.getFile(ids[0]));
    await api.Trash.Delete({ ids: [ids[1]] });
    await api.Trash.Empty();
    assert.equal((await api.Trash.List()).body.total, 0);
  });

  it("Config.Read / Write / GetKey / SetKey / DeleteKey and Events.Query", async () => {
    await api.Config.Write({ a: 1 });
    assert.deepEqual((await api.Config.Read()).body.config, { a: 1 });
    await api.Config.SetKey("b", [1, "two"]);
    assert.deepEqual((await api.Config.GetKey("b")).body.value, [1, "two"]);
    await api.Config.DeleteKey("b");
    assert.equal((await api.Config.GetKey("b")).body.value, null);
    hasKeys((await api.Events.Query()).body, ["events", "has_more"], "events");
  });

  it("errors reach the client as put.io envelopes", async () => {
    const err = await api.Files.CreateFolder({ name: "", parentId: 0 }).catch((e: any) => e);
    assert.equal(err.data.error_type, "EMPTY_NAME");
    assert.equal(err.data.status_code, 400);
  });
});

/** Our client and the official one read the same answers: every field ours declares agrees. */
describe("conformance: our client agrees with @putdotio/api-client", () => {
  const { PutioClient, collect } = require("../lib");
  let emu: Emulator;
  let api: any;
  let ours: any;
  beforeEach(async () => {
    emu = await startEmulator({ seed: true });
    api = new PutioAPI({ baseURL: emu.apiUrl + "/v2" });
    api.setToken(emu.token);
    ours = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token });
  });
  afterEach(async () => {
    await ours.close();
    await emu.close();
  });

  /** Every key our parsed object has must equal the official client's value. */
  function agree(mine: any, theirs: any, what: string): void {
    for (const [k, v] of Object.entries(mine))
      assert.deepEqual(v, theirs[k], `${what}.${k}: ours ${JSON.stringify(v)} vs official ${JSON.stringify(theirs[k])}`);
  }

  it("account info and settings", async () => {
    agree(await ours.account.info(), (await api.Account.Info()).body.info, "info");
    agree(await ours.account.settings(), (await api.Account.Settings()).body.settings, "settings");
  });

  it("files: list, get, search", async () => {
    const theirs = (await api.Files.Query(0, { perPage: 1000 })).body;
    const mine = await collect(ours.files.list(0));
    assert.deepEqual(
      mine.map((f: any) => f.id),
      theirs.files.map((f: any) => f.id),
    );
    mine.forEach((f: any, i: number) => agree(f, theirs.files[i], `files[${i}]`));
    const some = mine.find((f: any) => f.file_type !== "FOLDER") ?? mine[0];
    // The official client has no File.Get; its generic get() goes through the same parsing.
    agree(await ours.files.get(some.id), (await api.get(`/files/${some.id}`)).body.file, "file");
    const q = some.name.slice(0, 3);
    const found = await collect(ours.files.search(q));
    const official = (await api.Files.Search(q, { perPage: 1000 })).body.files;
    assert.deepEqual(found.map((f: any) => f.id).sort(), official.map((f: any) => f.id).sort());
  });

  it("transfers: list and get", async () => {
    const mine = await collect(ours.transfers.list());
    const theirs = (await api.Transfers.Query()).body.transfers;
    assert.ok(mine.length > 0);
    assert.deepEqual(
      mine.map((t: any) => t.id),
      theirs.map((t: any) => t.id),
    );
    mine.forEach((t: any, i: number) => agree(t, theirs[i], `transfers[${i}]`));
    agree(await ours.transfers.get(mine[0].id), (await api.Transfers.Get(mine[0].id)).body.transfer, "transfer");
  });

  it("config values written by one are read by the other", async () => {
    await ours.config.set("shared", { n: 1 });
    assert.deepEqual((await api.Config.GetKey("shared")).body.value, { n: 1 });
    await api.Config.SetKey("other", [1, "two"]);
    assert.deepEqual(await ours.config.get("other"), [1, "two"]);
  });
});

/** Zips, RSS and Events as the official client calls them (its JSON bodies, its GET cancel). */
describe("conformance: @putdotio/api-client Zips, RSS, Events", () => {
  const { PutioClient } = require("../lib");

  const { startFeedServer } = require("./support/feed-server");
  let emu: Emulator;
  let api: any;
  let ours: any;
  let feed: any;
  beforeEach(async () => {
    emu = await startEmulator({ seed: true });
    api = new PutioAPI({ baseURL: emu.apiUrl + "/v2" });
    api.setToken(emu.token);
    ours = new PutioClient({ apiUrl: emu.apiUrl, token: emu.token });
    feed = await startFeedServer([{ title: "Show.S01E01", url: "magnet:?xt=urn:btih:" + "e".repeat(40) }]);
  });
  afterEach(async () => {
    await ours.close();
    await feed.close();
    await emu.close();
  });

  it("Zips.Create / Query / Get / Cancel; our client reads the same zip", async () => {
    const f = emu.state.addFile(0, "z.txt", Buffer.from("zip me"));
    const { zip_id } = (await api.Zips.Create({ ids: [f.id] })).body;
    assert.equal(typeof zip_id, "number");
    assert.deepEqual(
      (await api.Zips.Query()).body.zips.map((z: any) => z.id),
      [zip_id],
    );
    await emu.advance(3000);
    const theirs = (await api.Zips.Get(zip_id)).body;
    hasKeys(theirs, ["zip_status", "url", "size", "missing_files"], "zip");
    const mine = await ours.zips.get(zip_id);
    for (const k of ["zip_status", "url", "size", "missing_files"]) assert.deepEqual(mine[k], theirs[k], k);
    await api.Zips.Cancel(zip_id);
    const gone = await api.Zips.Get(zip_id).catch((e: any) => e);
    assert.equal(gone.data.error_type, "LINK_EXPIRED");
  });

  it("RSS.Create / Query / Get / Update / Pause / Resume / Logs / RetryItem / ClearLogs / Delete; our client agrees", async () => {
    const params = {
      title: "Show",
      rss_source_url: feed.url,
      parent_dir_id: 0,
      delete_old_files: false,
      keyword: "Show",
      unwanted_keywords: "",
      dont_process_whole_feed: false,
    };
    const created = (await api.RSS.Create(params)).body.feed;
    hasKeys(
      created,
      [
        "created_at",
        "delete_old_files",
        "extract",
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
      ],
      "feed",
    );
    assert.equal((await api.RSS.Query()).body.feeds.length, 1);
    await api.RSS.Update(created.id, { ...params, title: "Renamed", delete_old_files: true });
    const theirs = (await api.RSS.Get(created.id)).body.feed;
    assert.deepEqual([theirs.title, theirs.delete_old_files], ["Renamed", true]);
    const mine = await ours.rss.get(created.id);
    for (const [k, v] of Object.entries(mine)) assert.deepEqual(v, theirs[k], k);
    await api.RSS.Pause(created.id);
    assert.equal((await ours.rss.get(created.id)).paused, true);
    await api.RSS.Resume(created.id);
    await emu.advance(1000);
    const logs = (await api.RSS.Logs(created.id)).body;
    hasKeys(logs.items[0], ["detected_date", "id", "publish_date", "title", "processed_at", "is_failed", "user_file_id"], "item");
    const retry = await api.RSS.RetryItem(created.id, logs.items[0].id).catch((e: any) => e);
    assert.equal(retry.data.status_code, 400, "an item that has not failed");
    await api.RSS.ClearLogs(created.id);
    assert.deepEqual((await ours.rss.items(created.id)).items, []);
    await api.RSS.Delete(created.id);
    assert.deepEqual(await ours.rss.list(), []);
  });

  it("Events.Query / Delete / Clear; our client reads the same events", async () => {
    emu.state.addTransfer({ url: "http://example.com/e.bin", status: "COMPLETED" });
    const zip = emu.state.addFile(0, "e.txt", Buffer.from("e"));
    await api.Zips.Create({ ids: [zip.id] });
    await emu.advance(3000);
    const theirs = (await api.Events.Query()).body.events;
    assert.ok(theirs.length >= 2);
    const mine = (await ours.events.page()).events;
    assert.deepEqual(
      mine.map((e: any) => e.id),
      theirs.map((e: any) => e.id),
    );
    mine.forEach((e: any, i: number) => {
      for (const [k, v] of Object.entries(e)) assert.deepEqual(v, theirs[i][k], `${k}`);
    });
    await api.Events.Delete(theirs[0].id);
    assert.equal((await ours.events.page()).events.length, theirs.length - 1);
    await api.Events.Clear();
    assert.deepEqual((await ours.events.page()).events, []);
  });
});
