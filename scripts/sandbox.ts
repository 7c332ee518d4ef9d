/**
 * `npm start`: the offline sandbox. Starts the put.io emulator (realtime clock, a small seeded
 * library), a stand-in for Jellyfin, then Node-RED on 127.0.0.1:1880 with this package loaded from
 * the working tree (a userDir under .sandbox/, ignored by git). Its tab holds the flagship flow
 * (scripts/sandbox-flow.ts): a magnet is added, watched until put.io finishes it, downloaded to the
 * NAS folder .sandbox/nas, deleted from put.io, and Jellyfin is told to refresh. Ctrl-C stops all.
 *
 *   node dist/scripts/sandbox.js [--port 1880] [--userdir .sandbox/userdir] [--nas .sandbox/nas] [--emulator-port 0] [--help]
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";
import { startEmulator, type Emulator } from "../test/emulator";
import { startJellyfinStandIn, type JellyfinStandIn } from "./sandbox-jellyfin";
import { ACCOUNT_INJECT_ID, MAGNET_INJECT_ID, PREVIOUS_STARTER_IDS, SANDBOX_ACCOUNT_ID, SANDBOX_PUTIO_FOLDER, starterFlow } from "./sandbox-flow";

export { SANDBOX_ACCOUNT_ID };

const ROOT = path.resolve(__dirname, "..", "..");
/** The stand-in's API key: the flow sends it from JELLYFIN_TOKEN, as a real one would. */
const JELLYFIN_TOKEN = "sandbox-jellyfin-api-key";

const HELP = `The offline sandbox (npm start -- [options]): the put.io emulator, a Jellyfin stand-in and
Node-RED with this package from the working tree; Ctrl-C stops all.

  --port N            Node-RED's port (default 1880; the PORT environment variable wins)
  --userdir DIR       Node-RED's userDir (default .sandbox/userdir)
  --nas DIR           the NAS folder the flow downloads to (default .sandbox/nas)
  --emulator-port N   the emulator's port (default 0: a free one)
  -h, --help          this help`;

interface SandboxOptions {
  port: number;
  userDir: string;
  nasDir: string;
  emulatorPort: number;
}

/** The options, or null after printing why they are wrong (exit code 2) or the help (0). */
export function sandboxOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): SandboxOptions | null {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: "string", default: "1880" },
        userdir: { type: "string", default: path.join(ROOT, ".sandbox", "userdir") },
        nas: { type: "string", default: path.join(ROOT, ".sandbox", "nas") },
        "emulator-port": { type: "string", default: "0" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    process.exitCode = 2;
    return null;
  }
  if (values.help) {
    console.log(HELP);
    return null;
  }
  const ports: Array<[string, string]> = [
    [env.PORT ? "PORT" : "--port", env.PORT || values.port],
    ["--emulator-port", values["emulator-port"]],
  ];
  for (const [name, v] of ports) {
    if (!/^\d+$/.test(v) || Number(v) > 65535) {
      console.error(`${name}: ${v} is not a port number (0 to 65535)\n\n${HELP}`);
      process.exitCode = 2;
      return null;
    }
  }
  return {
    port: Number(ports[0][1]),
    userDir: path.resolve(values.userdir),
    nasDir: path.resolve(values.nas),
    emulatorPort: Number(values["emulator-port"]),
  };
}

function writeJson(file: string, data: unknown): void {
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
}

/** Keys the sandbox itself changed since earlier starters (the injects' once, the comments' text). */
const SANDBOX_CHANGED_KEYS = new Set(["once", "info"]);

/** A node without the keys the sandbox itself changed, as comparable text. */
function comparable(n: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(n).filter(([k]) => !SANDBOX_CHANGED_KEYS.has(k))));
}

/** The flow file as earlier sandboxes wrote it and nobody changed since: it may be replaced. */
function isPreviousStarter(file: string): boolean {
  try {
    const flow = JSON.parse(fs.readFileSync(file, "utf8")) as Array<Record<string, unknown>>;
    const ids = flow.map((n) => n.id).sort();
    if (JSON.stringify(ids) === JSON.stringify([...PREVIOUS_STARTER_IDS].sort())) return true;
    // The starter before the first run waited for the editor (its injects fired once at start).
    const current = starterFlow();
    return flow.length === current.length && flow.every((n, i) => comparable(n) === comparable(current[i]));
  } catch {
    return false;
  }
}

