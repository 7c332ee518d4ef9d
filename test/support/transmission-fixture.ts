/**
 * The hooks every putio-transmission node spec needs: an emulator, Node-RED's default HTTP stack
 * in front of the node's routes, a fresh download folder, and Node-RED started and stopped.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startEmulator, type Emulator } from "../emulator";
import { nr } from "../nr";
import { httpNodeServer } from "./transmission-rpc";

export interface TransmissionFixture {
  emu: Emulator;
  work: string;
  server: Awaited<ReturnType<typeof httpNodeServer>>;
}

/** Registers the hooks in the calling `describe`; the fields are set before each test. */
export function transmissionFixture(prefix: string): TransmissionFixture {
  const f = {} as TransmissionFixture;
  beforeEach(async () => {
    f.emu = await startEmulator();
    f.server = await httpNodeServer();
    f.work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    await nr.start();
  });
  afterEach(async () => {
    await nr.stop();
    await f.emu.close();
    await f.server.close();
    fs.rmSync(f.work, { recursive: true, force: true });
  });
  return f;
}
