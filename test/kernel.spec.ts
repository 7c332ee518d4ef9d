/**
 * The node kernel (nodes/common/kernel.ts) in a real Node-RED runtime: account readiness before
 * the work, a per-msg signal that fires on close, close waiting for the work, done() once, config
 * errors, and a files walk that stops when the node is redeployed.
 */
import assert from "node:assert/strict";
import { PutioAbortError, PutioInputError } from "../lib/core/errors";
import { definePutioNode } from "../nodes/common/kernel";
import type { NodeAPI, NodeDef } from "../nodes/common/node-api";
import { catchAll, nextMessage, nr, statusMatching } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";

const filesNode = require("../nodes/putio-files");

interface ProbeDef extends NodeDef {
  account?: string;
  behaviour?: "wait-for-close" | "throw-after-send" | "ok";
  badConfig?: boolean;
  /** start() asks for the client (a node's own start-up work). */
  readyAtStart?: boolean;
}

/** What the probe node saw, for the assertions. */
const seen = { started: 0, aborted: 0, closedAfterWork: false, workEnded: false, readyAtStart: "" };

function probeNode(RED: NodeAPI): void {
  definePutioNode<ProbeDef, ProbeDef>(RED, {
    type: "putio-kernel-probe",
    config(def) {
      if (def.badConfig) throw new PutioInputError("read the probe's settings", "the setting is broken");
      return def;
    },
    start({ config, ready }) {
      if (config.readyAtStart) {
        ready().then(
          (client) => (seen.readyAtStart = client ? "client" : "nothing"),
          (err: Error) => (seen.readyAtStart = `${err.name}: ${err.message}`),
        );
      }
      return {
        close() {
          seen.closedAfterWork = seen.workEnded;
        },
      };
    },
    doneStatus: () => "fine",
    async input({ config, msg, send, signal, client }) {
      assert.ok(client, "the client is given");
      seen.started++;
      if (config.behaviour === "wait-for-close") {
        try {
          await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(new PutioAbortError("probe", signal.reason)), { once: true }));
        } finally {
          seen.aborted += signal.aborted ? 1 : 0;
          // Some cleanup after the abort: close must wait for it.
          await new Promise((r) => setTimeout(r, 50));
          seen.workEnded = true;
        }
      }
      if (config.behaviour === "throw-after-send") {
        send(msg);
        throw new Error("failed after sending");
      }
      send(msg);
    },
  });
}

