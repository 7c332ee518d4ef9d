/**
 * The putio-sync node specs' fixture: the Node-RED fixture with a client, a temp folder whose
 * `nas` subfolder is the sync's target, and a flow of one sync node on /Media wired to "out"
 * (errors to "caught").
 */
import * as path from "node:path";
import { catchAll, nextMessage, nr, type FlowNode } from "../nr";
import { useNodeRed, type NodeRedFixture, type NodeRedOptions } from "./node-red-fixture";

export const syncModule: unknown = require("../../nodes/putio-sync");

export interface SyncFixture extends NodeRedFixture {
  /** The sync's local folder (`<work>/nas`, made by the node). */
  readonly target: string;
  /** Deploys the account and one sync node "sync" with `sync` over its settings. */
  loadSync(sync: Partial<FlowNode>): Promise<void>;
  /** Triggers node "sync" and gives its report. */
  run(extra?: object): Promise<any>;
  /** How many storage GETs the emulator has served. */
  storageGets(): number;
}

/** Registers the hooks in the calling `describe`; `node` holds the spec's own defaults of the sync node. */
export function useSyncNode(opts: Pick<NodeRedOptions, "work" | "workIn"> & { node?: Partial<FlowNode> }): SyncFixture {
  const rig = useNodeRed({ work: opts.work, workIn: opts.workIn, client: true }) as SyncFixture;
  Object.defineProperty(rig, "target", { get: () => path.join(rig.work, "nas") });
  rig.loadSync = (sync) =>
    rig.load(
      [syncModule],
      [
        rig.account(),
        {
          id: "sync",
          type: "putio-sync",
          account: "acc",
          folder: "/Media",
          folderType: "str",
          target: rig.target,
          targetType: "str",
          live: false,
          ...opts.node,
          wires: [["out"]],
          ...sync,
        },
        { id: "out", type: "helper" },
        catchAll("c", "caught"),
        { id: "caught", type: "helper" },
      ],
    );
  rig.run = async (extra = {}) => {
    const got = nextMessage("out");
    nr.node("sync").receive({ payload: "go", ...extra });
    return (await got).payload;
  };
  rig.storageGets = () => rig.emu.requests.filter((r) => r.path.startsWith("/download/")).length;
  return rig;
}
