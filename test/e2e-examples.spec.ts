/**
 * The example flows, deployed as users import them into real Node-RED (4.1, the packed package), with the
 * account pointed at the emulator, and checked against what their comment promises. The flows are used as
 * shipped; the only rewrites are the account (emulator URLs and token), debug nodes also printing to the
 * Node-RED log (so the tests read the notifications a user would see), and endpoints that live outside
 * Node-RED (Jellyfin's URL, the RSS feed, the local file to upload). NAS_DIR and JELLYFIN_TOKEN come from
 * the environment of the Node-RED process, as the comments tell users to set them.
 * mqtt-magnet.json runs through a real broker in e2e-palette.spec.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { startEmulator, type Emulator } from "./emulator";
import { DISK_SIZE, ROOT_ID } from "./emulator/state";
import type { Page } from "playwright-core";
import { openEditor, screenshotPath, type Browser } from "./e2e/editor";
import { nodeBox } from "./support/node-box";
import { accountNode, FLAVORS, freePort, MODULE, requireSetup, ROOT, startNodeRed, waitFor, type FlowNode, type NodeRed } from "./e2e/harness";

declare const RED: any;
declare const $: any;

const DAY = 86_400_000;
const GiB = 1024 ** 3;
const JELLYFIN_TOKEN = "jf-secret-token";
const FEED = `<?xml version="1.0"?><rss version="2.0"><channel><title>e2e</title>
<item><title>My.Show.S01E01.1080p</title><guid>e2e-1</guid><link>magnet:?xt=urn:btih:00000000000000000000000000000000000000e1</link></item>
</channel></rss>`;

/** The user's one put.io account, on the emulator. */
const USER_ACCOUNT = "user-account";

/**
 * An example as shipped, imported next to the user's one account on the emulator (its put.io nodes
 * get that account, as the editor's import gives it: see "importing examples in the editor"), its
 * debug nodes also writing to the log.
 */
function example(name: string, emu: Emulator): FlowNode[] {
  const flow = JSON.parse(fs.readFileSync(path.join(ROOT, "examples", `${name}.json`), "utf8")) as FlowNode[];
  assert.ok(!flow.some((n) => n.type === "tab"), `${name}: examples carry no tab (they are imported into the current one)`);
  // Nodes that arrive disabled (they need the user's settings) are enabled, as the user does after setting them.
  const imported = flow
    .map(({ d, ...n }) => (void d, n as FlowNode))
    .map((n) => {
      if (n.type.startsWith("putio-") && n.account === "") return { ...n, account: USER_ACCOUNT };
      if (n.type === "debug") return { ...n, console: true };
      return n;
    });
  return [accountNode(USER_ACCOUNT, emu, emu.token), ...imported];
}

/** The put.io folder at /a/b/…, made when missing (the emulator lives through several tests). */
function folderAt(emu: Emulator, ...names: string[]): { id: number } {
  let id = ROOT_ID;
  for (const name of names) id = (emu.state.listChildren(id).find((f) => f.name === name) ?? emu.state.addFolder(id, name)).id;
  return { id };
}

function only(flow: FlowNode[], pred: (n: FlowNode) => boolean, what: string): FlowNode {
  const found = flow.filter(pred);
  assert.equal(found.length, 1, `expected exactly one ${what}`);
  return found[0];
}

const named = (name: string) => (n: FlowNode) => n.name === name;

/** What the debug node `name` printed (its console output) since log offset `from`. */
function debugOutputs(nr: NodeRed, name: string, from: number): string[] {
  const log = nr.log.slice(from);
  const marker = `[debug:${name}] `;
  const out: string[] = [];
  for (let i = log.indexOf(marker); i >= 0; i = log.indexOf(marker, i + marker.length)) {
    const rest = log.slice(i + marker.length);
    const end = rest.search(/\n\d{1,2} \w{3} \d\d:\d\d:\d\d - \[/);
    out.push((end < 0 ? rest : rest.slice(0, end)).trim());
  }
  return out;
}

/** Every file under `dir` (relative path → bytes), .part files included. */
function filesUnder(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const rel of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const p = path.join(dir, rel);
    if (fs.statSync(p).isFile()) out.set(rel, fs.readFileSync(p));
  }
  return out;
}

