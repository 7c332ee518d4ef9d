/**
 * The hooks every putio-transmission node spec needs: the Node-RED fixture (an emulator, a fresh
 * download folder as `work`, Node-RED started and stopped) and Node-RED's default HTTP stack in
 * front of the node's routes (`server`).
 */
import assert from "node:assert/strict";
import { useNodeRed, type NodeRedFixture, type NodeRedOptions } from "./node-red-fixture";
import { httpNodeServer } from "./transmission-rpc";

/** The secret of the put.io callback route of a watch node at `callbackPath: "putio-cb"` (its credential). */
export const WATCH_SECRET = "0123456789abcdef-secret";

export interface TransmissionFixture extends NodeRedFixture {
  server: Awaited<ReturnType<typeof httpNodeServer>>;
  /** put.io's clock moves on, then put.io's callback (a watch node at putio-cb) makes the account's watcher read the list again. */
  later(ms: number): Promise<void>;
}

/** Registers the hooks in the calling `describe`; the fields are set before each test. */
export function transmissionFixture(prefix: string, opts: Pick<NodeRedOptions, "per" | "env"> = {}): TransmissionFixture {
  const f = useNodeRed({ work: prefix, per: opts.per, env: opts.env }) as TransmissionFixture;
  const once = opts.per === "once";
  f.later = async (ms) => {
    await f.emu.advance(ms);
    const res = await fetch(`${f.server.url}/putio-cb/${WATCH_SECRET}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "",
    });
    assert.equal(res.status, 200);
  };
  (once ? before : beforeEach)(async () => {
    f.server = await httpNodeServer();
  });
  (once ? after : afterEach)(async () => {
    await f.server.close();
  });
  return f;
}
