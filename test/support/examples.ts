// A shipped example as a user gets it after import next to their one account (the editor fills
// the empty account in), pointed at the emulator and a local Jellyfin stand-in, debug nodes
// replaced by test helpers.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Emulator } from "../emulator";
import type { FlowNode } from "../nr";

export const EXAMPLES_DIR = path.join(__dirname, "..", "..", "..", "examples");

/** The user's account node, for the emulator. */
export function userAccount(emu: Emulator, id = "user-account"): FlowNode {
  return { id, type: "putio-account", name: "put.io", apiUrl: emu.apiUrl, uploadUrl: emu.uploadUrl, socketUrl: emu.socketUrl };
}

/** examples/<name>.json, its disabled nodes enabled, with the account, Jellyfin's address and the debug nodes replaced. */
export function shippedExample(name: string, emu: Emulator, opts: { jellyfinPort?: number } = {}): { flow: FlowNode[]; account: FlowNode } {
  const account = userAccount(emu);
  const shipped = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, `${name}.json`), "utf8")) as FlowNode[];
  assert.ok(!shipped.some((n) => n.type === "putio-account"), "the example ships no account of its own");
  // Nodes that arrive disabled (they need the user's settings) are enabled, as the user does after setting them.
  const flow = [account, ...shipped.map(({ d, ...n }) => (void d, n as FlowNode))].map((n) => {
    if (n.type.startsWith("putio-") && n.account === "") return { ...n, account: account.id };
    if (n.type === "http request" && opts.jellyfinPort)
      return { ...n, url: String(n.url).replace(/^http:\/\/jellyfin:8096/, `http://127.0.0.1:${opts.jellyfinPort}`) };
    if (n.type === "debug") return { id: n.id, type: "helper" };
    return n;
  });
  return { flow, account };
}