interface Deletion {
  id: number;
  name: string;
  /** put.io's bytes of the file, read as it was deleted. */
  bytes: Buffer | null;
  /** The NAS at the moment put.io deleted the file. */
  nas: Map<string, Buffer>;
}

/** Records every file put.io deletes (to the trash or for good), with the NAS as it was at that moment. */
function recordDeletions(emu: Emulator, nas: string): Deletion[] {
  const deletions: Deletion[] = [];
  const state = emu.state;
  for (const method of ["moveToTrash", "destroy"] as const) {
    const original = state[method].bind(state);
    state[method] = (user, node) => {
      const json = state.getFile(node.id);
      const isFile = !!json && json.file_type !== "FOLDER";
      deletions.push({ id: node.id, name: node.name, bytes: isFile ? state.fileBytes(node.id) : null, nas: filesUnder(nas) });
      original(user, node);
    };
  }
  return deletions;
}

async function putio<T>(emu: Emulator, method: string, route: string, form?: Record<string, string>): Promise<T> {
  const res = await fetch(emu.apiUrl + route, {
    method,
    headers: { authorization: `token ${emu.token}` },
    body: form ? new URLSearchParams(form) : undefined,
  });
  assert.equal(res.status, 200, `${method} ${route}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

describe("examples as shipped @e2e", () => {
  const files = fs.readdirSync(path.join(ROOT, "examples")).filter((f) => f.endsWith(".json"));
  for (const file of files) {
    it(`${file}: no tab, a comment, no account node of its own: its put.io nodes use the user's account`, () => {
      const flow = JSON.parse(fs.readFileSync(path.join(ROOT, "examples", file), "utf8")) as FlowNode[];
      assert.ok(Array.isArray(flow));
      assert.ok(!flow.some((n) => n.type === "tab" || "z" in n), "imported into the current tab: no tab node, no z");
      assert.ok(
        flow.some((n) => n.type === "comment" && String(n.name ?? "").length > 0 && String(n.info ?? "").length > 0),
        "a comment saying what it does and what to set",
      );
      // An account node in an example clashes with the user's (and with every other example's) on import.
      assert.deepEqual(
        flow.filter((n) => n.type === "putio-account").map((n) => n.id),
        [],
      );
      const putio = flow.filter((x) => x.type.startsWith("putio-"));
      assert.ok(putio.length > 0);
      for (const n of putio) assert.equal(n.account, "", `${n.id}: the account is left empty, for the editor to fill in on import`);
      assert.ok(!/accessToken|credentials/.test(JSON.stringify(flow)));
      const ids = new Set(flow.map((n) => n.id));
      assert.equal(ids.size, flow.length, "unique ids");
      for (const n of flow)
        for (const out of (n.wires as string[][] | undefined) ?? []) for (const to of out) assert.ok(ids.has(to), `${n.id} is wired to missing ${to}`);
    });
  }
});

