/**
 * `npm start` as a user runs it: the sandbox starts, the editor answers, the account validates, the
 * flagship flow runs by itself (a magnet is added, finished by the emulator, downloaded to the NAS
 * folder, deleted from put.io, Jellyfin's stand-in refreshed, a summary in the debug sidebar), the
 * magnet button does it again with a fresh magnet, and Ctrl-C stops everything.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { waitFor } from "./e2e/harness";
import { prepareUserDir, SANDBOX_ACCOUNT_ID } from "../scripts/sandbox";
import { MAGNET_INJECT_ID, PREVIOUS_STARTER_IDS, starterFlow } from "../scripts/sandbox-flow";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Files a user sees in the NAS folder (the download's hidden temp files left out). */
function nasFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => !f.startsWith("."))
    .sort();
}

interface DebugMsg {
  id: string;
  name?: string;
  msg: string;
  format: string;
}

/** The debug sidebar as an editor sees it: Node-RED's comms websocket, topic "debug". */
function watchDebugSidebar(port: number): { messages: DebugMsg[]; open(): boolean; close(): void } {
  const messages: DebugMsg[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  ws.on("open", () => ws.send(JSON.stringify({ subscribe: "debug" })));
  ws.on("message", (data) => {
    const parsed = JSON.parse(String(data)) as Array<{ topic: string; data: DebugMsg }> | { topic: string; data: DebugMsg };
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) if (m.topic === "debug") messages.push(m.data);
  });
  ws.on("error", () => {});
  return { messages, open: () => ws.readyState === WebSocket.OPEN, close: () => ws.close() };
}

