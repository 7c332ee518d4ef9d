/**
 * What the watch nodes remember follows what put.io lists, not the jobs done (a Node-RED that runs
 * for months): the transfer watch forgets a transfer's keys once two whole listings did not hold it,
 * and keeps them through one short listing (no finished transfer is news twice).
 */
import assert from "node:assert/strict";
import { nr } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";

const watchNode = require("../nodes/putio-transfer-watch");

const hash = (n: number) => n.toString(16).padStart(40, "0");
const magnet = (n: number) => `magnet:?xt=urn:btih:${hash(n)}&dn=Show.S01E${String(n).padStart(2, "0")}`;

async function until(cond: () => boolean, what: string): Promise<void> {
  void what; // mocha's timeout bounds the wait; `what` names it when reading a failure
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe("watch memory: the transfer watch remembers what put.io lists, not every job done @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed();
  const received: any[] = [];
  beforeEach(() => (received.length = 0));

  async function load(): Promise<void> {
    await rig.load(
      [watchNode],
      [
        rig.account(),
        { id: "watch", type: "putio-transfer-watch", account: "acc", mode: "socket", statuses: "COMPLETED", wires: [["out"]] },
        { id: "out", type: "helper" },
      ],
    );
    nr.node("out").on("input", (m: any) => received.push(m));
    await until(() => rig.emu.socketCount() > 0 && rig.emu.requests.some((r) => r.path === "/v2/transfers/list" && r.status === 200), "primed");
    await new Promise((r) => setTimeout(r, 50));
  }
  const lists = () => rig.emu.requests.filter((r) => r.path === "/v2/transfers/list" && r.status === 200).length;
  /** One more whole listing (a reconnect reconciles), and the node's handling of it. */
  async function oneListing(): Promise<void> {
    const before = lists();
    rig.emu.dropSockets();
    await until(() => lists() > before, "a listing");
    await new Promise((r) => setTimeout(r, 150));
  }
  const storedKeys = (): string[] => (nr.node("watch").context().get("putioTransferWatchSeen") as { keys: string[] } | undefined)?.keys ?? [];

  it("forgets the transfers removed from put.io after two listings without them; keeps the rest", async () => {
    await load();
    const ids = [1, 2, 3, 4].map((n) => rig.emu.state.addTransfer({ url: magnet(n) }).id);
    await rig.emu.advance(20_000);
    await until(() => received.length === 4, "four completions");
    assert.deepEqual(storedKeys().sort(), ids.map((id) => `${id}:COMPLETED`).sort());

    // Three of them are removed (as a download flow does once the files are home).
    for (const id of ids.slice(0, 3)) rig.emu.state.removeTransfer(rig.emu.state.transferMap.get(id)!);
    await oneListing();
    assert.equal(storedKeys().length, 4, "one listing without them is not enough");
    await oneListing();
    assert.deepEqual(storedKeys(), [`${ids[3]}:COMPLETED`], "two listings without them: forgotten; the listed one kept");
    assert.equal(received.length, 4, "nothing sent again");
  });

  it("one short listing (a transfer missing once) neither forgets it nor sends it again", async () => {
    await load();
    const t = rig.emu.state.addTransfer({ url: magnet(7) });
    await rig.emu.advance(20_000);
    await until(() => received.length === 1, "the completion");
    const record = rig.emu.state.transferMap.get(t.id)!;
    // put.io's listing leaves it out once (the record is hidden behind another owner for one listing).
    const owner = record.ownerId;
    record.ownerId = -1;
    await oneListing();
    record.ownerId = owner;
    await oneListing();
    await oneListing();
    assert.deepEqual(storedKeys(), [`${t.id}:COMPLETED`]);
    assert.equal(received.length, 1, "its finish was not news again");
  });
});