describe("e2e examples in real Node-RED 4.1 (packed package) @e2e", function () {
  this.timeout(120_000);
  let emu: Emulator;
  let nr: NodeRed;
  let nas: string;
  let scratch: string;
  let outside: http.Server;
  let outsideUrl: string;
  let deletions: Deletion[];
  const refreshes: Array<{ method?: string; url?: string; token?: string | string[]; nas: Map<string, Buffer> }> = [];

  before(async () => {
    requireSetup("node22", "nr5", "chromium");
    emu = await startEmulator({ realtimeClock: true });
    nas = fs.mkdtempSync(path.join(os.tmpdir(), "putio-nas-"));
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "putio-examples-"));
    deletions = recordDeletions(emu, nas);
    // The world outside Node-RED: Jellyfin (records refreshes and what the NAS held then) and an RSS feed.
    outside = http.createServer((req, res) => {
      if (req.url === "/feed.xml") {
        res.setHeader("content-type", "application/rss+xml");
        res.end(FEED);
        return;
      }
      refreshes.push({ method: req.method, url: req.url, token: req.headers["x-emby-token"], nas: filesUnder(nas) });
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => outside.listen(0, "127.0.0.1", r));
    outsideUrl = `http://127.0.0.1:${(outside.address() as AddressInfo).port}`;
    nr = await startNodeRed({ flavor: FLAVORS.nr4, env: { NAS_DIR: nas, JELLYFIN_TOKEN } });
  });

  beforeEach(() => {
    for (const e of fs.readdirSync(nas)) fs.rmSync(path.join(nas, e), { recursive: true, force: true });
    deletions.length = 0;
  });

  after(async () => {
    nr?.kill();
    await new Promise((r) => outside?.close(r));
    await emu?.close();
    for (const d of [nas, scratch]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Deploys and waits until the flow's watchers have connected and read put.io once (so they see what follows). */
  async function deployWatching(flow: FlowNode[], firstRead: string): Promise<void> {
    const start = emu.requests.length;
    await nr.deploy(flow);
    await waitFor(() => emu.requests.slice(start).some((r) => r.path === firstRead && r.status === 200), `the first ${firstRead}`);
    await waitFor(() => emu.socketCount() > 0, "the account's socket");
  }

  it("download-to-nas-jellyfin: a finished transfer lands byte-identical on the NAS, is deleted from put.io only once on disk, then Jellyfin refreshes with its token", async () => {
    const flow = example("download-to-nas-jellyfin", emu);
    const refresh = only(flow, (n) => n.type === "http request", "http request node");
    assert.equal(refresh.method, "POST");
    assert.equal(refresh.url, "http://jellyfin:8096/Library/Refresh");
    refresh.url = `${outsideUrl}/Library/Refresh`;
    const from = nr.log.length;
    await deployWatching(flow, "/v2/transfers/list");

    // The example watches its own put.io folder, /NAS/Movies, and copies into NAS_DIR/Movies.
    const movies = folderAt(emu, "NAS", "Movies");
    const t = emu.state.addTransfer({
      url: "magnet:?xt=urn:btih:00000000000000000000000000000000000000aa&dn=Film.2026.mkv",
      name: "Film.2026.mkv",
      saveParentId: movies.id,
    });
    const note = await waitFor(() => debugOutputs(nr, "notify", from)[0], "the notification");
    assert.equal(emu.state.getTransfer(t.id), undefined, "the finished transfer is removed from put.io's list");

    // put.io deleted exactly the transfer's file, and at that moment the verified copy was at its final name.
    assert.equal(deletions.length, 1, JSON.stringify(deletions.map((d) => d.name)));
    const [del] = deletions;
    assert.equal(del.name, "Film.2026.mkv");
    assert.ok(del.bytes && del.bytes.length > 0);
    const film = path.join("Movies", "Film.2026.mkv");
    assert.deepEqual([...del.nas.keys()], [film], "at the delete the NAS held only the final file (no .part)");
    assert.ok(del.nas.get(film)!.equals(del.bytes), "the NAS copy is byte-identical to put.io's");
    assert.equal(emu.state.getFile(del.id), undefined, "gone from put.io");

    // Jellyfin: one POST /Library/Refresh with the token from JELLYFIN_TOKEN, after the file was in place.
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].method, "POST");
    assert.equal(refreshes[0].url, "/Library/Refresh");
    assert.equal(refreshes[0].token, JELLYFIN_TOKEN);
    assert.ok(refreshes[0].nas.get(film)?.equals(del.bytes), "Jellyfin was asked to rescan once the file was there");
    assert.deepEqual([...filesUnder(nas).keys()], [film]);

    assert.match(note, /^\/NAS\/Movies\/Film\.2026\.mkv: 1 file\(s\) copied to the NAS, Jellyfin is rescanning$/);
  });

  it("download-to-nas-jellyfin: with Jellyfin unreachable the file still lands and the notification says so (no JSONata type error)", async () => {
    const flow = example("download-to-nas-jellyfin", emu);
    const refresh = only(flow, (n) => n.type === "http request", "http request node");
    refresh.url = `http://127.0.0.1:${await freePort()}/Library/Refresh`; // nothing listens there
    const from = nr.log.length;
    await deployWatching(flow, "/v2/transfers/list");
    const movies = folderAt(emu, "NAS", "Movies");
    emu.state.addTransfer({
      url: "magnet:?xt=urn:btih:00000000000000000000000000000000000000ab&dn=Offline.Jellyfin.mkv",
      name: "Offline.Jellyfin.mkv",
      saveParentId: movies.id,
    });
    const note = await waitFor(() => debugOutputs(nr, "notify", from)[0], "the notification");
    assert.match(note, /^\/NAS\/Movies\/Offline\.Jellyfin\.mkv: 1 file\(s\) copied to the NAS, Jellyfin unreachable \(ECONNREFUSED\)$/);
    assert.deepEqual([...filesUnder(nas).keys()], [path.join("Movies", "Offline.Jellyfin.mkv")]);
    assert.doesNotMatch(nr.log.slice(from), /T20\d\d|must be of the same data type|Invalid JSONata/);
    assert.equal(debugOutputs(nr, "notify", from).length, 1, "one notification, not a second one from the catch path");
  });

  it("webhook-magnet: a POST creates a transfer and answers with it; a bad magnet answers 400 and adds nothing", async () => {
    await nr.deploy(example("webhook-magnet", emu));
    const before = emu.state.transfers().length;
    const res = await fetch(`${nr.url}/putio/magnet`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "magnet:?xt=urn:btih:00000000000000000000000000000000000000bb&dn=Webhook",
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { id: number; name: string };
    assert.equal(emu.state.transfers().length, before + 1);
    const created = emu.state.getTransfer(body.id);
    assert.ok(created, "the answer is the created transfer");
    assert.equal(created.name, body.name);
    assert.match(String(created.source), /btih:0{38}bb/);

    const bad = await fetch(`${nr.url}/putio/magnet`, { method: "POST", headers: { "content-type": "text/plain" }, body: "magnet:?xt=urn:btih:nope" });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /info-hash/);
    assert.equal(emu.state.transfers().length, before + 1);

    // A list with a good and a bad item: the good one is added, and the one answer is the 400
    // (before, the output answered 200 and the Catch path tried to answer again).
    const mixed = await fetch(`${nr.url}/putio/magnet`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(["magnet:?xt=urn:btih:00000000000000000000000000000000000000bc&dn=Mixed", "magnet:?xt=urn:btih:nope"]),
    });
    assert.equal(mixed.status, 400);
    assert.match(((await mixed.json()) as { error: string }).error, /1 of 2 item\(s\) failed/);
    assert.equal(emu.state.transfers().length, before + 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!/headers after they are sent|ERR_HTTP_HEADERS_SENT|No response object/i.test(nr.log), "answered once");
  });

  it("nightly-offload: the preview lists, and the 03:00 run offloads, only week-old videos; each is deleted from put.io only once verified on disk", async () => {
    const completed = emu.state.addFolder(0, "Completed");
    const tenDaysAgo = new Date(Date.now() - 10 * DAY);
    const old = emu.state.addFile(completed.id, "Old.Movie.mkv", { size: 3_000_000, seed: 7 }, { createdAt: tenDaysAgo });
    const season = emu.state.addFolder(completed.id, "Show S01");
    const oldEpisode = emu.state.addFile(season.id, "Show.S01E01.mkv", { size: 1_500_000, seed: 9 }, { createdAt: tenDaysAgo });
    const fresh = emu.state.addFile(completed.id, "New.Movie.mkv", { size: 2_000_000, seed: 8 });
    const notes = emu.state.addFile(completed.id, "old-notes.txt", Buffer.from("keep"), { createdAt: tenDaysAgo });
    const flow = example("nightly-offload", emu);
    const nightly = only(flow, (n) => n.type === "inject" && !!n.crontab, "scheduled inject");
    assert.match(String(nightly.crontab), /^0?0 0?3 \* \* \*$/, "runs daily at 03:00");
    const preview = only(flow, named("preview"), "preview inject");
    const from = nr.log.length;
    const start = emu.requests.length;
    await nr.deploy(flow);

    assert.equal((await nr.api("POST", `/inject/${preview.id}`)).status, 200);
    const listed = await waitFor(() => debugOutputs(nr, "would offload", from).find((o) => /\]\s*$/.test(o)), "the preview");
    assert.match(listed, /Old\.Movie\.mkv/);
    assert.match(listed, /Show\.S01E01\.mkv/);
    assert.doesNotMatch(listed, /New\.Movie\.mkv|old-notes\.txt/);
    assert.equal(deletions.length, 0, "the preview deletes nothing");

    assert.equal((await nr.api("POST", `/inject/${nightly.id}`)).status, 200);
    const summary = await waitFor(() => debugOutputs(nr, "offload result", from)[0], "the offload summary");
    assert.equal(summary, "Offload: 2 downloaded, 0 already on the NAS, 2 deleted from put.io, 0 failed");

    const want = new Map([
      [old.id, emu.state.fileBytes(old.id)],
      [oldEpisode.id, emu.state.fileBytes(oldEpisode.id)],
    ]);
    assert.deepEqual(deletions.map((d) => d.id).sort(), [...want.keys()].sort(), "exactly the two old videos are deleted");
    // The folder is mirrored: NAS_DIR/Completed/…, subfolders kept.
    assert.deepEqual([...filesUnder(nas).keys()].sort(), [path.join("Completed", "Old.Movie.mkv"), path.join("Completed", "Show S01", "Show.S01E01.mkv")]);
    for (const d of deletions) {
      const local = [...d.nas.entries()].find(([rel]) => path.basename(rel) === d.name);
      assert.ok(local, `${d.name} was on the NAS when put.io deleted it`);
      assert.ok(!local[0].endsWith(".part"));
      assert.ok(local[1].equals(want.get(d.id)!), `${d.name} was byte-identical when put.io deleted it`);
      assert.ok(d.bytes?.equals(want.get(d.id)!));
    }
    for (const f of [fresh, notes]) assert.ok(emu.state.getFile(f.id), `${f.name} stays on put.io`);
    const reads = emu.requests.slice(start).filter((r) => r.path.startsWith("/download/"));
    assert.ok(reads.length > 0);
    assert.ok(!reads.some((r) => r.path === `/download/${fresh.id}` || r.path === `/download/${notes.id}`), "nothing else is downloaded");
  });

  it("transfer-actions: a failed transfer is retried via the watch; the 04:00 clean removes finished transfers", async () => {
    const flow = example("transfer-actions", emu);
    const clean = only(flow, (n) => n.type === "inject" && !!n.crontab, "scheduled inject");
    const from = nr.log.length;
    await deployWatching(flow, "/v2/transfers/list");
    const start = emu.requests.length;

    const broken = emu.state.addTransfer({ url: "magnet:?xt=urn:btih:00000000000000000000000000000000000000cc&dn=Broken", name: "Broken" });
    emu.state.setTransferStatus(broken.id, "ERROR", { error_message: "tracker said no" });
    await waitFor(
      () => emu.requests.slice(start).some((r) => r.method === "POST" && r.path === "/v2/transfers/retry" && r.status === 200),
      "POST /v2/transfers/retry",
    );
    assert.notEqual(emu.state.getTransfer(broken.id)?.status, "ERROR", "the failed transfer was retried");

    const finished = emu.state.addTransfer({ url: "magnet:?xt=urn:btih:00000000000000000000000000000000000000dd&dn=Done", name: "Done" });
    emu.state.setTransferStatus(finished.id, "COMPLETED");
    assert.equal((await nr.api("POST", `/inject/${clean.id}`)).status, 200);
    const cleaned = await waitFor(() => debugOutputs(nr, "result", from).find((o) => /deleted_ids/.test(o) && o.trim().endsWith("}")), "the clean result");
    assert.match(cleaned, new RegExp(`\\b${finished.id}\\b`));
    assert.equal(emu.state.getTransfer(finished.id), undefined, "the finished transfer left the list");
  });

  it("disk-space-alert: below 50 GB free the hourly check sends the alert text", async () => {
    const flow = example("disk-space-alert", emu);
    const hourly = only(flow, (n) => n.type === "inject" && !!n.crontab, "scheduled inject");
    assert.equal(hourly.crontab, "0 * * * *");
    // The emulator's plan is 1 TiB: a real filler file would make it hash a terabyte for its CRC32, so the
    // account's used space (the root folder's size) is raised instead, to leave 20 GiB free.
    const state = emu.state;
    const sizeOf = state.sizeOf.bind(state);
    const used = (await putio<{ info: { disk: { used: number } } }>(emu, "GET", "/v2/account/info")).info.disk.used;
    state.sizeOf = (node) => sizeOf(node) + (node.id === ROOT_ID ? DISK_SIZE - used - 20 * GiB : 0);
    try {
      const from = nr.log.length;
      await nr.deploy(flow);
      assert.equal((await nr.api("POST", `/inject/${hourly.id}`)).status, 200);
      const alert = await waitFor(() => debugOutputs(nr, "alert", from)[0], "the alert");
      const free = Number(/^put\.io is almost full: (\d+(?:\.\d)?) GB free$/.exec(alert)?.[1]);
      assert.ok(free > 0 && free < 50, alert);
    } finally {
      state.sizeOf = sizeOf;
    }
  });

  it("zip-and-share: the folder is zipped and its link, which needs no login, is published", async () => {
    // The folder the example zips is one the sandbox's library has.
    const movies = emu.state.listChildren(0).find((f) => f.name === "Movies") ?? emu.state.addFolder(0, "Movies");
    emu.state.addFile(movies.id, "a.mkv", Buffer.alloc(10_000, 1));
    emu.state.addFile(movies.id, "b.mkv", Buffer.alloc(20_000, 2));
    const flow = example("zip-and-share", emu);
    const go = only(flow, (n) => n.type === "inject", "inject");
    const from = nr.log.length;
    await nr.deploy(flow);
    assert.equal((await nr.api("POST", `/inject/${go.id}`)).status, 200);
    const text = await waitFor(() => debugOutputs(nr, "publish", from)[0], "the published link");
    const url = /^Your zip is ready: (\S+)$/.exec(text)?.[1];
    assert.ok(url, text);
    const zip = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(zip.subarray(0, 2).toString(), "PK");
    assert.ok(zip.includes(Buffer.from("a.mkv")) && zip.includes(Buffer.from("b.mkv")), "both files are in the zip");
  });

  it("history-and-api: a finished transfer appears as a new event; the api node reads the account settings", async () => {
    const flow = example("history-and-api", emu);
    const read = only(flow, named("read settings"), "read settings inject");
    const from = nr.log.length;
    await deployWatching(flow, "/v2/events/list");
    assert.equal((await nr.api("POST", `/inject/${read.id}`)).status, 200);
    const settings = await waitFor(() => debugOutputs(nr, "settings", from).find((o) => o.trim().endsWith("}")), "the settings");
    assert.match(settings, /trash_enabled: true/);

    const t = emu.state.addTransfer({ url: "magnet:?xt=urn:btih:00000000000000000000000000000000000000ee&dn=Eventful", name: "Eventful" });
    emu.state.setTransferStatus(t.id, "COMPLETED");
    const event = await waitFor(
      () => debugOutputs(nr, "new events", from).find((o) => /Eventful/.test(o) && o.trim().endsWith("}")),
      "the transfer_completed event",
    );
    assert.match(event, /type: 'transfer_completed'/);
  });

  it("rss-feeds: the create button adds the feed to put.io, the list button lists it", async () => {
    const flow = example("rss-feeds", emu);
    const feed = only(flow, (n) => n.type === "putio-rss" && n.action === "create", "create node");
    feed.sourceUrl = `${outsideUrl}/feed.xml`;
    const create = only(flow, named("create feed"), "create inject");
    const list = only(flow, named("list feeds"), "list inject");
    const from = nr.log.length;
    await nr.deploy(flow);
    assert.equal((await nr.api("POST", `/inject/${create.id}`)).status, 200);
    await waitFor(() => debugOutputs(nr, "feeds", from).find((o) => o.trim().endsWith("}")), "the created feed");
    const feeds = (await putio<{ feeds: Array<{ id: number; title: string; keyword: string; rss_source_url: string }> }>(emu, "GET", "/v2/rss/list")).feeds;
    const mine = feeds.find((f) => f.title === "My show");
    assert.ok(mine, JSON.stringify(feeds));
    assert.equal(mine.keyword, feed.keyword);
    assert.equal(mine.rss_source_url, feed.sourceUrl);
    assert.equal((await nr.api("POST", `/inject/${list.id}`)).status, 200);
    await waitFor(() => debugOutputs(nr, "feeds", from).find((o) => o.trim().startsWith("[") && /My show/.test(o) && o.trim().endsWith("]")), "the feed list");
  });

  it("upload-and-tidy: the local file is uploaded into /Backups; tidy moves every .nfo under /Completed into /Completed/nfo", async () => {
    const local = path.join(scratch, "backup.tar");
    fs.writeFileSync(local, Buffer.alloc(300_000, 5));
    const flow = example("upload-and-tidy", emu);
    const upload = only(flow, named("upload"), "upload inject");
    assert.equal(upload.payload, "/data/backup.tar");
    upload.payload = local;
    const uploader = only(flow, (n) => n.type === "putio-upload", "upload node");
    assert.equal(uploader.root, "/data", "the example limits uploads to /data");
    uploader.root = scratch;
    const tidy = only(flow, named("tidy"), "tidy inject");
    const completed = emu.state.listChildren(0).find((f) => f.name === "Completed") ?? emu.state.addFolder(0, "Completed");
    const show = emu.state.addFolder(completed.id, "Show");
    const a = emu.state.addFile(completed.id, "film.nfo", Buffer.from("a"));
    const b = emu.state.addFile(show.id, "ep.nfo", Buffer.from("b"));
    const keep = emu.state.addFile(show.id, "ep.mkv", Buffer.alloc(1000, 1));
    const from = nr.log.length;
    await nr.deploy(flow);

    assert.equal((await nr.api("POST", `/inject/${upload.id}`)).status, 200);
    await waitFor(() => debugOutputs(nr, "uploaded", from).find((o) => /backup\.tar/.test(o) && o.trim().endsWith("}")), "the upload result");
    const backups = emu.state.listChildren(0).find((f) => f.name === "Backups");
    assert.ok(backups, "/Backups was created");
    const up = emu.state.listChildren(backups.id).find((f) => f.name === "backup.tar");
    assert.ok(up);
    assert.ok(emu.state.fileBytes(up.id).equals(fs.readFileSync(local)), "the upload is byte-identical");

    assert.equal((await nr.api("POST", `/inject/${tidy.id}`)).status, 200);
    const nfo = await waitFor(() => emu.state.listChildren(completed.id).find((f) => f.name === "nfo"), "/Completed/nfo");
    await waitFor(() => emu.state.listChildren(nfo.id).length === 2, "both .nfo files in /Completed/nfo");
    assert.deepEqual(
      emu.state
        .listChildren(nfo.id)
        .map((f) => f.id)
        .sort(),
      [a.id, b.id].sort(),
    );
    assert.equal(emu.state.getFile(keep.id)?.parent_id, show.id, "other files stay");
  });
});