describe("sandbox (npm start) @e2e", function () {
  this.timeout(180_000);

  it("runs the flagship flow live: magnet → put.io → NAS → Jellyfin refresh → summary; the magnet button does it again; SIGINT stops all", async () => {
    const port = await freePort();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sandbox-"));
    const nas = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sandbox-nas-"));
    const script = path.join(__dirname, "..", "scripts", "sandbox.js");
    const child = spawn(process.execPath, [script, "--port", String(port), "--userdir", userDir, "--nas", nas], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    let sidebar: ReturnType<typeof watchDebugSidebar> | undefined;
    const limit = 90_000; // generous: the machine may be busy; nothing here measures speed
    try {
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error("sandbox exited early:\n" + out);
          return /Node-RED editor:/.test(out);
        },
        "the editor address",
        limit,
      );
      sidebar = watchDebugSidebar(port);
      await waitFor(() => sidebar!.open(), "the comms socket", limit);
      const editor = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(editor.status, 200);
      assert.match(await editor.text(), /Node-RED/);
      const nodes = (await (await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { accept: "application/json" } })).json()) as Array<{
        module: string;
        types: string[];
        err?: string;
      }>;
      const ours = nodes.filter((n) => n.module === "@putflow/node-red-putio");
      assert.ok(ours.some((n) => n.types.includes("putio-account")));
      for (const n of ours) assert.equal(n.err, undefined, `${n.types} failed to load: ${n.err}`);
      await waitFor(() => /validated its token against the emulator/.test(out), "the account's validation", limit);
      const flows = fs.readFileSync(path.join(userDir, "flows.json"), "utf8");
      assert.ok(!/accessToken/.test(flows), "the token must not be in the flow file");

      // Nobody presses anything: the editor loading its flows (as a browser does) starts the first run,
      // so its summary reaches the sidebar; nothing ran before an editor was there.
      await waitFor(() => /validated its token/.test(out), "the validation", limit);
      assert.deepEqual(nasFiles(nas), []);
      assert.doesNotMatch(out, /the editor connected/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/flows`)).status, 200);
      const [first] = await waitFor(() => (nasFiles(nas).length ? nasFiles(nas) : null), "the first file on the NAS", limit);
      assert.match(first, /^Demo\.Clip\.[\d-]+\.mkv$/);
      assert.match(out, /the editor connected: the first magnet is added now/);
      await waitFor(() => sidebar!.messages.find((m) => m.name === "account"), "the account in the debug sidebar", limit);
      assert.ok(fs.statSync(path.join(nas, first)).size > 0, "the file has content");
      await waitFor(() => /Jellyfin stand-in: library refresh #1; the NAS folder holds Demo\.Clip/.test(out), "Jellyfin's refresh", limit);
      const summary = await waitFor(() => sidebar!.messages.find((m) => m.name === "summary"), "the summary in the debug sidebar", limit);
      assert.match(
        summary.msg,
        new RegExp(
          `^"?/Incoming/${first.replace(/\./g, "\\.")} → .+: 1 file\\(s\\), \\d+ kB, CRC32 verified; deleted from put\\.io: 1, transfer removed; Jellyfin is rescanning`,
        ),
      );

      // put.io, as the emulator's API tells it: the transfer was completed, then removed; its file is gone from /Incoming.
      const apiUrl = /put\.io emulator:\s+(\S+)/.exec(out)?.[1];
      assert.ok(apiUrl, out);
      const creds = JSON.parse(fs.readFileSync(path.join(userDir, "flows_cred.json"), "utf8")) as Record<string, { accessToken: string }>;
      const putio = async <T>(route: string): Promise<T> => {
        const res = await fetch(apiUrl + route, { headers: { authorization: `token ${creds[SANDBOX_ACCOUNT_ID].accessToken}` } });
        assert.equal(res.status, 200, route);
        return (await res.json()) as T;
      };
      const events = (await putio<{ events: Array<{ type: string; transfer_name?: string; transfer_size?: number }> }>("/v2/events/list")).events;
      const done = events.find((e) => e.type === "transfer_completed" && e.transfer_name === first);
      assert.ok(done, `put.io completed the transfer: ${JSON.stringify(events)}`);
      assert.equal(fs.statSync(path.join(nas, first)).size, done.transfer_size, "the whole file is on the NAS");
      const transfers = (await putio<{ transfers: Array<{ name: string }> }>("/v2/transfers/list")).transfers;
      assert.ok(!transfers.some((t) => t.name === first), "the transfer was removed from put.io");
      const root = (await putio<{ files: Array<{ id: number; name: string }> }>("/v2/files/list?parent_id=0")).files;
      const incoming = root.find((f) => f.name === "Incoming");
      assert.ok(incoming);
      const left = (await putio<{ files: Array<{ name: string }> }>(`/v2/files/list?parent_id=${incoming.id}`)).files;
      assert.ok(!left.some((f) => f.name === first), "the file was deleted from put.io");

      // The magnet button: a fresh magnet (not put.io's duplicate of the first), a second file, a second refresh.
      const press = await fetch(`http://127.0.0.1:${port}/inject/${MAGNET_INJECT_ID}`, { method: "POST" });
      assert.equal(press.status, 200);
      const both = await waitFor(() => (nasFiles(nas).length >= 2 ? nasFiles(nas) : null), "the second file on the NAS", limit);
      assert.equal(both.length, 2);
      assert.ok(both.includes(first));
      await waitFor(() => /Jellyfin stand-in: library refresh #2;/.test(out), "Jellyfin's second refresh", limit);
      await waitFor(() => sidebar!.messages.filter((m) => m.name === "summary").length >= 2, "the second summary", limit);
      assert.ok(!sidebar.messages.some((m) => m.name === "summary" && /failed|unreachable/.test(m.msg)), JSON.stringify(sidebar.messages));
    } finally {
      sidebar?.close();
      child.kill("SIGINT");
    }
    const code = await exited;
    assert.equal(code, 0, out);
    // All are down: the editor port is free again.
    await new Promise<void>((resolve, reject) => {
      const s = net
        .createServer()
        .once("error", reject)
        .listen(port, "127.0.0.1", () => s.close(() => resolve()));
    });
    for (const d of [userDir, nas]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("the sandbox and every example deployed together: three presses of the magnet button, a summary each, no error in the log", async () => {
    const port = await freePort();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sandbox-ex-"));
    const nas = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sandbox-ex-nas-"));
    // Every example imported into a tab of its own next to the sandbox's, as a user does from Menu > Import > Examples.
    const examplesDir = path.join(__dirname, "..", "..", "examples");
    const examples = fs
      .readdirSync(examplesDir)
      .filter((f) => f.endsWith(".json"))
      .flatMap((f) => JSON.parse(fs.readFileSync(path.join(examplesDir, f), "utf8")) as Array<Record<string, unknown>>)
      .map((n) => ({
        ...n,
        ...("x" in n ? { z: "examples-tab" } : {}),
        ...(String(n.type).startsWith("putio-") && n.account === "" ? { account: SANDBOX_ACCOUNT_ID } : {}),
      }));
    fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify([...starterFlow(), { id: "examples-tab", type: "tab", label: "examples" }, ...examples]));
    const script = path.join(__dirname, "..", "scripts", "sandbox.js");
    const child = spawn(process.execPath, [script, "--port", String(port), "--userdir", userDir, "--nas", nas], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    let sidebar: ReturnType<typeof watchDebugSidebar> | undefined;
    const limit = 120_000;
    try {
      await waitFor(
        () => {
          if (child.exitCode !== null) throw new Error("sandbox exited early:\n" + out);
          return /Node-RED editor:/.test(out);
        },
        "the editor address",
        limit,
      );
      await waitFor(() => /Started flows/.test(out), "the flows", limit);
      sidebar = watchDebugSidebar(port);
      await waitFor(() => sidebar!.open(), "the comms socket", limit);
      assert.equal((await fetch(`http://127.0.0.1:${port}/flows`)).status, 200);
      const summaries = () => sidebar!.messages.filter((m) => m.name === "summary");
      await waitFor(() => summaries().length >= 1, "the first run's summary", limit);
      for (let press = 1; press <= 3; press++) {
        assert.equal((await fetch(`http://127.0.0.1:${port}/inject/${MAGNET_INJECT_ID}`, { method: "POST" })).status, 200);
        await waitFor(() => sidebar!.messages.filter((m) => m.name === "added").length >= press + 1, `press ${press} added`, limit);
      }
      await waitFor(() => summaries().length >= 4, "a summary for each press", limit);
      await waitFor(() => (nasFiles(nas).length >= 4 ? true : null), "four files on the NAS", limit);
      assert.equal(nasFiles(nas).length, 4);
      for (const m of summaries()) assert.match(m.msg, /CRC32 verified; deleted from put\.io: 1, transfer removed; Jellyfin is rescanning/);
      const errors = out.split("\n").filter((line) => /\[error\]|failed/i.test(line));
      assert.deepEqual(errors, [], out);
    } finally {
      sidebar?.close();
      child.kill("SIGINT");
    }
    assert.equal(await exited, 0, out);
    for (const d of [userDir, nas]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("a port already in use (another Node-RED): the message says how to pick another, nothing is started", async () => {
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as net.AddressInfo).port;
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sandbox-port-"));
    try {
      const script = path.join(__dirname, "..", "scripts", "sandbox.js");
      const child = spawn(process.execPath, [script, "--port", String(port), "--userdir", userDir, "--nas", path.join(userDir, "nas")], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
      assert.equal(code, 1, out);
      assert.match(out, new RegExp(`port ${port} is in use .*PORT=${port + 1} npm start`));
      assert.doesNotMatch(out, /put\.io emulator:|Node-RED editor:/);
    } finally {
      taken.close();
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });

  it("a userDir still holding the old starter flow gets the new one; a flow the user changed is kept", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-sandbox-prep-"));
    try {
      const flows = path.join(dir, "flows.json");
      fs.writeFileSync(flows, JSON.stringify(PREVIOUS_STARTER_IDS.map((id) => ({ id, type: "x" }))));
      prepareUserDir(dir, 1880, "tok");
      assert.deepEqual(JSON.parse(fs.readFileSync(flows, "utf8")), starterFlow());
      // The starter whose injects fired once at start (before the first run waited for the editor) is replaced too.
      const earlier = starterFlow().map((n) => (n.type === "inject" ? { ...n, once: true } : n));
      fs.writeFileSync(flows, JSON.stringify(earlier));
      prepareUserDir(dir, 1880, "tok");
      assert.deepEqual(JSON.parse(fs.readFileSync(flows, "utf8")), starterFlow());
      // …but not once the user changed it.
      const edited = starterFlow().map((n) => (n.type === "inject" ? { ...n, once: true, name: "mine" } : n));
      fs.writeFileSync(flows, JSON.stringify(edited));
      prepareUserDir(dir, 1880, "tok");
      assert.deepEqual(JSON.parse(fs.readFileSync(flows, "utf8")), edited);
      const mine = [...PREVIOUS_STARTER_IDS, "my-node"].map((id) => ({ id, type: "x" }));
      fs.writeFileSync(flows, JSON.stringify(mine));
      prepareUserDir(dir, 1880, "tok");
      assert.deepEqual(JSON.parse(fs.readFileSync(flows, "utf8")), mine);
      assert.ok(!/tok/.test(fs.readFileSync(flows, "utf8")));
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "flows_cred.json"), "utf8")), { [SANDBOX_ACCOUNT_ID]: { accessToken: "tok" } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
