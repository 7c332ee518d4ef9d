/**
 * `npm start`: the offline sandbox. Starts the put.io emulator with a small seeded library, then
 * Node-RED on 127.0.0.1:1880 with this package loaded from the working tree (a userDir under
 * .sandbox/, ignored by git) and an account node already pointing at the emulator. Ctrl-C stops both.
 *
 *   node dist/scripts/sandbox.js [--port 1880] [--userdir .sandbox/userdir] [--emulator-port 0]
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startEmulator, type Emulator } from "../test/emulator";

const ROOT = path.resolve(__dirname, "..", "..");
export const SANDBOX_ACCOUNT_ID = "sandbox-account";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function writeJson(file: string, data: unknown): void {
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
}

/** The flow a first start shows: the account and a button that reads it. */
function starterFlow(): unknown[] {
  return [
    {
      id: "sandbox-tab",
      type: "tab",
      label: "put.io sandbox",
      info: "Offline sandbox: the put.io account below points at the local emulator. Import more flows from Menu > Import > Examples > @putflow/node-red-putio.",
    },
    {
      id: SANDBOX_ACCOUNT_ID,
      type: "putio-account",
      name: "emulator",
      clientId: "1234",
      // Whole-value ${VAR}s are filled in by Node-RED at deploy: the emulator's port changes each start.
      apiUrl: "${PUTIO_API_URL}",
      uploadUrl: "${PUTIO_UPLOAD_URL}",
      socketUrl: "${PUTIO_SOCKET_URL}",
      webUrl: "${PUTIO_WEB_URL}",
      maxConcurrent: 4,
    },
    {
      id: "sandbox-inject",
      type: "inject",
      z: "sandbox-tab",
      name: "read account",
      props: [{ p: "payload" }],
      repeat: "",
      once: true,
      onceDelay: 1,
      topic: "",
      payload: "",
      payloadType: "date",
      x: 150,
      y: 80,
      wires: [["sandbox-info"]],
    },
    {
      id: "sandbox-info",
      type: "putio-account-info",
      z: "sandbox-tab",
      name: "",
      account: SANDBOX_ACCOUNT_ID,
      thresholdGb: "",
      includeSettings: false,
      x: 370,
      y: 80,
      wires: [["sandbox-debug"], ["sandbox-debug"]],
    },
    {
      id: "sandbox-debug",
      type: "debug",
      z: "sandbox-tab",
      name: "account",
      active: true,
      tosidebar: true,
      console: false,
      complete: "payload",
      targetType: "msg",
      x: 580,
      y: 80,
      wires: [],
    },
  ];
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
  fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  const flows = path.join(userDir, "flows.json");
  if (!fs.existsSync(flows)) writeJson(flows, starterFlow());
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

async function main(): Promise<void> {
  const port = Number(process.env.PORT || arg("port", "1880"));
  const userDir = path.resolve(arg("userdir", path.join(ROOT, ".sandbox", "userdir")));
  const emu: Emulator = await startEmulator({ seed: true, realtimeClock: true, port: Number(arg("emulator-port", "0")) });
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
    env: { ...process.env, PUTIO_API_URL: emu.apiUrl, PUTIO_UPLOAD_URL: emu.uploadUrl, PUTIO_SOCKET_URL: emu.socketUrl, PUTIO_WEB_URL: emu.apiUrl },
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    if (/Server now running/.test(chunk.toString())) {
      console.log(`\n[sandbox] put.io emulator:  ${emu.apiUrl}  (approve login codes at ${emu.apiUrl}/link)`);
      console.log(`[sandbox] Node-RED editor:  http://127.0.0.1:${port}/`);
      console.log("[sandbox] Ctrl-C stops both.\n");
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
