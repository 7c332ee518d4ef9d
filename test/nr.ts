/**
 * node-red-node-test-helper, typed for our tests and started the same way everywhere
 * (a real Node-RED runtime of the installed version; the helper loads only catch/status/complete
 * itself, other core nodes are passed in by the tests that need them).
 */

import type { Node } from "node-red";

import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const helper: any = require("node-red-node-test-helper");
/** Relative local paths in node configs resolve here, never inside the repository. */
export const WORK_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "putio-nr-"));
/**
 * Which Node-RED runs the node tests: the devDependency (4.1 on Node 20) unless
 * PUTIO_TEST_NODE_RED names another install (Node-RED 5 on Node 22: `npm run test:nr5`).
 */
const NODE_RED = process.env.PUTIO_TEST_NODE_RED ? require.resolve(process.env.PUTIO_TEST_NODE_RED) : require.resolve("node-red");
helper.init(NODE_RED, {
  telemetry: { enabled: false },
  editorTheme: { palette: { catalogues: [] } },
  fileWorkingDirectory: WORK_DIR,
});

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  wires?: string[][];
  [k: string]: unknown;
}

export type TestNode = Node & { receive(msg: object): void; on(event: string, fn: (...args: any[]) => void): TestNode };

/**
 * The helper hands nodes a `RED._` that returns the key. Our nodes get the real one instead: the
 * i18n of the Node-RED under test, with our message catalogs registered as Node-RED registers them
 * for an installed package (namespace `<package>/<set>`), so status and error texts are the ones
 * users read. The runtime language is en-US unless a test switches it (`nr.language`).
 */
const i18n: any = require(require.resolve("@node-red/util", { paths: [path.dirname(NODE_RED)] })).i18n;
const ROOT = path.join(__dirname, "..", "..");
let catalogs: Promise<void> | null = null;
function registerCatalogs(): Promise<void> {
  catalogs ??= (async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const locales = path.join(ROOT, "dist", "nodes", "locales");
    for (const set of Object.keys(pkg["node-red"].nodes)) await i18n.registerMessageCatalog(`${pkg.name}/${set}`, locales, `${set}.json`);
    await i18n.i.changeLanguage("en-US");
  })();
  return catalogs;
}
const withRealI18n = (mod: unknown) =>
  // The core nodes the helper loads itself stay as they are (it recognises them by identity).
  typeof mod === "function" && !Object.values(helper._nodeModules ?? {}).includes(mod)
    ? (red: object) => {
        const r = Object.create(red);
        r._ = (...args: unknown[]) => i18n._(...args);
        return (mod as (r: object) => unknown)(r);
      }
    : mod;

export const nr = {
  helper,
  start: async (): Promise<void> => {
    await helper.startServer();
    await registerCatalogs();
  },
  /** Switch the runtime language (nodes read it when they make a text); "en-US" again after. */
  language: async (lang: string): Promise<void> => {
    await registerCatalogs();
    await i18n.i.changeLanguage(lang);
  },
  stop: async (): Promise<void> => {
    await helper.unload();
    await helper.stopServer();
  },
  load: (nodes: unknown[] | unknown, flow: FlowNode[], credentials: Record<string, object> = {}): Promise<void> =>
    helper.load((Array.isArray(nodes) ? nodes : [nodes]).map(withRealI18n), flow, credentials),
  node: (id: string): TestNode => helper.getNode(id),
  /** Every line Node-RED logged during the test (for "the token never appears" checks). */
  logText: (): string => JSON.stringify(helper.log().args ?? []),
  request: (): any => helper.request(),
};

/** The next message a helper node receives. */
export function nextMessage(id: string): Promise<any> {
  return new Promise((resolve) => nr.node(id).on("input", (msg: unknown) => resolve(msg)));
}

/** The next `n` messages a helper node receives. */
export function messages(id: string, n: number): Promise<any[]> {
  return new Promise((resolve) => {
    const got: any[] = [];
    nr.node(id).on("input", (msg: unknown) => {
      got.push(msg);
      if (got.length === n) resolve(got);
    });
  });
}

/** Wait until a node's status() was called with something matching `pred`. */
export function statusMatching(id: string, pred: (s: any) => boolean): Promise<any> {
  const node: any = nr.node(id);
  const seen = node.status.args?.map((a: any[]) => a[0]).find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const listener = (call: any) => {
      const s = call.args[0];
      if (pred(s)) {
        node.removeListener("call:status", listener);
        resolve(s);
      }
    };
    node.on("call:status", listener);
  });
}

/** A tab and a catch node wired to a helper, for "errors reach a Catch node" tests. */
export function withTab(nodes: FlowNode[], tab = "tab1"): FlowNode[] {
  return [{ id: tab, type: "tab", label: "t" }, ...nodes.map((n) => ({ z: tab, ...n }))];
}

export const catchAll = (id: string, to: string): FlowNode => ({ id, type: "catch", scope: null, uncaught: false, wires: [[to]] });