describe("importing examples in the editor (headless Chromium, Node-RED 4.1) @e2e", function () {
  this.timeout(180_000);
  let emu: Emulator;
  let nr: NodeRed;
  let browser: Browser | undefined;
  const files = fs.readdirSync(path.join(ROOT, "examples")).filter((f) => f.endsWith(".json"));

  before(async () => {
    requireSetup("chromium");
    emu = await startEmulator({ realtimeClock: true });
    nr = await startNodeRed({ flavor: FLAVORS.nr4 });
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });

  after(async () => {
    nr?.kill();
    await emu?.close();
  });

  /** Imports an example as Menu > Import > Examples does (same library route, same import call); returns the conflict, if any. */
  function importExample(page: Page, name: string): Promise<string | null> {
    return page.evaluate(
      async ({ module, name }) => {
        const data = await $.get(`library/examples/flows/${module}/${name}`);
        try {
          RED.view.importNodes(data, { generateIds: false, addFlow: false });
          return null;
        } catch (err) {
          // The import dialog shows its "nodes already exist" notification for exactly this error.
          return String((err as { code?: string; message?: string }).code ?? (err as Error).message);
        }
      },
      { module: MODULE, name },
    );
  }

  /** Every put.io flow node in the editor: its account and whether the editor deems it valid. */
  function putioNodes(page: Page): Promise<Array<{ id: string; type: string; account: string; valid: boolean; user: boolean }>> {
    return page.evaluate(() =>
      RED.nodes
        .filterNodes({})
        .filter((n: any) => /^putio-/.test(n.type))
        .map((n: any) => {
          const acc = RED.nodes.node(n.account);
          return { id: n.id, type: n.type, account: n.account, valid: n.valid !== false, user: !!acc && acc.users.includes(n) };
        }),
    );
  }

  it("every example, imported one after another next to the user's one account: no clash, every put.io node uses that account; Deploy runs them", async () => {
    await nr.deploy([{ id: "e2e-tab", type: "tab", label: "mine" }, accountNode(USER_ACCOUNT, emu, emu.token)]);
    browser = await openEditor(nr.url);
    const { page } = browser;
    const chart = await page.locator("#red-ui-workspace-chart").boundingBox();
    assert.ok(chart);
    for (const [i, file] of files.entries()) {
      const conflict = await importExample(page, file.replace(/\.json$/, ""));
      assert.equal(conflict, null, `importing ${file} after the others clashed`);
      // The imported nodes follow the mouse until a click puts them down, as after the Import button.
      await page.mouse.move(chart.x + 300, chart.y + 60 + i * 60);
      await page.mouse.click(chart.x + 300, chart.y + 60 + i * 60);
    }
    const accounts: string[] = await page.evaluate(() => {
      const ids: string[] = [];
      RED.nodes.eachConfig((c: any) => void (c.type === "putio-account" && ids.push(c.id)));
      return ids;
    });
    assert.deepEqual(accounts, [USER_ACCOUNT], "still the user's one account");
    const nodes = await putioNodes(page);
    const shipped = files.flatMap((f) =>
      (JSON.parse(fs.readFileSync(path.join(ROOT, "examples", f), "utf8")) as FlowNode[]).filter((n) => n.type.startsWith("putio-")),
    );
    assert.deepEqual(nodes.map((n) => n.id).sort(), shipped.map((n) => n.id).sort());
    for (const n of nodes) {
      assert.equal(n.account, USER_ACCOUNT, `${n.id} (${n.type}) uses the user's account`);
      assert.ok(n.valid, `${n.id} (${n.type}) is valid (no red triangle)`);
      assert.ok(n.user, `${n.id} is counted among the account's users`);
    }
    await page.screenshot({ path: screenshotPath("examples-imported") });

    // The boxes test/examples-layout.spec.ts computes are the editor's own: same height, and the
    // width never smaller than drawn (at most one 20 px grid step wider, from the font's rounding).
    const drawn: Record<string, { w: number; h: number }> = await page.evaluate(() =>
      Object.fromEntries(RED.nodes.filterNodes({}).map((n: any) => [n.id, { w: n.w, h: n.h }])),
    );
    for (const n of files.flatMap((f) => JSON.parse(fs.readFileSync(path.join(ROOT, "examples", f), "utf8")) as FlowNode[])) {
      if (!drawn[n.id]) continue; // config nodes are not drawn
      const box = nodeBox(n);
      const w = box.right - box.left;
      assert.equal(box.bottom - box.top, drawn[n.id].h, `${n.id} "${box.label}": height`);
      assert.ok(w >= drawn[n.id].w && w - drawn[n.id].w <= 20, `${n.id} "${box.label}": computed width ${w}, the editor's ${drawn[n.id].w}`);
    }

    const invalid: string[] = await page.evaluate(() =>
      RED.nodes
        .filterNodes({})
        .filter((n: any) => n.valid === false)
        .map((n: any) => `${n.id} ${n.type} ${JSON.stringify(n.validationErrors ?? [])}`),
    );
    assert.deepEqual(invalid, [], "no node of any example needs fixing before Deploy");
    const started = nr.log.length;
    await page.click("#red-ui-header-button-deploy");
    await waitFor(() => /Started flows/.test(nr.log.slice(started)), "the deploy").catch(async (e) => {
      await page.screenshot({ path: screenshotPath("examples-deploy-failed") });
      const dialogs = await page.evaluate(() => $(".ui-dialog:visible, .red-ui-notification:visible").text());
      throw new Error(`${e.message}: ${dialogs}\n${nr.log.slice(started)}`);
    });
    const deployed = (await nr.api<{ flows: FlowNode[] }>("GET", "/flows", undefined, { "Node-RED-API-Version": "v2" })).body.flows;
    for (const n of deployed.filter((x) => x.type.startsWith("putio-") && x.type !== "putio-account")) assert.equal(n.account, USER_ACCOUNT, n.id);
    assert.doesNotMatch(nr.log.slice(started), /missing config|putio-account.*not found/i);
    await waitFor(() => emu.requests.some((r) => r.path === "/v2/account/info" && r.status === 200), "the account to validate");
    assert.deepEqual(browser.problems, []);
  });

  it("with two accounts the import picks none: the put.io nodes ask for one (the user chooses)", async () => {
    await nr.deploy([
      { id: "e2e-tab", type: "tab", label: "mine" },
      accountNode("account-a", emu, emu.token),
      { ...accountNode("account-b", emu, emu.token), name: "second" },
    ]);
    browser = await openEditor(nr.url);
    assert.equal(await importExample(browser.page, "disk-space-alert"), null);
    const nodes = await putioNodes(browser.page);
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].account, "");
    assert.equal(nodes[0].valid, false, "an empty account is marked for the user to choose");
  });
});
