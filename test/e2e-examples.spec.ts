/**
 * The example flows, deployed as users import them into real Node-RED (4.1, the packed package),
 * with the account pointed at the emulator: each does what its comment says.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { startEmulator, type Emulator } from "./emulator";
import { accountNode, FLAVORS, requireSetup, ROOT, startNodeRed, waitFor, type FlowNode, type NodeRed } from "./e2e/harness";

const DAY = 86_400_000;

function example(name: string, emu: Emulator): FlowNode[] {
  const flow = JSON.parse(fs.readFileSync(path.join(ROOT, "examples", `${name}.json`), "utf8")) as FlowNode[];
  return flow.map((n) => (n.type === "putio-account" ? accountNode(n.id, emu, emu.token) : n));
}

describe("e2e examples in real Node-RED 4.1 (packed package)", function () {
  this.timeout(120_000);
  let emu: Emulator;
  let nr: NodeRed;
  let nas: string;
  let jellyfin: http.Server;
  const refreshes: Array<{ method?: string; url?: string; token?: string | string[] }> = [];

  before(async () => {
    requireSetup("node22", "nr5", "chromium");
    emu = await startEmulator({ realtimeClock: true });
    nas = fs.mkdtempSync(path.join(os.tmpdir(), "putio-nas-"));
    jellyfin = http.createServer((req, res) => {
      refreshes.push({ method: req.method, url: req.url, token: req.headers["x-emby-token"] });
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => jellyfin.listen(0, "127.0.0.1", r));
    const jf = `http://127.0.0.1:${(jellyfin.address() as AddressInfo).port}`;
    nr = await startNodeRed({ flavor: FLAVORS.nr4, env: { NAS_DIR: nas, JELLYFIN_URL: jf, JELLYFIN_TOKEN: "jf-secret-token" } });
  });

  after(async () => {
    nr?.kill();
    await new Promise((r) => jellyfin?.close(r));
    await emu?.close();
    fs.rmSync(nas, { recursive: true, force: true });
  });

  it("download-to-nas-jellyfin: a finished transfer lands byte-identical on the NAS, leaves put.io, and Jellyfin is refreshed with its token", async () => {
    await nr.deploy(example("download-to-nas-jellyfin", emu));
    await waitFor(() => emu.socketCount() > 0, "the watch node's socket");
    await waitFor(() => emu.requests.some((r) => r.path === "/v2/transfers/list" && r.status === 200), "the first reconcile");
    await new Promise((r) => setTimeout(r, 300));
    const t = emu.state.addTransfer({ url: "magnet:?xt=urn:btih:00000000000000000000000000000000000000aa&dn=Film.2026.mkv", name: "Film.2026.mkv" });
    const done = await waitFor(() => {
      const now = emu.state.getTransfer(t.id);
      return now && now.status === "COMPLETED" && typeof now.file_id === "number" ? now : null;
    }, "the transfer to complete in the emulator");
    const fileId = done.file_id as number;
    const expected = emu.state.fileBytes(fileId);
    await waitFor(() => refreshes.length > 0, "Jellyfin's /Library/Refresh");
    assert.equal(refreshes[0].method, "POST");
    assert.equal(refreshes[0].url, "/Library/Refresh");
    assert.equal(refreshes[0].token, "jf-secret-token");
    const landed = fs.readdirSync(nas, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(nas, f)).isFile());
    assert.equal(landed.length, 1, `NAS has ${landed.join(", ")}`);
    assert.deepEqual(fs.readFileSync(path.join(nas, landed[0])), expected);
    assert.ok(!landed[0].endsWith(".part"));
    await waitFor(() => !emu.state.getFile(fileId), "the verified file to be deleted from put.io");
  });

  it("webhook-magnet: a POST creates a transfer and answers with it; a bad magnet answers 400", async () => {
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
    assert.ok(emu.state.getTransfer(body.id));
    const bad = await fetch(`${nr.url}/putio/magnet`, { method: "POST", headers: { "content-type": "text/plain" }, body: "magnet:?xt=urn:btih:nope" });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /info-hash/);
  });

  it("nightly-offload: only the week-old video is downloaded, verified, then deleted from put.io", async () => {
    const completed = emu.state.addFolder(0, "Completed");
    const old = emu.state.addFile(completed.id, "Old.Movie.mkv", Buffer.alloc(300_000, 7), { createdAt: new Date(Date.now() - 10 * DAY) });
    const fresh = emu.state.addFile(completed.id, "New.Movie.mkv", Buffer.alloc(200_000, 8));
    const notes = emu.state.addFile(completed.id, "old-notes.txt", Buffer.from("keep"), { createdAt: new Date(Date.now() - 10 * DAY) });
    const start = emu.requests.length;
    const flow = example("nightly-offload", emu);
    await nr.deploy(flow);
    const inject = flow.find((n) => n.type === "inject" && n.crontab);
    assert.ok(inject);
    const res = await nr.api("POST", `/inject/${inject.id}`);
    assert.equal(res.status, 200);
    await waitFor(() => !emu.state.getFile(old.id), "the old video to be deleted after its download");
    const local = path.join(nas, "Completed", "Old.Movie.mkv");
    const alt = path.join(nas, "Old.Movie.mkv");
    const onDisk = fs.existsSync(local) ? local : alt;
    assert.ok(fs.existsSync(onDisk), "the old video is on the NAS");
    assert.deepEqual(fs.readFileSync(onDisk), Buffer.alloc(300_000, 7));
    assert.ok(emu.state.getFile(fresh.id), "the new video stays on put.io");
    assert.ok(emu.state.getFile(notes.id), "a non-video stays on put.io");
    // Deleted only after it was on disk: the delete request came after the last storage read.
    const mine = emu.requests.slice(start);
    const lastRead = Math.max(...mine.filter((r) => r.path.startsWith("/download/")).map((r) => r.time));
    const del = mine.find((r) => r.path === "/v2/files/delete");
    assert.ok(del && del.time >= lastRead);
  });
});
