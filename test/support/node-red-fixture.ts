/**
 * What a node spec needs around each test: a fresh emulator, the real Node-RED of test/nr.ts
 * started and stopped, the account node pointed at the emulator, and whatever else the spec asks
 * for (a temp folder, a client, a userDir, Node-RED settings). `useNodeRed()` registers the mocha
 * hooks in the calling `describe` and returns an object whose fields are set before each test:
 *
 *   const f = useNodeRed({ work: "putio-x-" });
 *   it("…", async () => {
 *     await f.load([xNode], [f.account(), { id: "x", type: "putio-x", account: "acc", wires: [["out"]] }, { id: "out", type: "helper" }]);
 *   });
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutioClient, type ClientOptions } from "../../lib";
import { startEmulator, type Emulator, type EmulatorOptions } from "../emulator";
import { nextMessage, nr, withTab, type FlowNode } from "../nr";

/** The account node's module (putio-account), loaded with every flow `load()` deploys. */
export const accountModule: unknown = require("../../nodes/putio-account");

/** The account node of a flow, pointed at `emu` (id "acc" unless `extra` names another). */
export function accountConfig(emu: Emulator, extra: Partial<FlowNode> = {}): FlowNode {
  return { id: "acc", type: "putio-account", apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, socketUrl: emu.socketUrl, ...extra };
}

export interface NodeRedOptions {
  /** Passed to `startEmulator`. */
  emulator?: EmulatorOptions;
  /** "each" (the default): everything fresh for every test; "once": one set for the whole describe. */
  per?: "each" | "once";
  /** A fresh temp folder with this name prefix (`f.work`), removed after. */
  work?: string;
  /** Where that folder is made (default: the machine's temp folder), asked each time. */
  workIn?: () => string;
  /** A fresh Node-RED userDir (`f.userDir`), set in the runtime's settings, removed after. */
  userDir?: boolean;
  /** A `PutioClient` on the emulator with its token (`f.client`), closed after. */
  client?: true | ClientOptions;
  /** Environment variables a flow reads (`${NAS_DIR}`), set before Node-RED starts and removed after. */
  env?: (f: NodeRedFixture) => Record<string, string>;
  /** false: the test starts Node-RED itself (after setting up an environment); it is stopped after either way. */
  start?: boolean;
}

export interface NodeRedFixture {
  emu: Emulator;
  /** With `work`: the temp folder. */
  work: string;
  /** With `userDir`: Node-RED's user directory. */
  userDir: string;
  /** With `client`: a client of the emulator's account. */
  client: PutioClient;
  /** The account node pointed at this test's emulator. */
  account(extra?: Partial<FlowNode>): FlowNode;
  /** Credentials giving account `id` the emulator's token (or `token`). */
  creds(id?: string, token?: string): Record<string, { accessToken: string }>;
  /** Deploys `nodes` on one tab with the account node's module beside `modules`; the emulator's token for "acc" unless `creds` says otherwise. */
  load(modules: unknown[], nodes: FlowNode[], creds?: Record<string, object>): Promise<void>;
  /** Node-RED settings for this test's next loads, over the helper's own; restored after the test. */
  settings(extra: Record<string, unknown>): void;
}

/** Whether `dir` is on a FUSE mount (the innermost mount holding it, as /proc/mounts lists them). */
function onFuse(dir: string): boolean {
  const mounts = fs
    .readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .filter(([, at]) => at && (dir === at || dir.startsWith(at.endsWith("/") ? at : `${at}/`)))
    .sort((a, b) => b[1]!.length - a[1]!.length);
  return !!mounts[0]?.[2]?.startsWith("fuse");
}

/** Registers the hooks in the calling `describe`. */
export function useNodeRed(opts: NodeRedOptions = {}): NodeRedFixture {
  let saved: Record<string, unknown> = {};
  let env: Record<string, string> = {};
  const f: NodeRedFixture = {
    emu: undefined as unknown as Emulator,
    work: "",
    userDir: "",
    client: undefined as unknown as PutioClient,
    account: (extra = {}) => accountConfig(f.emu, extra),
    creds: (id = "acc", token = f.emu.token) => ({ [id]: { accessToken: token } }),
    load: (modules, nodes, creds = f.creds()) => nr.load([accountModule, ...modules], withTab(nodes), creds),
    settings: (extra) => void nr.helper.settings({ ...nr.helper._settings, ...extra }),
  };
  const setUp = async () => {
    f.emu = await startEmulator(opts.emulator);
    if (opts.work) f.work = fs.mkdtempSync(path.join(opts.workIn?.() ?? os.tmpdir(), opts.work));
    if (opts.client)
      f.client = new PutioClient({ token: f.emu.token, apiUrl: f.emu.apiUrl, uploadUrl: f.emu.uploadUrl, ...(opts.client === true ? {} : opts.client) });
    saved = { ...nr.helper._settings };
    if (opts.userDir) {
      f.userDir = fs.mkdtempSync(path.join(os.tmpdir(), "putio-userdir-"));
      f.settings({ userDir: f.userDir });
    }
    env = opts.env?.(f) ?? {};
    Object.assign(process.env, env);
    if (opts.start !== false) await nr.start();
  };
  const tearDown = async () => {
    // A test that starts Node-RED itself may have failed before it did: nothing to stop then.
    if (opts.start === false) await nr.stop().catch(() => {});
    else await nr.stop();
    nr.helper.settings(saved);
    await f.client?.close();
    await f.emu?.close();
    // A FUSE mount may still be settling a last write: retried, never left to fail the next test.
    if (f.work) {
      try {
        fs.rmSync(f.work, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch (err) {
        // exfat-fuse keeps an unlinked file's entry while its node is still referenced, so the
        // folder can stay "not empty" for a while; a folder on the spec's own mount goes with it.
        if (!((err as NodeJS.ErrnoException).code === "ENOTEMPTY" && onFuse(f.work))) throw err;
        console.warn(`      left for the mount's removal: ${f.work} (${(err as Error).message})`);
      }
    }
    if (f.userDir) fs.rmSync(f.userDir, { recursive: true, force: true });
    for (const k of Object.keys(env)) delete process.env[k];
  };
  if (opts.per === "once") {
    before(setUp);
    after(tearDown);
  } else {
    beforeEach(setUp);
    afterEach(tearDown);
  }
  return f;
}

/** A putio-upload node on account "acc" sending msg.payload (a path or a Buffer) in 1 MiB chunks to put.io's root, unless `extra` says otherwise. */
export function uploadNodeConfig(id: string, extra: Partial<FlowNode> = {}): FlowNode {
  return {
    id,
    type: "putio-upload",
    account: "acc",
    source: "payload",
    sourceType: "msg",
    folder: "",
    folderType: "str",
    fileName: "",
    chunkMb: "1",
    ...extra,
  };
}

/** Sends `msg` to node `id`; its one outcome: the msg helper "out" got, or the msg helper "caught" got (from a catch node) as `{ caught }`. */
export function outcomeOf(id: string, msg: object): Promise<any> {
  const got = Promise.race([nextMessage("out"), nextMessage("caught").then((m) => ({ caught: m }))]);
  nr.node(id).receive(msg);
  return got;
}
