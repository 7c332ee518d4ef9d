/**
 * putio-transfer-watch on a folder that does not exist yet (put.io makes it with the first transfer
 * saved into it): the node waits (yellow "waiting for /Incoming"), logs no error, and sends the first
 * completion in that folder once it exists; transfers elsewhere stay out.
 */
import assert from "node:assert/strict";
import { nr, statusMatching } from "./nr";
import { useNodeRed } from "./support/node-red-fixture";

const watchNode = require("../nodes/putio-transfer-watch");

const magnet = (n: number, name: string) => `magnet:?xt=urn:btih:${n.toString(16).padStart(40, "0")}&dn=${name}`;

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe("putio-transfer-watch: a folder that does not exist yet @nr", function () {
  this.timeout(60_000);
  const rig = useNodeRed();

  for (const mode of ["socket", "poll"] as const) {
    it(`${mode}: yellow "waiting for /Incoming", no error; the first completion in it once put.io made it is sent, others are not`, async () => {
      await rig.load(
        [watchNode],
        [
          rig.account({ name: "a" }),
          {
            id: "watch",
            type: "putio-transfer-watch",
            account: "acc",
            mode,
            intervalSeconds: "1",
            statuses: "COMPLETED",
            folder: "/Incoming",
            emitMissed: true,
            wires: [["out"]],
          },
          { id: "out", type: "helper" },
        ],
      );
      const received: any[] = [];
      const errors: unknown[] = [];
      nr.node("out").on("input", (m: any) => received.push(m));
      const watch: any = nr.node("watch");
      watch.on("call:error", (call: any) => errors.push(call.args[0]));
      const waiting = await statusMatching("watch", (s) => /waiting/.test(s.text ?? ""));
      assert.equal(waiting.fill, "yellow");
      assert.equal(waiting.text, "waiting for /Incoming");
      await until(() => rig.emu.requests.some((r) => r.path === "/v2/transfers/list" && r.status === 200));

      // Elsewhere: never sent, and it does not end the wait.
      rig.emu.state.addTransfer({ url: magnet(1, "Elsewhere") });
      await rig.emu.advance(10_000);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(received.length, 0);

      // The first transfer saved into /Incoming: put.io makes the folder with it.
      const incoming = rig.emu.state.addFolder(0, "Incoming");
      const t = rig.emu.state.addTransfer({ url: magnet(2, "Arrived"), saveParentId: incoming.id });
      await rig.emu.advance(10_000);
      await until(() => received.length >= 1);
      assert.equal(received[0].payload.id, t.id);
      await statusMatching("watch", (s) => s.fill === "green");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(received.length, 1);
      assert.deepEqual(errors, [], "no error in the log");
    });
  }
});
