/**
 * The hooks every putio-transmission node spec needs: the Node-RED fixture (an emulator, a fresh
 * download folder as `work`, Node-RED started and stopped) and Node-RED's default HTTP stack in
 * front of the node's routes (`server`).
 */
import { useNodeRed, type NodeRedFixture, type NodeRedOptions } from "./node-red-fixture";
import { httpNodeServer } from "./transmission-rpc";

export interface TransmissionFixture extends NodeRedFixture {
  server: Awaited<ReturnType<typeof httpNodeServer>>;
}

/** Registers the hooks in the calling `describe`; the fields are set before each test. */
export function transmissionFixture(prefix: string, opts: Pick<NodeRedOptions, "per" | "env"> = {}): TransmissionFixture {
  const f = useNodeRed({ work: prefix, per: opts.per, env: opts.env }) as TransmissionFixture;
  const once = opts.per === "once";
  (once ? before : beforeEach)(async () => {
    f.server = await httpNodeServer();
  });
  (once ? after : afterEach)(async () => {
    await f.server.close();
  });
  return f;
}