/** Prepare the userDir: settings, the package linked from the working tree, flows and credentials. */
export function prepareUserDir(userDir: string, port: number, token: string): string {
  fs.mkdirSync(path.join(userDir, "node_modules", "@putflow"), { recursive: true });
  const link = path.join(userDir, "node_modules", "@putflow", "node-red-putio");
  if (!fs.existsSync(link)) fs.symlinkSync(ROOT, link, "dir");
  if (!fs.existsSync(path.join(userDir, "package.json"))) {
    writeJson(path.join(userDir, "package.json"), {
      name: "putio-sandbox",
      version: "0.0.0",
      private: true,
      dependencies: { "@putflow/node-red-putio": "file:" + ROOT },
    });
  }
  const settingsFile = path.join(userDir, "sandbox-settings.js");
  const settings = {
    uiHost: "127.0.0.1",
    uiPort: port,
    flowFile: "flows.json",
    // Sandbox only: credentials in plain JSON so the emulator's token can be written each start.
    credentialSecret: false,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    editorTheme: { tours: false, palette: { catalogues: [] } },
    logging: { console: { level: "info", metrics: false, audit: false } },
  };
  // The first run waits for an editor: a run before any browser is connected leaves the debug
  // sidebar empty. The editor reads the flows (GET /flows) as it loads; the injects are pressed
  // then, a moment later, once its comms socket is up.
  const firstRun =
    `let started = false;\n` +
    `module.exports.httpAdminMiddleware = function (req, res, next) {\n` +
    `  if (!started && req.method === "GET" && req.path === "/flows") {\n` +
    `    started = true;\n` +
    `    console.log("[sandbox] the editor connected: the first magnet is added now");\n` +
    // The flows may still be starting (the editor answers first): a press is tried again until it lands.
    `    const press = (id, attempt) =>\n` +
    `      fetch("http://127.0.0.1:${port}/inject/" + id, { method: "POST" })\n` +
    `        .then((r) => { if (!r.ok) throw new Error(String(r.status)); })\n` +
    `        .catch(() => attempt < 30 && setTimeout(() => press(id, attempt + 1), 1000));\n` +
    `    setTimeout(() => ${JSON.stringify([ACCOUNT_INJECT_ID, MAGNET_INJECT_ID])}.forEach((id) => press(id, 0)), ${EDITOR_SETTLE_MS});\n` +
    `  }\n` +
    `  next();\n` +
    `};\n`;
  fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n${firstRun}`);
  const flows = path.join(userDir, "flows.json");
  // A user's own changes are kept; only a missing flow file, or the old untouched starter, is (re)written.
  if (!fs.existsSync(flows) || isPreviousStarter(flows)) writeJson(flows, starterFlow());
  const credFile = path.join(userDir, "flows_cred.json");
  let creds: Record<string, unknown> = {};
  try {
    creds = JSON.parse(fs.readFileSync(credFile, "utf8"));
  } catch {
    /* first start */
  }
  creds[SANDBOX_ACCOUNT_ID] = { accessToken: token };
  writeJson(credFile, creds);
  return settingsFile;
}

/** How long after the editor's first flow read the first run starts (its comms socket connects meanwhile). */
const EDITOR_SETTLE_MS = 1500;

/** The put.io folders the examples work on (folder settings of their put.io nodes), so each finds its own. */
export function examplePutioFolders(): string[] {
  const dir = path.join(ROOT, "examples");
  const folders = new Set<string>();
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".json"))) {
    for (const n of JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Array<Record<string, unknown>>) {
      if (!String(n.type).startsWith("putio-")) continue;
      for (const key of ["folder", "putioFolder"]) {
        const v = n[key];
        if (typeof v === "string" && v.startsWith("/") && (n[`${key}Type`] ?? "str") === "str") folders.add(v);
      }
    }
  }
  return [...folders].sort();
}

/** `/a/b` made in the emulator (mkdir -p) for the emulator's user. */
function makeFolder(emu: Emulator, folder: string): void {
  let parent = 0;
  for (const name of folder.split("/").filter(Boolean)) {
    const found = emu.state.listChildren(parent, emu.token).find((f) => f.name === name && f.file_type === "FOLDER");
    parent = (found ?? emu.state.addFolder(parent, name, emu.token)).id;
  }
}

/** Whether 127.0.0.1:port is taken (another Node-RED, usually): said before anything starts. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "EADDRINUSE"));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(false)));
  });
}

/** Names of the files under `dir`, relative to it (hidden download temp files left out). */
function listFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { recursive: true })
      .map(String)
      .filter((rel) => !path.basename(rel).startsWith(".") && fs.statSync(path.join(dir, rel)).isFile())
      .sort();
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const opts = sandboxOptions(process.argv.slice(2));
  if (!opts) return;
  const { port, userDir, nasDir } = opts;
  fs.mkdirSync(nasDir, { recursive: true });
  if (await portInUse(port)) {
    console.error(`[sandbox] port ${port} is in use (another Node-RED?). Pick another port: PORT=${port + 1} npm start (or npm start -- --port ${port + 1}).`);
    process.exit(1);
  }

  const emu: Emulator = await startEmulator({ seed: true, realtimeClock: true, port: opts.emulatorPort });
  // The folder the flagship flow adds to and watches (the watch needs it to exist when it starts).
  // The examples' folders too, so each one imported here finds its own.
  for (const folder of [SANDBOX_PUTIO_FOLDER, ...examplePutioFolders()]) makeFolder(emu, folder);
  const jellyfin: JellyfinStandIn = await startJellyfinStandIn({
    token: JELLYFIN_TOKEN,
    library: () => listFiles(nasDir),
    onRefresh: (r) =>
      console.log(`[sandbox] Jellyfin stand-in: library refresh #${jellyfin.refreshes.length}; the NAS folder holds ${r.library.join(", ") || "nothing"}`),
  });
  const settingsFile = prepareUserDir(userDir, port, emu.token);

  // Say once when Node-RED's account node has validated its token against the emulator.
  let validated = false;
  const watch = setInterval(() => {
    if (!validated && emu.requests.some((r) => r.path === "/v2/account/info" && r.status === 200)) {
      validated = true;
      console.log("[sandbox] the put.io account node validated its token against the emulator");
    }
  }, 200);

  const redJs = require.resolve("node-red/red.js", { paths: [ROOT] });
  const child: ChildProcess = spawn(process.execPath, [redJs, "--userDir", userDir, "--settings", settingsFile, "--port", String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      ...process.env,
      PUTIO_API_URL: emu.apiUrl,
      PUTIO_UPLOAD_URL: emu.uploadUrl,
      PUTIO_SOCKET_URL: emu.socketUrl,
      PUTIO_WEB_URL: emu.apiUrl,
      NAS_DIR: nasDir,
      JELLYFIN_REFRESH_URL: jellyfin.refreshUrl,
      JELLYFIN_TOKEN,
    },
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (/Server now running/.test(chunk.toString())) {
      console.log(`\n[sandbox] put.io emulator:    ${emu.apiUrl}  (approve login codes at ${emu.apiUrl}/link)`);
      console.log(`[sandbox] NAS folder:         ${nasDir}`);
      console.log(`[sandbox] Jellyfin stand-in:  ${jellyfin.url}  (records POST /Library/Refresh)`);
      console.log(`[sandbox] Node-RED editor:    http://127.0.0.1:${port}/`);
      console.log(
        "[sandbox] Open the editor: a magnet is added as it loads and lands in the NAS folder a few seconds later (the summary is in the debug sidebar); press the magnet's inject button for another.",
      );
      console.log("[sandbox] Ctrl-C stops all.\n");
    }
  });

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    if (child.exitCode === null) {
      child.kill("SIGINT");
      await new Promise((r) => child.once("exit", r));
    }
    await jellyfin.close();
    await emu.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  child.on("exit", (code) => void stop(code ?? 0));
}

if (require.main === module) {
  main().catch((err) => {
    console.error("[sandbox] failed:", err);
    process.exit(1);
  });
}