describe("node kernel @nr", function () {
  this.timeout(30_000);
  beforeEach(() => {
    Object.assign(seen, { started: 0, aborted: 0, closedAfterWork: false, workEnded: false, readyAtStart: "" });
  });
  const rig = useNodeRed();

  const account = (token?: string) => rig.account({ _token: token });
  async function load(probe: Partial<ProbeDef>, token: string | null = rig.emu.token): Promise<void> {
    const flow = [
      account(),
      { id: "p", type: "putio-kernel-probe", account: "acc", wires: [["out"]], ...probe },
      { id: "out", type: "helper" },
      { id: "done", type: "complete", scope: ["p"], uncaught: false, wires: [["completed"]] },
      { id: "completed", type: "helper" },
      catchAll("c", "caught"),
      { id: "caught", type: "helper" },
    ];
    await rig.load([probeNode], flow, token ? { acc: { accessToken: token } } : {});
  }

  it("a msg that ends well: sent, completed once, status from doneStatus", async () => {
    await load({ behaviour: "ok" });
    const out = nextMessage("out");
    const completed = nextMessage("completed");
    nr.node("p").receive({ payload: 1 });
    await out;
    await completed;
    await statusMatching("p", (s) => s.fill === "green" && s.text === "fine");
  });

  it("a failure after a send: exactly one ending, the error, red status", async () => {
    await load({ behaviour: "throw-after-send" });
    const endings: string[] = [];
    nr.node("completed").on("input", () => endings.push("ok"));
    nr.node("caught").on("input", (m: any) => endings.push(`error: ${m.error.message}`));
    nr.node("p").receive({ payload: 1 });
    await statusMatching("p", (s) => s.fill === "red");
    await new Promise((r) => setTimeout(r, 100));
    // msg.error.message is the text alone, without a class name in front.
    assert.deepEqual(endings, ["error: failed after sending"]);
  });

  it("without a token the work never starts: a catchable 401", async () => {
    await load({ behaviour: "ok" }, null);
    const caught = nextMessage("caught");
    nr.node("p").receive({ payload: 1 });
    const err = await caught;
    assert.match(err.error.message, /no access token/);
    assert.equal(seen.started, 0);
  });

  it("a broken setting: red at deploy, and every msg fails with it", async () => {
    await load({ badConfig: true });
    await statusMatching("p", (s) => s.fill === "red");
    const caught = nextMessage("caught");
    nr.node("p").receive({ payload: 1 });
    assert.match((await caught).error.message, /the setting is broken/);
    assert.equal(seen.started, 0);
  });

  it("close aborts the msg's signal and waits for its work before the node's own close", async () => {
    await load({ behaviour: "wait-for-close" });
    nr.node("p").receive({ payload: 1 });
    while (seen.started === 0) await new Promise((r) => setTimeout(r, 5));
    await nr.helper.unload();
    assert.equal(seen.aborted, 1, "the signal fired");
    assert.equal(seen.workEnded, true, "close waited for the work");
    assert.equal(seen.closedAfterWork, true, "the node's disposer ran after the work ended");
  });

  const readyAtStart = async (): Promise<string> => {
    while (!seen.readyAtStart) await new Promise((r) => setTimeout(r, 5));
    return seen.readyAtStart;
  };

  it("start() gets the client through ready()", async () => {
    await load({ behaviour: "ok", readyAtStart: true });
    assert.equal(await readyAtStart(), "client");
  });

  it("start()'s ready() rejects without an account", async () => {
    await rig.load([probeNode], [{ id: "p", type: "putio-kernel-probe", readyAtStart: true, wires: [] }]);
    assert.match(await readyAtStart(), /No put.io account is configured/);
  });

  it("start()'s ready() ends with the close while put.io has not answered yet", async () => {
    rig.emu.knobs.latencyMs = 3_000;
    await rig.load([probeNode], [account(), { id: "p", type: "putio-kernel-probe", account: "acc", readyAtStart: true, wires: [] }], {
      acc: { accessToken: rig.emu.token },
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.readyAtStart, "", "still waiting for the token check");
    await nr.helper.unload();
    assert.match(await readyAtStart(), /PutioAbortError/);
  });

  it("a folder walk stops when the node is redeployed (no more requests after close)", async () => {
    // 40 folders, every request slowed down: the walk takes seconds.
    for (let i = 0; i < 40; i++) {
      const d = rig.emu.state.addFolder(0, `d${i}`);
      rig.emu.state.addFile(d.id, `f${i}.mkv`, Buffer.from("x"));
    }
    rig.emu.knobs.latencyMs = 40;
    await rig.load(
      [filesNode],
      [
        account(),
        { id: "f", type: "putio-files", account: "acc", mode: "walk", folder: "0", folderType: "str", wires: [["out"]] },
        { id: "out", type: "helper" },
      ],
    );
    const lists = () => rig.emu.requests.filter((r) => r.path.startsWith("/v2/files/list")).length;
    nr.node("f").receive({});
    while (lists() < 3) await new Promise((r) => setTimeout(r, 10));
    await nr.helper.unload();
    const atClose = lists();
    // Requests already sent may still arrive (the account sends at most 4 at once); then nothing more.
    await new Promise((r) => setTimeout(r, 400));
    const settled = lists();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(lists(), settled, "the walk goes on after the close");
    assert.ok(settled <= atClose + 4, `requests after close: ${settled - atClose}`);
    assert.ok(settled < 41, "the walk had not finished");
  });
});
