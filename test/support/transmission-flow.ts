/**
 * One putio-transmission node in a flow, as the node specs drive it: the account, the node with
 * settings, its msgs collected; a client as the apps are; a magnet added into a folder and waited
 * for until finished or failed (on the emulator's clock).
 */
import { nr, withTab, type FlowNode } from "../nr";
import type { TransmissionFixture } from "./transmission-fixture";
import { ArrRpcClient, until, untilReady, withHttpNode } from "./transmission-rpc";

const accountNode = require("../../nodes/putio-account");
const transmissionNode = withHttpNode(require("../../nodes/putio-transmission"));

export const USER = "sonarr";
export const PASS = "s3cret-pass";
/** Info hashes of the specs' torrents (the apps send them in lower case). */
export const HASH_A = "0123456789abcdef0123456789abcdef01234567";
export const HASH_B = "89abcdef0123456789abcdef0123456789abcdef";
export const HASH_C = "fedcba9876543210fedcba9876543210fedcba98";

export const magnet = (hex: string, name: string) => `magnet:?xt=urn:btih:${hex}&dn=${encodeURIComponent(name)}`;

export interface TransmissionFlow {
  /** The node's msgs since the last load. */
  events: any[];
  /** Deploys the account and the node (`extra`: its settings; `onMsg`: sees each msg as it is sent). */
  load(extra?: Partial<FlowNode>, onMsg?: (msg: any) => void): Promise<void>;
  /** A ready client of the node's RPC path. */
  client(rpcPath?: string): Promise<ArrRpcClient>;
  /** Adds a magnet into `dir` and waits until the torrent is finished or failed. */
  settle(c: ArrRpcClient, hash: string, name: string, dir: string, fields?: string[]): Promise<any>;
}

export function transmissionFlow(f: TransmissionFixture): TransmissionFlow {
  const flow: TransmissionFlow = {
    events: [],
    async load(extra = {}, onMsg) {
      const events: any[] = [];
      flow.events = events;
      const nodes = withTab([
        { id: "acc", type: "putio-account", apiUrl: f.emu.apiUrl, uploadUrl: f.emu.uploadUrl, socketUrl: f.emu.socketUrl },
        { id: "trn", type: "putio-transmission", account: "acc", downloadDir: f.work, wires: [["out"]], ...extra },
        { id: "out", type: "helper" },
      ]);
      await nr.load([accountNode, transmissionNode], nodes, { acc: { accessToken: f.emu.token }, trn: { username: USER, password: PASS } });
      nr.node("out").on("input", (m: any) => {
        events.push(m);
        onMsg?.(m);
      });
    },
    async client(rpcPath = "/transmission/rpc") {
      const c = new ArrRpcClient(`${f.server.url}${rpcPath}`, USER, PASS);
      await untilReady(c);
      return c;
    },
    async settle(c, hash, name, dir, fields = ["id", "name", "isFinished", "errorString", "status", "error"]) {
      await c.call("torrent-add", { filename: magnet(hash, name), "download-dir": dir });
      await f.emu.advance(8000);
      return until(
        `${name} finished or failed`,
        async () => (await c.call("torrent-get", { fields, ids: [hash] })).torrents[0],
        (t) => t?.isFinished === true || !!t?.errorString,
      );
    },
  };
  return flow;
}
