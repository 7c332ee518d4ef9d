// A shipped example as a user gets it after import next to their one account (the editor fills
// the empty account in), pointed at the emulator and a local Jellyfin stand-in, debug nodes
// replaced by test helpers.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { Emulator } from "../emulator";
import type { FlowNode } from "../nr";
import { accountConfig } from "./node-red-fixture";

export const EXAMPLES_DIR = path.join(__dirname, "..", "..", "..", "examples");

/** The user's account node, for the emulator. */
export function userAccount(emu: Emulator, id = "user-account"): FlowNode {
  return accountConfig(emu, { id, name: "put.io" });
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

export interface JellyfinStandIn {
  port: number;
  /** Every request it got: method, URL and the X-Emby-Token header. */
  refreshes: Array<{ method: string; url: string; token: string | undefined }>;
  close(): Promise<void>;
}

/** A local stand-in for Jellyfin that answers every request 204 and records it. */
export async function startJellyfin(): Promise<JellyfinStandIn> {
  const refreshes: JellyfinStandIn["refreshes"] = [];
  const server = http.createServer((req, res) => {
    refreshes.push({ method: req.method ?? "", url: req.url ?? "", token: req.headers["x-emby-token"] as string | undefined });
    res.statusCode = 204;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    refreshes,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Registers, in the calling describe, a Jellyfin stand-in for the whole describe; its fields are set before the tests. */
export function useJellyfin(): JellyfinStandIn {
  const jellyfin = {} as JellyfinStandIn;
  before(async () => {
    Object.assign(jellyfin, await startJellyfin());
  });
  after(async () => {
    await jellyfin.close?.();
  });
  return jellyfin;
}
