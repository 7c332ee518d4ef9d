/**
 * The hooks every putio-transmission node spec needs: the Node-RED fixture (an emulator, a fresh
 * download folder as `work`, Node-RED started and stopped) and Node-RED's default HTTP stack in
 * front of the node's routes (`server`).
 */
import { useNodeRed, type NodeRedFixture } from "./node-red-fixture";
import { httpNodeServer } from "./transmission-rpc";

export interface TransmissionFixture extends NodeRedFixture {
  server: Awaited<ReturnType<typeof httpNodeServer>>;
}

/** Registers the hooks in the calling `describe`; the fields are set before each test. */
export function transmissionFixture(prefix: string): TransmissionFixture {
  const f = useNodeRed({ work: prefix }) as TransmissionFixture;
  beforeEach(async () => {
    f.server = await httpNodeServer();
  });
  afterEach(async () => {
    await f.server.close();
  });
  return f;
}
